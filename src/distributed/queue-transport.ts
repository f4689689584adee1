import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Job, Queue, QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import { headCommit } from '../git/git.ts';
import type { TaskState } from '../log/task-state.ts';
import { attemptDir, type ParallelContext } from '../parallel/context.ts';
import {
  planAttempt,
  recordPlan,
  settleAttempt,
  type AttemptOutcome,
  type AttemptPlan,
  type AttemptResult,
} from '../parallel/task-worker.ts';
import type { TaskTransport } from '../parallel/transport.ts';
import { taskBranch } from '../parallel/worktrees.ts';
import { emptyUsage } from '../log/usage.ts';
import { attemptJobId, defaultQueueName, type AttemptJob, type AttemptJobResult } from './jobs.ts';
import { connectRedis } from './redis.ts';
import { fetchAttempt, pushIntegration } from './remote.ts';

export interface QueueTransportOptions {
  readonly redisUrl: string;
  /** The shared git remote workers fetch from and push to. */
  readonly remote: string;
  readonly queueName?: string;
}

function failed(reason: string): AttemptResult {
  return {
    status: 'failed',
    commit: null,
    durationMs: 0,
    usage: emptyUsage,
    finalMessage: '',
    failure: reason,
  };
}

/**
 * Attempts as BullMQ jobs: the coordinator publishes the integration tip on the shared remote, adds a
 * job per attempt, and waits for it; a worker process anywhere runs it and pushes the work. A worker
 * that dies mid-attempt stops renewing its lock and BullMQ hands the job to another worker. A restarted
 * coordinator finds its attempts' jobs by id and waits for them again.
 */
export function createQueueTransport(options: QueueTransportOptions): TaskTransport {
  const connection: Redis = connectRedis(options.redisUrl);
  const queueName = options.queueName ?? defaultQueueName;
  const queue = new Queue<AttemptJob, AttemptJobResult>(queueName, { connection });
  const eventsConnection = connectRedis(options.redisUrl);
  const events = new QueueEvents(queueName, { connection: eventsConnection });

  async function outcomeOf(
    context: ParallelContext,
    plan: AttemptPlan,
    worker: number,
    job: Job<AttemptJob, AttemptJobResult>,
  ): Promise<AttemptOutcome> {
    const { loop } = context;
    const dir = attemptDir(context, plan.task, plan.attempt);
    mkdirSync(dir, { recursive: true });
    const aborted = new Promise<'aborted'>((resolve) => {
      if (loop.signal.aborted) resolve('aborted');
      loop.signal.addEventListener(
        'abort',
        () => {
          resolve('aborted');
        },
        { once: true },
      );
    });
    let result: AttemptResult;
    try {
      const finished = await Promise.race([job.waitUntilFinished(events), aborted]);
      if (finished === 'aborted') {
        return {
          landed: false,
          reason: 'interrupted',
          diagnostics: 'the coordinator was stopped while a worker ran this attempt',
        };
      }
      writeFileSync(join(dir, 'transcript.log'), `[run by ${finished.by}]\n${finished.transcript}`);
      const { remoteRef } = finished;
      const fetched =
        remoteRef === null ||
        (await context.repository.run(() =>
          fetchAttempt(loop.workspace, options.remote, remoteRef, taskBranch(loop.runId, plan.task)),
        ));
      result = fetched ? finished : failed(`the worker ${finished.by} reported work the remote lacks`);
    } catch (error) {
      // The job failed: the worker's processor threw, or it stalled more often than BullMQ allows.
      result = failed(`the attempt's job failed: ${error instanceof Error ? error.message : String(error)}`);
    }
    return settleAttempt(context, plan, worker, result);
  }

  return {
    name: 'queue',
    async runAttempt(
      context: ParallelContext,
      task: TaskState,
      worker: number,
      base: string,
    ): Promise<AttemptOutcome> {
      const { loop } = context;
      const plan = planAttempt(context, task, base);
      recordPlan(context, plan);
      await context.repository.run(() => pushIntegration(loop.workspace, options.remote, loop.runId, base));
      loop.emit({
        type: 'task.started',
        task: plan.task,
        attempt: plan.attempt,
        worker,
        branch: taskBranch(loop.runId, plan.task),
        base,
        worktree: `queue ${queueName}`,
      });
      const job = await queue.add(
        'attempt',
        { plan, remote: options.remote },
        {
          jobId: attemptJobId(plan),
          attempts: 1,
          removeOnComplete: { age: 7 * 24 * 3_600 },
          removeOnFail: { age: 7 * 24 * 3_600 },
        },
      );
      return outcomeOf(context, plan, worker, job);
    },
    async resumeAttempt(context: ParallelContext, task: TaskState): Promise<AttemptOutcome> {
      const { loop } = context;
      const base = task.base ?? (await headCommit(loop.workspace)) ?? '';
      // The plan as it was (same attempt, same base); its prompt is already in the evidence.
      const plan = { ...planAttempt(context, { ...task, attempts: task.attempts - 1 }, base) };
      const job = await Job.fromId<AttemptJob, AttemptJobResult>(queue, attemptJobId(plan));
      if (job === undefined) {
        return {
          landed: false,
          reason: 'interrupted',
          diagnostics: 'the coordinator stopped before the attempt was queued',
        };
      }
      return outcomeOf(context, plan, task.worker ?? 1, job);
    },
    async close(): Promise<void> {
      await events.close();
      await queue.close();
      connection.disconnect();
      eventsConnection.disconnect();
    },
  };
}
