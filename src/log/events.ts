/**
 * The closed set of events a run records. Names are noun.verb. Every field a reader needs is in the
 * event itself, so that status, log, explain and the dashboard replay the same file and agree.
 */
export type StopReason =
  | 'done'
  | 'budget-iterations'
  | 'budget-wall-clock'
  | 'budget-tokens'
  | 'budget-cost'
  | 'budget-iteration'
  | 'no-progress'
  | 'parked'
  | 'error'
  | 'stopped'
  | 'aborted';

/** The failure-mode guards; each firing is an event with what it did. */
export type GuardName =
  | 'test-gaming'
  | 'protected-path'
  | 'ignore-directive'
  | 'features'
  | 'pollution'
  | 'state-pollution'
  | 'tampering'
  | 'regression'
  | 'question'
  | 'plan-rot'
  | 'stall';

export type GuardAction = 'rejected' | 'restored' | 'moved' | 'compacted' | 'recorded' | 'kept';

export interface CheckResult {
  /** Feature id or oracle name. */
  readonly name: string;
  readonly kind: 'feature' | 'oracle' | 'smoke' | 'task';
  readonly command: string;
  readonly passed: boolean;
  readonly exitCode: number | null;
  /** How it ended: 'exit 0', 'timed out', ... */
  readonly ended: string;
  readonly durationMs: number;
  /** Saved output, relative to the workspace. */
  readonly outputPath: string;
}

export interface Usage {
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly cachedInputTokens: number;
  readonly costUsd: number;
}

export interface Verdict {
  readonly done: boolean;
  /** The worker said it was done. */
  readonly claimed: boolean;
  /** The worker said it was done and the evidence disagreed. */
  readonly claimRejected: boolean;
  /** One paragraph a person (and the next worker) can act on. */
  readonly reason: string;
  readonly failing: readonly string[];
  /** The model judge's opinion, when baton.yaml configures one (an error when it could not be asked). */
  readonly model?:
    | { readonly met: boolean; readonly reason: string; readonly next: string }
    | { readonly error: string }
    | undefined;
}

/** One task of a parallel run's plan, as the planner wrote it and the harness accepted it. */
export interface PlannedTask {
  readonly id: string;
  readonly goal: string;
  readonly features: readonly string[];
  /** Globs of the files the task may change. */
  readonly scope: readonly string[];
  readonly dependsOn: readonly string[];
  readonly verify: readonly string[];
}

/** Why a task's attempt did not land: the task goes back to the queue with these diagnostics. */
export type TaskReturnReason =
  | 'session-failed'
  | 'no-changes'
  | 'out-of-scope'
  | 'refused'
  | 'conflict'
  | 'verification-failed'
  | 'interrupted';

interface EventBase {
  readonly seq: number;
  readonly at: string;
}

