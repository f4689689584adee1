import type { SandboxBackendName } from '../config/sandbox-settings.ts';
import type { CheckResult, GuardName, RunEvent, StopReason, Usage, Verdict } from './events.ts';
import { addUsage, emptyUsage } from './usage.ts';
import { initialParallelState, reduceParallelState, type ParallelState } from './task-state.ts';

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
  /** The guards that fired in this iteration. */
  readonly guards: readonly GuardName[];
  readonly rolledBack: boolean;
  readonly polluted: readonly string[];
  readonly usage: Usage;
  readonly summary: string;
  /** HEAD when the iteration started: where an interrupted iteration is reset to. */
  readonly startCommit: string;
  readonly interrupted: boolean;
}

export interface Checkpoint {
  readonly tag: string;
  readonly commit: string;
  readonly iteration: number;
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
  readonly lastCheckpoint: Checkpoint | null;
  readonly checkpoints: readonly Checkpoint[];
  /**
   * The checks that held at each checkpoint, index for index with `checkpoints`: what a regression
   * rollback returns to. An array beside the list (not a field of Checkpoint) keeps them out of the
   * checkpoint lists that status, explain and rollback print.
   */
  readonly checkpointChecks: readonly (readonly CheckResult[])[];
  /** HEAD when the run started: the rollback point until the first checkpoint. */
  readonly startCommit: string | null;
  /** The branch the run commits to (null: not recorded, an older log). */
  readonly branch: string | null;
  /** The person's branch, checked out again when the run stops (null: the run works in place). */
  readonly baseBranch: string | null;
  /** The last `verify.ended`: what the tree was verified at, and the results. */
  readonly lastVerification: {
    readonly iteration: number;
    readonly commit: string;
    readonly checks: readonly CheckResult[];
  } | null;
  /** The final checks of the last finished iteration: the next one's regressions are measured against them. */
  readonly previousChecks: readonly CheckResult[];
  readonly usage: Usage;
  readonly stop: { readonly reason: StopReason; readonly message: string; readonly exitCode: number } | null;
  /** Finished iterations (ended or interrupted), oldest first. */
  readonly iterations: readonly IterationSummary[];
  /**
   * The iteration under way. Kept apart from the finished ones so that the many events of one iteration
   * do not copy the whole list each time (the state is immutable; a long run has thousands).
   */
  readonly current: IterationSummary | null;
  /** Features set aside after a stall or a question; the loop works on the others. */
  readonly parked: readonly {
    readonly feature: string;
    readonly reason: string;
    readonly iteration: number;
  }[];
  readonly questions: readonly {
    readonly iteration: number;
    readonly question: string;
    readonly feature: string | null;
    /** The parallel task that asked. */
    readonly task?: string;
  }[];
  /** 'fallback' once the stall ladder switched to baton.yaml's fallbackAgent. */
  readonly activeAgent: 'worker' | 'fallback';
  readonly lastPlanRefresh: number | null;
  /** Escalation steps already taken in the current run of iterations without progress. */
  readonly escalation: { readonly replanned: boolean; readonly switched: boolean };
  readonly guardFirings: Readonly<Partial<Record<GuardName, number>>>;
  readonly rollbacks: number;
  /** Messages from a person (`baton steer`), with the iteration whose prompt carries them. */
  readonly steering: readonly { readonly iteration: number; readonly message: string }[];
  readonly paused: boolean;
  /** Wall-clock time the run was active before its current segment (time between a crash and the resume excluded). */
  readonly activeMsBefore: number;
  /** When the current segment (the start, or the last resume) began. */
  readonly segmentStartedAt: string | null;
  readonly interruptions: number;
  /** The highest iteration number used so far (interrupted ones included). */
  readonly lastIteration: number;
  /** Where workers run: bwrap, or none (with the warning that was given). */
  readonly sandbox: { readonly backend: SandboxBackendName; readonly warning: string | null } | null;
  /** Planner, workers and merge queue (null: the serial loop). */
  readonly parallel: ParallelState | null;
  /** Sessions that ended on a rate limit and were retried (not failed iterations). */
  readonly rateLimitWaits: number;
  /** Changes kept for a person (or the model judge) to decide: the contract's or tested behaviour's. */
  readonly proposals: readonly ProposalState[];
  /**
   * Feature id -> the last commit an iteration ended on where its check failed: the code a new passing
   * check must still fail on (evidence that discriminates).
   */
  readonly lastFailedAt: Readonly<Record<string, string>>;
  /** The run's first verification, before any worker: what held and what failed where it started. */
  readonly baseline: { readonly commit: string; readonly checks: readonly CheckResult[] } | null;
}

