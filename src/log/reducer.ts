import type { CheckResult, RunEvent, StopReason, Usage, Verdict } from './events.ts';

export interface IterationSummary {
  readonly iteration: number;
  readonly startedAt: string;
  readonly endedAt: string | null;
  readonly durationMs: number | null;
  readonly agentStatus: string | null;
  readonly claimedDone: boolean;
  readonly verdict: Verdict | null;
  readonly featuresPassing: number | null;
  readonly featuresTotal: number | null;
  readonly progressed: boolean;
  readonly regressed: readonly string[];
  readonly commits: readonly string[];
  readonly checkpoint: string | null;
  readonly failedChecks: readonly string[];
  readonly featuresRejected: boolean;
  readonly polluted: readonly string[];
  readonly summary: string;
}

export interface RunState {
  readonly runId: string | null;
  readonly goal: string;
  readonly startedAt: string | null;
  readonly updatedAt: string | null;
  readonly status: 'not-started' | 'running' | 'stopped';
  readonly budgets: {
    readonly iterations: number;
    readonly wallClockMs: number;
    readonly noProgressIterations: number;
  } | null;
  readonly iterationsCompleted: number;
  readonly currentIteration: number | null;
  readonly featuresPassing: number;
  readonly featuresTotal: number;
  readonly passingFeatures: readonly string[];
  readonly noProgressStreak: number;
  readonly lastVerdict: Verdict | null;
  readonly lastCheckpoint: {
    readonly tag: string;
    readonly commit: string;
    readonly iteration: number;
  } | null;
  readonly usage: Usage;
  readonly stop: { readonly reason: StopReason; readonly message: string; readonly exitCode: number } | null;
  readonly iterations: readonly IterationSummary[];
}

export const emptyUsage: Usage = { inputTokens: 0, outputTokens: 0, cachedInputTokens: 0, costUsd: 0 };

export const initialRunState: RunState = {
  runId: null,
  goal: '',
  startedAt: null,
  updatedAt: null,
  status: 'not-started',
  budgets: null,
  iterationsCompleted: 0,
  currentIteration: null,
  featuresPassing: 0,
  featuresTotal: 0,
  passingFeatures: [],
  noProgressStreak: 0,
  lastVerdict: null,
  lastCheckpoint: null,
  usage: emptyUsage,
  stop: null,
  iterations: [],
};

function addUsage(a: Usage, b: Usage): Usage {
  return {
    inputTokens: a.inputTokens + b.inputTokens,
    outputTokens: a.outputTokens + b.outputTokens,
    cachedInputTokens: a.cachedInputTokens + b.cachedInputTokens,
    costUsd: a.costUsd + b.costUsd,
  };
}

function failedNames(checks: readonly CheckResult[]): string[] {
  return checks.filter((check) => !check.passed).map((check) => `${check.kind}:${check.name}`);
}

/** Replace the summary of the current (last) iteration. */
function updateCurrent(state: RunState, iteration: number, change: Partial<IterationSummary>): RunState {
  const last = state.iterations.at(-1);
  if (last?.iteration !== iteration) return state;
  return { ...state, iterations: [...state.iterations.slice(0, -1), { ...last, ...change }] };
}

/** RunState = fold(events): pure, so replaying a log gives exactly the state the live run had. */
export function reduceRunState(state: RunState, event: RunEvent): RunState {
  const next: RunState = { ...state, updatedAt: event.at };
  switch (event.type) {
    case 'run.started':
      return {
        ...next,
        runId: event.runId,
        goal: event.goal,
        startedAt: event.at,
        status: 'running',
        budgets: event.budgets,
        featuresPassing: event.featuresPassing,
        featuresTotal: event.featuresTotal,
        stop: null,
      };
    case 'iteration.started':
      return {
        ...next,
        currentIteration: event.iteration,
        iterations: [
          ...next.iterations,
          {
            iteration: event.iteration,
            startedAt: event.at,
            endedAt: null,
            durationMs: null,
            agentStatus: null,
            claimedDone: false,
            verdict: null,
            featuresPassing: null,
            featuresTotal: null,
            progressed: false,
            regressed: [],
            commits: [],
            checkpoint: null,
            failedChecks: [],
            featuresRejected: false,
            polluted: [],
            summary: '',
          },
        ],
      };
    case 'smoke.ended':
      return event.result === null || event.result.passed
        ? next
        : updateCurrent(next, event.iteration, { failedChecks: ['smoke'] });
    case 'agent.started':
      return next;
    case 'agent.ended':
      return updateCurrent({ ...next, usage: addUsage(next.usage, event.usage) }, event.iteration, {
        agentStatus: event.status,
        claimedDone: event.claimedDone,
      });
    case 'features.rejected':
      return updateCurrent(next, event.iteration, { featuresRejected: true });
    case 'commit.created': {
      const current = next.iterations.at(-1);
      return updateCurrent(next, event.iteration, { commits: [...(current?.commits ?? []), event.commit] });
    }
    case 'verify.ended': {
      const smokeFailed = next.iterations.at(-1)?.failedChecks.includes('smoke') === true;
      return updateCurrent(next, event.iteration, {
        failedChecks: [...(smokeFailed ? ['smoke'] : []), ...failedNames(event.checks)],
      });
    }
    case 'tree.polluted':
      return updateCurrent(next, event.iteration, { polluted: event.paths });
    case 'judge.ended':
      return updateCurrent({ ...next, lastVerdict: event.verdict }, event.iteration, {
        verdict: event.verdict,
      });
    case 'checkpoint.created':
      return updateCurrent(
        { ...next, lastCheckpoint: { tag: event.tag, commit: event.commit, iteration: event.iteration } },
        event.iteration,
        { checkpoint: event.tag },
      );
    case 'iteration.ended':
      return updateCurrent(
        {
          ...next,
          currentIteration: null,
          iterationsCompleted: next.iterationsCompleted + 1,
          featuresPassing: event.featuresPassing,
          featuresTotal: event.featuresTotal,
          passingFeatures: event.passingFeatures,
          noProgressStreak: event.progressed ? 0 : next.noProgressStreak + 1,
        },
        event.iteration,
        {
          endedAt: event.at,
          durationMs: event.durationMs,
          featuresPassing: event.featuresPassing,
          featuresTotal: event.featuresTotal,
          progressed: event.progressed,
          regressed: event.regressed,
          summary: event.summary,
        },
      );
    case 'run.stopped':
      return {
        ...next,
        status: 'stopped',
        currentIteration: null,
        stop: { reason: event.reason, message: event.message, exitCode: event.exitCode },
      };
  }
}

export function foldEvents(events: readonly RunEvent[]): RunState {
  return events.reduce(reduceRunState, initialRunState);
}