export type RunEvent = EventBase &
  (
    | {
        readonly type: 'run.started';
        readonly runId: string;
        readonly goal: string;
        readonly workspace: string;
        readonly headCommit: string;
        readonly budgets: {
          readonly iterations: number;
          readonly wallClockMs: number;
          readonly noProgressIterations: number;
        };
        readonly featuresTotal: number;
        readonly featuresPassing: number;
        /** Parallel workers (absent: the serial loop). */
        readonly workers?: number;
      }
    | { readonly type: 'iteration.started'; readonly iteration: number; readonly headCommit: string }
    | { readonly type: 'smoke.ended'; readonly iteration: number; readonly result: CheckResult | null }
    | {
        readonly type: 'agent.started';
        readonly iteration: number;
        readonly agent: string;
        readonly pid: number | null;
      }
    | {
        readonly type: 'agent.ended';
        readonly iteration: number;
        readonly status: 'completed' | 'failed' | 'timed-out' | 'aborted';
        readonly exitCode: number | null;
        readonly durationMs: number;
        readonly usage: Usage;
        readonly claimedDone: boolean;
        readonly finalMessage: string;
      }
    | {
        readonly type: 'agent.rate-limited';
        readonly iteration: number;
        /** Rate-limited sessions so far in this iteration. */
        readonly attempt: number;
        readonly message: string;
        readonly waitMs: number;
        /** Where the session's partial work was kept before the retry. */
        readonly savedAs: string | null;
      }
    | {
        readonly type: 'guard.fired';
        /** The serial loop's iteration (0 in a parallel run: see `task`). */
        readonly iteration: number;
        /** The parallel task whose attempt the guard looked at. */
        readonly task?: string;
        readonly guard: GuardName;
        readonly action: GuardAction;
        readonly details: readonly string[];
      }
    | {
        readonly type: 'iteration.rolled-back';
        readonly iteration: number;
        /** The commit the branch was reset to. */
        readonly to: string;
        /** A ref that keeps the refused work, so nothing is lost. */
        readonly savedAs: string | null;
        readonly reason: string;
      }
    | {
        readonly type: 'plan.refreshed';
        readonly iteration: number;
        readonly reason: string;
        readonly commit: string | null;
        readonly agent: string;
      }
    | {
        readonly type: 'feature.parked';
        readonly iteration: number;
        readonly feature: string;
        readonly reason: string;
      }
    | {
        readonly type: 'agent.switched';
        readonly iteration: number;
        readonly from: string;
        readonly to: string;
        readonly reason: string;
      }
    | {
        readonly type: 'human.edited';
        readonly iteration: number;
        readonly paths: readonly string[];
        readonly commit: string | null;
      }
    | {
        readonly type: 'steer.received';
        readonly iteration: number;
        readonly message: string;
        readonly unpark: readonly string[];
      }
    | {
        readonly type: 'iteration.interrupted';
        readonly iteration: number;
        /** Where the unfinished iteration's work was kept (null: it had changed nothing). */
        readonly savedAs: string | null;
        readonly resetTo: string;
        readonly reason: string;
      }
    | {
        readonly type: 'run.resumed';
        readonly reason: string;
        readonly budgets: {
          readonly iterations: number;
          readonly wallClockMs: number;
          readonly noProgressIterations: number;
        };
        readonly reaped: readonly number[];
      }
    | { readonly type: 'sandbox.chosen'; readonly backend: 'bwrap' | 'none'; readonly warning: string | null }
    | { readonly type: 'run.paused'; readonly by: string }
    | { readonly type: 'run.unpaused'; readonly by: string }
    | {
        readonly type: 'checkpoint.restored';
        readonly tag: string;
        readonly commit: string;
        readonly backup: string;
        readonly featuresPassing: number;
        readonly featuresTotal: number;
        readonly passingFeatures: readonly string[];
      }
    | {
        readonly type: 'question.asked';
        readonly iteration: number;
        readonly question: string;
        readonly feature: string | null;
      }
    | {
        readonly type: 'commit.created';
        readonly iteration: number;
        readonly commit: string;
        readonly purpose: 'work' | 'record';
      }
    | {
        readonly type: 'verify.ended';
        readonly iteration: number;
        readonly commit: string;
        readonly checks: readonly CheckResult[];
      }
    | {
        readonly type: 'tree.polluted';
        readonly iteration: number;
        readonly paths: readonly string[];
        readonly stash: string | null;
      }
    | { readonly type: 'judge.ended'; readonly iteration: number; readonly verdict: Verdict }
    | {
        readonly type: 'checkpoint.created';
        readonly iteration: number;
        readonly tag: string;
        readonly commit: string;
      }
    | {
        readonly type: 'iteration.ended';
        readonly iteration: number;
        readonly durationMs: number;
        readonly featuresPassing: number;
        readonly featuresTotal: number;
        readonly passingFeatures: readonly string[];
        readonly progressed: boolean;
        readonly regressed: readonly string[];
        readonly summary: string;
      }
    | {
        readonly type: 'tasks.planned';
        readonly revision: number;
        readonly tasks: readonly PlannedTask[];
        readonly agent: string;
        readonly commit: string | null;
      }
    | {
        readonly type: 'plan.refused';
        readonly revision: number;
        readonly attempt: number;
        readonly problems: readonly string[];
      }
    | {
        readonly type: 'task.started';
        readonly task: string;
        readonly attempt: number;
        readonly worker: number;
        readonly branch: string;
        readonly base: string;
        readonly worktree: string;
      }
    | {
        readonly type: 'task.worked';
        readonly task: string;
        readonly attempt: number;
        readonly worker: number;
        readonly status: 'completed' | 'failed' | 'timed-out' | 'aborted';
        readonly commit: string | null;
        readonly durationMs: number;
        readonly usage: Usage;
        readonly finalMessage: string;
        /** Sessions of this attempt that ended on a rate limit and were retried after a wait. */
        readonly rateLimitWaits?: number;
      }
    | {
        readonly type: 'task.returned';
        readonly task: string;
        readonly attempt: number;
        readonly reason: TaskReturnReason;
        readonly diagnostics: string;
      }
    | {
        readonly type: 'task.merged';
        readonly task: string;
        readonly attempt: number;
        /** The integration branch's new tip. */
        readonly commit: string;
        readonly checks: readonly CheckResult[];
        readonly passingFeatures: readonly string[];
      }
    | { readonly type: 'task.abandoned'; readonly task: string; readonly reason: string }
    | {
        readonly type: 'tasks.judged';
        readonly revision: number;
        readonly verdict: Verdict;
        readonly decision: 'done' | 'replan' | 'stop';
        readonly checks: readonly CheckResult[];
        readonly featuresPassing: number;
        readonly featuresTotal: number;
        readonly passingFeatures: readonly string[];
      }
    | {
        readonly type: 'run.stopped';
        readonly reason: StopReason;
        readonly message: string;
        readonly exitCode: number;
      }
  );

export type RunEventType = RunEvent['type'];

/** An event before the log gives it a sequence number and a time. */
export type NewRunEvent = RunEvent extends infer E
  ? E extends RunEvent
    ? Omit<E, 'seq' | 'at'>
    : never
  : never;

export const runEventTypes: readonly RunEventType[] = [
  'run.started',
  'iteration.started',
  'smoke.ended',
  'agent.started',
  'agent.ended',
  'agent.rate-limited',
  'guard.fired',
  'iteration.rolled-back',
  'plan.refreshed',
  'feature.parked',
  'agent.switched',
  'question.asked',
  'human.edited',
  'steer.received',
  'iteration.interrupted',
  'run.resumed',
  'run.paused',
  'sandbox.chosen',
  'run.unpaused',
  'checkpoint.restored',
  'commit.created',
  'verify.ended',
  'tree.polluted',
  'judge.ended',
  'checkpoint.created',
  'iteration.ended',
  'tasks.planned',
  'plan.refused',
  'task.started',
  'task.worked',
  'task.returned',
  'task.merged',
  'task.abandoned',
  'tasks.judged',
  'run.stopped',
];