export interface ProposalState {
  readonly id: string;
  readonly iteration: number;
  readonly kind: 'contract' | 'behaviour';
  readonly reasons: readonly string[];
  readonly commit: string;
  readonly base: string;
  readonly ref: string;
  readonly features: readonly string[];
  readonly createdAt: string;
  /** open: waits for a decision; accepted: waits to be applied (or was); rejected: stays under its ref. */
  readonly status: 'open' | 'accepted' | 'rejected';
  readonly decision: { readonly by: string; readonly reason: string } | null;
  /** Where it landed on the run's branch (null: not yet, or it could not be applied: see `applyProblem`). */
  readonly appliedAs: string | null;
  readonly applyProblem: string | null;
  /** The branch was verified after it was applied (`proposals.verified`). */
  readonly verified: boolean;
}

/** Proposals waiting for a decision. */
export function openProposals(state: RunState): readonly ProposalState[] {
  return state.proposals.filter((proposal) => proposal.status === 'open');
}

/** Proposals put on the branch whose verification is not recorded yet (a crash came in between). */
export function proposalsToVerify(state: RunState): readonly ProposalState[] {
  return state.proposals.filter((proposal) => proposal.appliedAs !== null && !proposal.verified);
}

/** Accepted proposals not yet on the branch (and not refused by git when they were tried). */
export function proposalsToApply(state: RunState): readonly ProposalState[] {
  return state.proposals.filter(
    (proposal) =>
      proposal.status === 'accepted' && proposal.appliedAs === null && proposal.applyProblem === null,
  );
}

function updateProposal(state: RunState, id: string, change: Partial<ProposalState>): RunState {
  return {
    ...state,
    proposals: state.proposals.map((proposal) =>
      proposal.id === id ? { ...proposal, ...change } : proposal,
    ),
  };
}

export { emptyUsage };

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
  checkpoints: [],
  checkpointChecks: [],
  startCommit: null,
  branch: null,
  baseBranch: null,
  lastVerification: null,
  previousChecks: [],
  usage: emptyUsage,
  stop: null,
  iterations: [],
  current: null,
  parked: [],
  questions: [],
  activeAgent: 'worker',
  lastPlanRefresh: null,
  escalation: { replanned: false, switched: false },
  guardFirings: {},
  rollbacks: 0,
  steering: [],
  paused: false,
  activeMsBefore: 0,
  segmentStartedAt: null,
  interruptions: 0,
  lastIteration: 0,
  sandbox: null,
  parallel: null,
  rateLimitWaits: 0,
  proposals: [],
  lastFailedAt: {},
  baseline: null,
};

function failedNames(checks: readonly CheckResult[]): string[] {
  return checks.filter((check) => !check.passed).map((check) => `${check.kind}:${check.name}`);
}

/** Update the summary of the iteration under way. */
function updateCurrent(state: RunState, iteration: number, change: Partial<IterationSummary>): RunState {
  if (state.current?.iteration === iteration) return { ...state, current: { ...state.current, ...change } };
  // An event for an iteration that already finished (none today): update it where it is.
  const index = state.iterations.findIndex((entry) => entry.iteration === iteration);
  if (index < 0) return state;
  const updated = [...state.iterations];
  updated[index] = { ...(updated[index] as IterationSummary), ...change };
  return { ...state, iterations: updated };
}

/** Move the iteration under way to the finished ones. */
function finishCurrent(state: RunState): RunState {
  return state.current === null
    ? state
    : { ...state, iterations: [...state.iterations, state.current], current: null };
}

/** Where a regression is rolled back to: the last checkpoint and the checks that held there (else the start). */
export function rollbackPoint(state: RunState): { commit: string; checks: readonly CheckResult[] } | null {
  if (state.lastCheckpoint !== null) {
    const index = state.checkpoints.findIndex((entry) => entry.tag === state.lastCheckpoint?.tag);
    return { commit: state.lastCheckpoint.commit, checks: state.checkpointChecks[index] ?? [] };
  }
  return state.startCommit === null ? null : { commit: state.startCommit, checks: [] };
}

