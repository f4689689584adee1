import type { StopReason } from '../log/events.ts';
import type { RunState } from '../log/reducer.ts';
import { exitCodes } from '../errors.ts';
import { formatDurationMs } from '../util/duration.ts';

export interface StopDecision {
  readonly reason: StopReason;
  readonly message: string;
  readonly exitCode: number;
}

export interface BudgetView {
  readonly iterations: number;
  readonly wallClockMs: number;
  readonly noProgressIterations: number;
}

/** A stop rule: a pure predicate over the run so far. Budgets compose as a list of them. */
export type StopCondition = (state: RunState, elapsedMs: number) => StopDecision | undefined;

export const judgedDone: StopCondition = (state) =>
  state.lastVerdict?.done === true && state.iterations.at(-1)?.verdict?.done === true
    ? { reason: 'done', message: state.lastVerdict.reason, exitCode: exitCodes.done }
    : undefined;

export function iterationBudget(limit: number): StopCondition {
  return (state) =>
    state.iterationsCompleted >= limit
      ? {
          reason: 'budget-iterations',
          message: `iteration budget spent: ${state.iterationsCompleted} of ${limit} iterations ran without meeting the done condition (raise budgets.iterations to continue)`,
          exitCode: exitCodes.budget,
        }
      : undefined;
}

export function wallClockBudget(limitMs: number): StopCondition {
  return (_state, elapsedMs) =>
    elapsedMs >= limitMs
      ? {
          reason: 'budget-wall-clock',
          message: `wall-clock budget spent: ${formatDurationMs(elapsedMs)} of ${formatDurationMs(limitMs)} (raise budgets.wallClock to continue)`,
          exitCode: exitCodes.budget,
        }
      : undefined;
}

export function noProgressLimit(limit: number): StopCondition {
  return (state) =>
    limit > 0 && state.noProgressStreak >= limit
      ? {
          reason: 'no-progress',
          message: `no progress: ${state.noProgressStreak} iterations in a row made no new check pass (limit budgets.noProgressIterations = ${limit}); last judge: ${state.lastVerdict?.reason ?? 'none'}`,
          exitCode: exitCodes.noProgress,
        }
      : undefined;
}

export function stopConditionsFor(budgets: BudgetView): StopCondition[] {
  return [
    judgedDone,
    noProgressLimit(budgets.noProgressIterations),
    iterationBudget(budgets.iterations),
    wallClockBudget(budgets.wallClockMs),
  ];
}

export function firstStop(
  conditions: readonly StopCondition[],
  state: RunState,
  elapsedMs: number,
): StopDecision | undefined {
  for (const condition of conditions) {
    const decision = condition(state, elapsedMs);
    if (decision !== undefined) return decision;
  }
  return undefined;
}
