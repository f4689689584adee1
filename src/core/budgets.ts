import type { StopReason } from '../log/events.ts';
import { openProposals, type RunState } from '../log/reducer.ts';
import { attemptsStarted, orderedTasks } from '../log/task-state.ts';
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
  readonly tokens?: number | undefined;
  readonly costUsd?: number | undefined;
  readonly perIteration?: { readonly tokens?: number | undefined; readonly costUsd?: number | undefined };
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
  return (state) => {
    if (!(limit > 0 && state.noProgressStreak >= limit)) return undefined;
    // What stands in the way is a person's decision, not the workers: the stop says so and how.
    const waiting = openProposals(state);
    if (waiting.length > 0) {
      return {
        reason: 'proposals',
        message: `no progress for ${state.noProgressStreak} iterations while ${waiting.length} proposal(s) wait for a decision (${waiting.map((proposal) => `${proposal.id}: ${proposal.reasons[0] ?? proposal.kind}`).join('; ')}): see \`baton proposals\`, then \`baton accept <id>\` or \`baton reject <id>\` and \`baton resume\``,
        exitCode: exitCodes.noProgress,
      };
    }
    return {
      reason: 'no-progress',
      message: `no progress: ${state.noProgressStreak} iterations in a row made no new check pass (limit budgets.noProgressIterations = ${limit}); last judge: ${state.lastVerdict?.reason ?? 'none'}`,
      exitCode: exitCodes.noProgress,
    };
  };
}

export function tokenBudget(limit: number): StopCondition {
  return (state) => {
    const used = state.usage.inputTokens + state.usage.outputTokens;
    return used >= limit
      ? {
          reason: 'budget-tokens',
          message: `token budget spent: ${used} of ${limit} tokens (raise budgets.tokens to continue; what was spent stays counted)`,
          exitCode: exitCodes.budget,
        }
      : undefined;
  };
}

export function costBudget(limitUsd: number): StopCondition {
  return (state) =>
    state.usage.costUsd >= limitUsd
      ? {
          reason: 'budget-cost',
          message: `cost budget spent: $${state.usage.costUsd.toFixed(2)} of $${limitUsd.toFixed(2)} (raise budgets.costUsd to continue)`,
          exitCode: exitCodes.budget,
        }
      : undefined;
}

/** One session that used more than a per-iteration limit is a runaway: stop before the next one. */
export function perIterationBudget(tokens: number | undefined, costUsd: number | undefined): StopCondition {
  return (state) => {
    const last = state.iterations.at(-1);
    if (last?.endedAt == null) return undefined;
    const used = last.usage.inputTokens + last.usage.outputTokens;
    let overrun: string | undefined;
    if (tokens !== undefined && used > tokens) overrun = `${used} tokens (limit ${tokens} per iteration)`;
    else if (costUsd !== undefined && last.usage.costUsd > costUsd) {
      overrun = `$${last.usage.costUsd.toFixed(2)} (limit $${costUsd.toFixed(2)} per iteration)`;
    }
    if (overrun === undefined) return undefined;
    return {
      reason: 'budget-iteration',
      message: `iteration ${last.iteration} ran away: ${overrun}; check the agent's turn limits, then raise budgets.perIteration to continue`,
      exitCode: exitCodes.budget,
    };
  };
}

/** Every feature still failing is parked: nothing is left that the workers may work on. */
export const everythingParked: StopCondition = (state, elapsedMs) =>
  state.iterationsCompleted === 0 ? undefined : allFailingParked(state, elapsedMs);

/** The parked check on its own, for a parallel run (no iterations: asked after the judge's count). */
export const allFailingParked: StopCondition = (state) => {
  if (state.parked.length === 0) return undefined;
  const failing = state.featuresTotal - state.featuresPassing;
  return failing > 0 && state.parked.length >= failing
    ? {
        reason: 'parked',
        message: `every failing feature is parked (${state.parked.map((entry) => `${entry.feature}: ${entry.reason}`).join('; ')}); answer the questions or steer the run, then resume`,
        exitCode: exitCodes.noProgress,
      }
    : undefined;
};

export function stopConditionsFor(budgets: BudgetView): StopCondition[] {
  return [
    judgedDone,
    ...(budgets.perIteration === undefined
      ? []
      : [perIterationBudget(budgets.perIteration.tokens, budgets.perIteration.costUsd)]),
    ...(budgets.tokens === undefined ? [] : [tokenBudget(budgets.tokens)]),
    ...(budgets.costUsd === undefined ? [] : [costBudget(budgets.costUsd)]),
    everythingParked,
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

/** Worker sessions over the whole run: budgets.iterations counts them in a parallel run. */
function sessionBudget(limit: number): StopCondition {
  return (state) => {
    const started = attemptsStarted(state.parallel);
    return started >= limit
      ? {
          reason: 'budget-iterations',
          message: `session budget spent: ${started} of ${limit} worker sessions ran without meeting the done condition (raise budgets.iterations to continue)`,
          exitCode: exitCodes.budget,
        }
      : undefined;
  };
}

/** One session over the per-iteration limits is a runaway: stop starting new ones. */
function perSessionBudget(tokens: number | undefined, costUsd: number | undefined): StopCondition {
  return (state) => {
    for (const task of state.parallel === null ? [] : orderedTasks(state.parallel)) {
      const used = task.usage.inputTokens + task.usage.outputTokens;
      const perAttempt = task.attempts === 0 ? 0 : used / task.attempts;
      if (tokens !== undefined && perAttempt > tokens) {
        return {
          reason: 'budget-iteration',
          message: `task ${task.spec.id} ran away: ${Math.round(perAttempt)} tokens per session (limit ${tokens} per iteration); check the agent's turn limits, then raise budgets.perIteration`,
          exitCode: exitCodes.budget,
        };
      }
      if (costUsd !== undefined && task.attempts > 0 && task.usage.costUsd / task.attempts > costUsd) {
        return {
          reason: 'budget-iteration',
          message: `task ${task.spec.id} ran away: $${(task.usage.costUsd / task.attempts).toFixed(2)} per session (limit $${costUsd.toFixed(2)}); raise budgets.perIteration`,
          exitCode: exitCodes.budget,
        };
      }
    }
    return undefined;
  };
}

/** A parallel run's budgets: sessions count as iterations; a runaway is judged per task session. */
export function parallelStopConditions(budgets: {
  readonly iterations: number;
  readonly wallClockMs: number;
  readonly tokens?: number | undefined;
  readonly costUsd?: number | undefined;
  readonly perIteration: { readonly tokens?: number | undefined; readonly costUsd?: number | undefined };
}): StopCondition[] {
  return [
    perSessionBudget(budgets.perIteration.tokens, budgets.perIteration.costUsd),
    ...(budgets.tokens === undefined ? [] : [tokenBudget(budgets.tokens)]),
    ...(budgets.costUsd === undefined ? [] : [costBudget(budgets.costUsd)]),
    sessionBudget(budgets.iterations),
    wallClockBudget(budgets.wallClockMs),
  ];
}
