import type { RunEvent } from '../log/events.ts';
import type { RunState } from '../log/reducer.ts';
import { orderedTasks } from '../log/task-state.ts';
import { formatDurationMs } from '../util/duration.ts';
import { formatEvent } from './format.ts';

/** Where the live status goes: a terminal (stdout when it is a TTY). */
export interface ProgressStream {
  write(text: string): boolean;
  readonly columns?: number;
}

/** What the run is doing now, from the last event: the step under way, not the one that ended. */
export function currentStep(event: RunEvent, state: RunState): string {
  switch (event.type) {
    case 'iteration.started':
      return 'smoke test';
    case 'smoke.ended':
      return 'worker session';
    case 'agent.started':
      return `agent ${event.agent} working`;
    case 'agent.ended':
      return 'guards and checks';
    case 'verify.ended':
      return 'judging';
    case 'baseline.verified':
      return 'first iteration';
    case 'judge.ended':
      return 'recording';
    case 'iteration.ended':
      return 'next iteration';
    case 'plan.refreshed':
      return 'planning done';
    case 'tasks.planned':
    case 'task.started':
    case 'task.worked':
    case 'task.merged':
    case 'task.returned':
    case 'task.abandoned': {
      const tasks = state.parallel === null ? [] : orderedTasks(state.parallel);
      const count = (status: string): number => tasks.filter((task) => task.status === status).length;
      return `${count('running')} running, ${count('awaiting-merge')} to merge, ${count('merged')}/${tasks.length} merged`;
    }
    case 'tasks.judged':
      return 'judging the integration';
    case 'run.paused':
      return 'paused (baton resume)';
    case 'run.stopped':
      return 'stopped';
    default:
      return '';
  }
}

function elapsedMs(state: RunState, now: number): number {
  const segment = state.segmentStartedAt === null ? 0 : Math.max(0, now - Date.parse(state.segmentStartedAt));
  return state.activeMsBefore + (state.status === 'running' ? segment : 0);
}

/** The status line: iteration and step, features, budget used, elapsed, the last judge's reason. */
export function statusLine(state: RunState, step: string, now: number, width: number): string {
  const iteration =
    state.parallel !== null
      ? `${state.parallel.workers} workers`
      : state.currentIteration === null
        ? `${state.iterationsCompleted} iterations`
        : `iteration ${state.currentIteration}`;
  const tokens = state.usage.inputTokens + state.usage.outputTokens;
  const budget = [
    state.budgets === null
      ? ''
      : `${state.iterationsCompleted + (state.parallel?.sessions ?? 0)}/${state.budgets.iterations} sessions`,
    tokens > 0 ? `${tokens.toLocaleString('en-US')} tokens` : '',
    state.usage.costUsd > 0 ? `$${state.usage.costUsd.toFixed(2)}` : '',
  ]
    .filter((part) => part !== '')
    .join(', ');
  const parts = [
    `▶ ${iteration}${step === '' ? '' : `: ${step}`}`,
    `features ${state.featuresPassing}/${state.featuresTotal}`,
    budget,
    formatDurationMs(elapsedMs(state, now)),
    state.lastVerdict === null ? '' : `judge: ${state.lastVerdict.reason}`,
  ].filter((part) => part !== '');
  const line = parts.join(' · ');
  return line.length <= width ? line : `${line.slice(0, Math.max(0, width - 1))}…`;
}

const clearLine = '\r\x1b[2K';

/**
 * Live progress on a terminal: the event lines scroll as usual, and one status line under them is
 * redrawn on every event and every second (elapsed time moves even while an agent thinks).
 */
export function createProgressReporter(
  stream: ProgressStream,
  now: () => number = Date.now,
): { onEvent: (event: RunEvent, state: RunState) => void; stop: () => void } {
  let state: RunState | undefined;
  let step = '';
  let drawn = false;
  const draw = (): void => {
    if (state === undefined) return;
    stream.write(`${clearLine}${statusLine(state, step, now(), (stream.columns ?? 100) - 1)}`);
    drawn = true;
  };
  let ended = false;
  const timer = setInterval(draw, 1_000);
  timer.unref();
  const stop = (): void => {
    clearInterval(timer);
    if (drawn) stream.write(clearLine);
    drawn = false;
  };
  return {
    onEvent: (event, next) => {
      state = next;
      const newStep = currentStep(event, next);
      if (newStep !== '') step = newStep;
      const line = formatEvent(event);
      if (line !== undefined) stream.write(`${drawn ? clearLine : ''}${line}\n`);
      drawn = false;
      // After the stop line nothing is redrawn (the branch checked out again is said in a plain line).
      if (event.type === 'run.stopped') ended = true;
      if (ended) stop();
      else draw();
    },
    stop,
  };
}
