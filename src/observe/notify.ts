import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Config } from '../config/resolve.ts';
import type { RunEvent } from '../log/events.ts';
import type { RunState } from '../log/reducer.ts';
import { describeProcessEnd, processSucceeded, runProcess } from '../util/run-process.ts';
import { runDir } from '../workspace/paths.ts';
import type { RunObserver } from './observer.ts';

export interface Notification {
  readonly kind: 'stop' | 'park' | 'question';
  readonly runId: string;
  readonly workspace: string;
  /** One line a person can act on; also as `text` for Slack-style webhooks. */
  readonly message: string;
  readonly text: string;
  readonly event: RunEvent;
}

function notificationOf(event: RunEvent): { kind: Notification['kind']; message: string } | undefined {
  switch (event.type) {
    case 'run.stopped':
      return {
        kind: 'stop',
        message: `run stopped (${event.reason}, exit ${event.exitCode}): ${event.message}`,
      };
    case 'feature.parked':
      return { kind: 'park', message: `feature ${event.feature} parked: ${event.reason}` };
    case 'task.abandoned':
      return { kind: 'park', message: `task ${event.task} abandoned: ${event.reason}` };
    case 'question.asked':
      return {
        kind: 'question',
        message: `the worker asks${event.feature === null ? '' : ` about ${event.feature}`}: ${event.question} (answer with \`baton steer\`)`,
      };
    default:
      return undefined;
  }
}

/**
 * Notifications when the run stops, parks a feature (or abandons a task) or asks a question: a command
 * (the notification as JSON on stdin, and BATON_NOTIFY_KIND / _MESSAGE / BATON_RUN_ID in its environment)
 * and/or a webhook (POSTed JSON). A failed notification is written to the run's notify.log; the run goes on.
 */
export function createNotifier(
  config: Config['notify'],
  workspace: string,
  env: NodeJS.ProcessEnv,
): RunObserver | undefined {
  if (config.command === undefined && config.webhook === undefined) return undefined;
  // One at a time, in the order of the events: a person reads them as a story.
  let queue: Promise<void> = Promise.resolve();
  const log = (runId: string, line: string): void => {
    const path = join(runDir(workspace, runId), 'notify.log');
    mkdirSync(dirname(path), { recursive: true });
    appendFileSync(path, `${new Date().toISOString()} ${line}\n`);
  };
  const deliver = async (notification: Notification): Promise<void> => {
    const body = JSON.stringify(notification);
    const { command, webhook } = config;
    if (command !== undefined) {
      const result = await runProcess({
        command: typeof command === 'string' ? ['/bin/sh', '-c', command] : [...command],
        cwd: workspace,
        env: {
          ...env,
          BATON_RUN_ID: notification.runId,
          BATON_NOTIFY_KIND: notification.kind,
          BATON_NOTIFY_MESSAGE: notification.message,
        },
        stdin: body,
        timeoutMs: config.timeoutMs,
      });
      log(
        notification.runId,
        `${notification.kind} command: ${processSucceeded(result) ? 'ok' : describeProcessEnd(result)}`,
      );
    }
    if (webhook !== undefined) {
      try {
        const response = await fetch(webhook, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
          signal: AbortSignal.timeout(config.timeoutMs),
        });
        log(notification.runId, `${notification.kind} webhook: HTTP ${response.status}`);
      } catch (error) {
        log(
          notification.runId,
          `${notification.kind} webhook failed: ${error instanceof Error ? error.message : String(error)}`,
        );
      }
    }
  };
  return {
    onEvent(event: RunEvent, state: RunState): void {
      const found = notificationOf(event);
      if (found === undefined || !config.on.includes(found.kind)) return;
      const notification: Notification = {
        kind: found.kind,
        runId: state.runId ?? '',
        workspace,
        message: found.message,
        text: `baton (${workspace}): ${found.message}`,
        event,
      };
      queue = queue.then(() =>
        deliver(notification).catch((error: unknown) => {
          log(notification.runId, `${notification.kind} failed: ${String(error)}`);
        }),
      );
    },
    close: () => queue,
  };
}