/** The checks of the last verification of `iteration` (none: it was not verified). */
function checksOf(state: RunState, iteration: number): readonly CheckResult[] {
  return state.lastVerification?.iteration === iteration ? state.lastVerification.checks : [];
}

/** lastFailedAt with the features these checks saw fail on `commit`. */
function withFailures(
  lastFailedAt: Readonly<Record<string, string>>,
  commit: string,
  checks: readonly CheckResult[],
): Readonly<Record<string, string>> {
  const failed = checks.filter((check) => check.kind === 'feature' && !check.passed);
  if (failed.length === 0) return lastFailedAt;
  return { ...lastFailedAt, ...Object.fromEntries(failed.map((check) => [check.name, commit])) };
}

/** lastFailedAt once `iteration` ends on its last verification. */
function lastFailures(state: RunState, iteration: number): Readonly<Record<string, string>> {
  const verification = state.lastVerification;
  if (verification?.iteration !== iteration) return state.lastFailedAt;
  return withFailures(state.lastFailedAt, verification.commit, verification.checks);
}

/** Every iteration, the one under way last: what a timeline shows. */
export function allIterations(state: RunState): readonly IterationSummary[] {
  return state.current === null ? state.iterations : [...state.iterations, state.current];
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
        segmentStartedAt: event.at,
        startCommit: event.headCommit,
        branch: event.branch ?? null,
        baseBranch: event.baseBranch ?? null,
        status: 'running',
        budgets: event.budgets,
        featuresPassing: event.featuresPassing,
        featuresTotal: event.featuresTotal,
        stop: null,
        parallel: event.workers === undefined ? null : initialParallelState(event.workers),
      };
    case 'iteration.started':
      return {
        ...next,
        currentIteration: event.iteration,
        lastIteration: Math.max(next.lastIteration, event.iteration),
        iterations: next.current === null ? next.iterations : [...next.iterations, next.current],
        current: {
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
          guards: [],
          rolledBack: false,
          polluted: [],
          usage: emptyUsage,
          startCommit: event.headCommit,
          interrupted: false,
          summary: '',
        },
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
        usage: addUsage(next.current?.usage ?? emptyUsage, event.usage),
      });
    case 'guard.fired': {
      const current = next.current;
      return updateCurrent(
        {
          ...next,
          guardFirings: { ...next.guardFirings, [event.guard]: (next.guardFirings[event.guard] ?? 0) + 1 },
        },
        event.iteration,
        {
          guards:
            current?.guards.includes(event.guard) === true
              ? current.guards
              : [...(current?.guards ?? []), event.guard],
        },
      );
    }
    case 'iteration.rolled-back':
      return updateCurrent({ ...next, rollbacks: next.rollbacks + 1 }, event.iteration, { rolledBack: true });
    case 'plan.refreshed':
      return {
        ...next,
        usage: event.session === undefined ? next.usage : addUsage(next.usage, event.session.usage),
        lastPlanRefresh: event.iteration,
        escalation: { ...next.escalation, replanned: next.noProgressStreak > 0 || next.escalation.replanned },
      };
    case 'feature.parked':
      return {
        ...next,
        parked: [
          ...next.parked,
          { feature: event.feature, reason: event.reason, iteration: event.iteration },
        ],
        // A parked feature ends this stall: the ladder starts again on the next focus.
        noProgressStreak: 0,
        escalation: { replanned: false, switched: next.escalation.switched },
      };
    case 'agent.switched':
      return { ...next, activeAgent: 'fallback', escalation: { ...next.escalation, switched: true } };
    case 'human.edited':
      return next;
    case 'steer.received':
      return {
        ...next,
        steering: [...next.steering, { iteration: event.iteration, message: event.message }],
        parked: next.parked.filter((entry) => !event.unpark.includes(entry.feature)),
      };
    case 'iteration.interrupted': {
      // A checkpoint the interrupted iteration tagged is gone with its work.
      const kept = (entry: Checkpoint): boolean => entry.iteration !== event.iteration;
      const checkpoints = next.checkpoints.filter(kept);
      return finishCurrent(
        updateCurrent(
          {
            ...next,
            currentIteration: null,
            interruptions: next.interruptions + 1,
            checkpoints,
            checkpointChecks: next.checkpointChecks.filter((_checks, index) => {
              const entry = next.checkpoints[index];
              return entry !== undefined && kept(entry);
            }),
            lastCheckpoint: checkpoints.at(-1) ?? null,
            // Its verdict is gone with its work too: the run stands where the last finished iteration left it
            // (a kill after a "done" verdict but before the iteration ended must not end the run as done).
            lastVerdict: next.iterations.filter((entry) => !entry.interrupted).at(-1)?.verdict ?? null,
          },
          event.iteration,
          {
            endedAt: event.at,
            interrupted: true,
            checkpoint: null,
            verdict: null,
            summary: `interrupted: ${event.reason}`,
          },
        ),
      );
    }
    case 'run.resumed': {
      // The time between the last event before the resume and the resume itself was not run time.
      const segmentMs =
        state.segmentStartedAt === null || state.updatedAt === null
          ? 0
          : Date.parse(state.updatedAt) - Date.parse(state.segmentStartedAt);
      return {
        ...next,
        status: 'running',
        stop: null,
        paused: false,
        // An iteration the dead harness left unfinished stays current until it is reconciled.
        budgets: event.budgets,
        activeMsBefore: next.activeMsBefore + Math.max(0, segmentMs),
        segmentStartedAt: event.at,
      };
    }
    case 'sandbox.chosen':
      return { ...next, sandbox: { backend: event.backend, warning: event.warning } };
    case 'run.paused':
      // Paused time is not run time: close the segment, reopen it on unpause.
      return {
        ...next,
        paused: true,
        activeMsBefore:
          next.activeMsBefore +
          (next.segmentStartedAt === null
            ? 0
            : Math.max(0, Date.parse(event.at) - Date.parse(next.segmentStartedAt))),
        segmentStartedAt: null,
      };
    case 'run.unpaused':
      return { ...next, paused: false, segmentStartedAt: event.at };
    case 'checkpoint.restored': {
      // Later checkpoints stay listed (their refs still exist): a person can roll forward to one again.
      const restored = next.checkpoints.find((entry) => entry.tag === event.tag);
      return {
        ...next,
        featuresPassing: event.featuresPassing,
        featuresTotal: event.featuresTotal,
        passingFeatures: event.passingFeatures,
        lastCheckpoint: restored ?? next.lastCheckpoint,
      };
    }
    case 'question.asked':
      return {
        ...next,
        questions: [
          ...next.questions,
          {
            iteration: event.iteration,
            question: event.question,
            feature: event.feature,
            ...(event.task === undefined ? {} : { task: event.task }),
          },
        ],
      };
    case 'commit.created': {
      return updateCurrent(next, event.iteration, {
        commits: [...(next.current?.commits ?? []), event.commit],
      });
    }
    case 'verify.ended': {
      const smokeFailed = next.current?.failedChecks.includes('smoke') === true;
      return updateCurrent(
        {
          ...next,
          lastVerification: { iteration: event.iteration, commit: event.commit, checks: event.checks },
        },
        event.iteration,
        { failedChecks: [...(smokeFailed ? ['smoke'] : []), ...failedNames(event.checks)] },
      );
    }
    case 'baseline.verified':
      // The first iteration is measured against it: its regressions, its progress, its evidence.
      return {
        ...next,
        baseline: { commit: event.commit, checks: event.checks },
        previousChecks: next.iterationsCompleted === 0 ? event.checks : next.previousChecks,
        lastFailedAt: withFailures(next.lastFailedAt, event.commit, event.checks),
      };
    case 'tree.polluted':
      return updateCurrent(next, event.iteration, { polluted: event.paths });
    case 'judge.ended':
      return updateCurrent({ ...next, lastVerdict: event.verdict }, event.iteration, {
        verdict: event.verdict,
      });
    case 'checkpoint.created': {
      const checkpoint = { tag: event.tag, commit: event.commit, iteration: event.iteration };
      return updateCurrent(
        {
          ...next,
          lastCheckpoint: checkpoint,
          checkpoints: [...next.checkpoints, checkpoint],
          checkpointChecks: [...next.checkpointChecks, checksOf(next, event.iteration)],
        },
        event.iteration,
        { checkpoint: event.tag },
      );
    }
    case 'iteration.ended':
      return finishCurrent(
        updateCurrent(
          {
            ...next,
            currentIteration: null,
            iterationsCompleted: next.iterationsCompleted + 1,
            previousChecks: checksOf(next, event.iteration),
            lastFailedAt: lastFailures(next, event.iteration),
            featuresPassing: event.featuresPassing,
            featuresTotal: event.featuresTotal,
            passingFeatures: event.passingFeatures,
            noProgressStreak: event.progressed ? 0 : next.noProgressStreak + 1,
            escalation: event.progressed
              ? { replanned: false, switched: next.escalation.switched }
              : next.escalation,
            // A feature that passes is no longer parked.
            parked: next.parked.filter((entry) => !event.passingFeatures.includes(entry.feature)),
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
        ),
      );
    case 'agent.rate-limited':
      return { ...next, rateLimitWaits: next.rateLimitWaits + 1 };
    case 'proposal.created':
      return {
        ...next,
        proposals: [
          ...next.proposals,
          {
            id: event.id,
            iteration: event.iteration,
            kind: event.kind,
            reasons: event.reasons,
            commit: event.commit,
            base: event.base,
            ref: event.ref,
            features: event.features,
            createdAt: event.at,
            status: 'open',
            decision: null,
            appliedAs: null,
            applyProblem: null,
            verified: false,
          },
        ],
      };
    case 'proposal.decided':
      return updateProposal(next, event.id, {
        status: event.decision,
        decision: { by: event.by, reason: event.reason },
      });
    case 'proposal.applied':
      return updateProposal(next, event.id, {
        appliedAs: event.commit,
        applyProblem: event.commit === null ? event.detail : null,
      });
    case 'proposals.verified':
      // What is on the branch now, the accepted change included: the next iteration is measured by it.
      return {
        ...next,
        proposals: next.proposals.map((proposal) =>
          event.ids.includes(proposal.id) ? { ...proposal, verified: true } : proposal,
        ),
        previousChecks: event.checks,
        lastFailedAt: withFailures(next.lastFailedAt, event.commit, event.checks),
        featuresPassing: event.passingFeatures.length,
        passingFeatures: event.passingFeatures,
      };
    case 'tasks.planned':
    case 'plan.refused':
      return withParallel(
        event.session === undefined ? next : { ...next, usage: addUsage(next.usage, event.session.usage) },
        event,
      );
    case 'task.started':
    case 'task.returned':
    case 'task.abandoned':
      return withParallel(next, event);
    case 'task.worked':
      return withParallel(
        {
          ...next,
          usage: addUsage(next.usage, event.usage),
          rateLimitWaits: next.rateLimitWaits + (event.rateLimitWaits ?? 0),
        },
        event,
      );
    case 'task.merged':
      return withParallel(
        {
          ...next,
          featuresPassing: event.passingFeatures.length,
          passingFeatures: event.passingFeatures,
          lastFailedAt: withFailures(next.lastFailedAt, event.commit, event.checks),
        },
        event,
      );
    case 'tasks.judged':
      return withParallel(
        {
          ...next,
          lastVerdict: event.verdict,
          featuresPassing: event.featuresPassing,
          featuresTotal: event.featuresTotal,
          passingFeatures: event.passingFeatures,
        },
        event,
      );
    case 'config.applied':
      // The budgets a person raised (or lowered) while the run waited are the run's from here on.
      return { ...next, budgets: event.budgets };
    case 'config.refused':
    case 'branch.switched':
    case 'branch.kept':
      // Where HEAD is is git's to say; the log keeps the moves for the views.
      return next;
    case 'run.stopped':
      return {
        ...next,
        status: 'stopped',
        currentIteration: null,
        stop: { reason: event.reason, message: event.message, exitCode: event.exitCode },
      };
  }
}

function withParallel(state: RunState, event: RunEvent): RunState {
  return state.parallel === null ? state : { ...state, parallel: reduceParallelState(state.parallel, event) };
}

export function foldEvents(events: readonly RunEvent[]): RunState {
  return events.reduce(reduceRunState, initialRunState);
}
