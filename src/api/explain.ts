import { resolve } from 'node:path';
import { loadConfig } from '../config/load.ts';
import type { LogWarning } from '../log/event-log.ts';
import type { RunState } from '../log/reducer.ts';
import { activeElapsedMs } from '../run/drive.ts';
import { isLockLive, readRunLock } from '../run/lock.ts';
import { formatDurationMs } from '../util/duration.ts';
import { readRun } from './inspect.ts';

export interface BudgetLine {
  readonly name: string;
  readonly used: string;
  readonly limit: string;
  readonly left: string;
}

export interface Explanation {
  readonly runId: string;
  /** One sentence: where the run is and why. */
  readonly headline: string;
  readonly running: boolean;
  readonly paused: boolean;
  readonly stop: RunState['stop'];
  readonly lastVerdict: string | null;
  readonly budgets: readonly BudgetLine[];
  readonly noProgress: { readonly streak: number; readonly limit: number };
  readonly parked: RunState['parked'];
  readonly questions: RunState['questions'];
  readonly lastCheckpoint: RunState['lastCheckpoint'];
  readonly guardFirings: RunState['guardFirings'];
  /** Lines of the run's log that were left out because this baton does not understand them. */
  readonly warnings: readonly LogWarning[];
}

function headline(state: RunState, live: boolean): string {
  if (state.stop !== null) return `Stopped (${state.stop.reason}): ${state.stop.message}`;
  if (!live) {
    return 'The harness that ran this is gone without a stop: `baton resume` reconciles and continues.';
  }
  if (state.paused) return 'Paused by a person: `baton resume` lets it go on.';
  if (state.currentIteration !== null) {
    return `Working on iteration ${state.currentIteration}: the last verdict was "${state.lastVerdict?.reason ?? 'none yet'}", so the loop continues.`;
  }
  return 'Between iterations: the done condition does not hold yet and no budget is spent.';
}

/**
 * The run's wall-clock time as every view says it (explain, status, the dashboard, the budget): active
 * time only (pauses, stops and crashes do not count), up to now while a harness drives it, else up to
 * its last event.
 */
export function runElapsedMs(workspace: string, runId: string, state: RunState, now = new Date()): number {
  const lock = readRunLock(resolve(workspace));
  const live = lock !== null && lock.runId === runId && isLockLive(lock);
  return activeElapsedMs(state, live ? now : new Date(state.updatedAt ?? now.getTime()));
}

/** Why the run is where it is: the last stop or continue reason, the last verdict, the budget left. */
export function explain(workspace: string, runId?: string): Explanation {
  const dir = resolve(workspace);
  const record = readRun(dir, runId);
  const { state } = record;
  const lock = readRunLock(dir);
  const live = lock !== null && lock.runId === record.runId && isLockLive(lock);
  const budgets = state.budgets;
  const config = (() => {
    try {
      return loadConfig(dir);
    } catch {
      return undefined;
    }
  })();
  const lines: BudgetLine[] = [];
  if (budgets !== null) {
    lines.push({
      name: 'iterations',
      used: String(state.iterationsCompleted),
      limit: String(budgets.iterations),
      left: String(Math.max(0, budgets.iterations - state.iterationsCompleted)),
    });
    const elapsed = runElapsedMs(dir, record.runId, state);
    lines.push({
      name: 'wall clock',
      used: formatDurationMs(elapsed),
      limit: formatDurationMs(budgets.wallClockMs),
      left: formatDurationMs(Math.max(0, budgets.wallClockMs - elapsed)),
    });
  }
  const tokens = state.usage.inputTokens + state.usage.outputTokens;
  const tokenLimit = config?.budgets.tokens;
  lines.push({
    name: 'tokens',
    used: String(tokens),
    limit: tokenLimit === undefined ? 'none' : String(tokenLimit),
    left: tokenLimit === undefined ? '-' : String(Math.max(0, tokenLimit - tokens)),
  });
  const costLimit = config?.budgets.costUsd;
  lines.push({
    name: 'cost',
    used: `$${state.usage.costUsd.toFixed(2)}`,
    limit: costLimit === undefined ? 'none' : `$${costLimit.toFixed(2)}`,
    left: costLimit === undefined ? '-' : `$${Math.max(0, costLimit - state.usage.costUsd).toFixed(2)}`,
  });
  return {
    runId: record.runId,
    headline: headline(state, live),
    running: live && state.stop === null,
    paused: state.paused,
    stop: state.stop,
    lastVerdict: state.lastVerdict?.reason ?? null,
    budgets: lines,
    noProgress: { streak: state.noProgressStreak, limit: budgets?.noProgressIterations ?? 0 },
    parked: state.parked,
    questions: state.questions,
    lastCheckpoint: state.lastCheckpoint,
    guardFirings: state.guardFirings,
    warnings: record.warnings,
  };
}
