import { z } from 'zod';
import { sandboxBackendNames } from '../config/sandbox-settings.ts';

/**
 * The closed set of events a run records, defined once as zod schemas: the TypeScript types, the list of
 * event types and the validation of every line read back are all derived from `runEventSchemas`. Names
 * are noun.verb. Every field a reader needs is in the event itself, so that status, log, explain and the
 * dashboard replay the same file and agree.
 *
 * Changing the shape of an event means a new `logVersion` (log-version.ts) and an upcaster that brings
 * the older shape to the new one, so that logs already on disk stay readable.
 */

const stopReasonSchema = z.enum([
  'done',
  'budget-iterations',
  'budget-wall-clock',
  'budget-tokens',
  'budget-cost',
  'budget-iteration',
  'no-progress',
  'parked',
  'proposals',
  'error',
  'stopped',
  'aborted',
]);
export type StopReason = z.infer<typeof stopReasonSchema>;

/** The failure-mode guards; each firing is an event with what it did. */
const guardNameSchema = z.enum([
  'test-gaming',
  'protected-path',
  'ignore-directive',
  'features',
  'pollution',
  'state-pollution',
  'tampering',
  'regression',
  'question',
  'plan-rot',
  'stall',
  'nested-repository',
  'unsafe-file',
  'uncommittable',
  'worktree-growth',
  'contract',
  'vacuous-check',
]);
export type GuardName = z.infer<typeof guardNameSchema>;

/** proposed: the change was kept as a proposal for a person (or the model judge) to accept or reject. */
const guardActionSchema = z.enum([
  'rejected',
  'restored',
  'moved',
  'compacted',
  'recorded',
  'kept',
  'proposed',
]);
export type GuardAction = z.infer<typeof guardActionSchema>;

const checkResultSchema = z
  .object({
    /** Feature id or oracle name. */
    name: z.string(),
    /** hook: one of the project's git hooks (pre-commit, commit-msg), run as a check. */
    kind: z.enum(['feature', 'oracle', 'smoke', 'task', 'hook']),
    command: z.string(),
    passed: z.boolean(),
    exitCode: z.number().nullable(),
    /** How it ended: 'exit 0', 'timed out', ... */
    ended: z.string(),
    durationMs: z.number(),
    /** Saved output, relative to the workspace. */
    outputPath: z.string(),
    /**
     * The check failed, was run once more and passed (added in version 5): flaky, not a regression. How
     * the failed run ended and where its output is; this result is the second run's.
     */
    flaky: z.object({ ended: z.string(), outputPath: z.string() }).readonly().optional(),
  })
  .readonly();
export type CheckResult = z.infer<typeof checkResultSchema>;

const usageSchema = z
  .object({
    inputTokens: z.number(),
    outputTokens: z.number(),
    cachedInputTokens: z.number(),
    costUsd: z.number(),
  })
  .readonly();
export type Usage = z.infer<typeof usageSchema>;

/**
 * How a planner session went (added in version 2; absent in older lines): its status, and what it spent,
 * which counts in the budgets like a worker's.
 */
const plannerSessionSchema = z.object({
  status: z.enum(['completed', 'failed', 'timed-out', 'aborted']),
  usage: usageSchema,
  error: z.string().optional(),
});

const verdictSchema = z
  .object({
    done: z.boolean(),
    /** The worker said it was done. */
    claimed: z.boolean(),
    /** The worker said it was done and the evidence disagreed. */
    claimRejected: z.boolean(),
    /** One paragraph a person (and the next worker) can act on. */
    reason: z.string(),
    failing: z.array(z.string()).readonly(),
    /** The model judge's opinion, when baton.yaml configures one (an error when it could not be asked). */
    model: z
      .union([
        z.object({ met: z.boolean(), reason: z.string(), next: z.string() }).readonly(),
        z.object({ error: z.string() }).readonly(),
      ])
      .optional(),
  })
  .readonly();
export type Verdict = z.infer<typeof verdictSchema>;

/** One task of a parallel run's plan, as the planner wrote it and the harness accepted it. */
const plannedTaskSchema = z
  .object({
    id: z.string(),
    goal: z.string(),
    features: z.array(z.string()).readonly(),
    /** Globs of the files the task may change. */
    scope: z.array(z.string()).readonly(),
    dependsOn: z.array(z.string()).readonly(),
    verify: z.array(z.string()).readonly(),
  })
  .readonly();
export type PlannedTask = z.infer<typeof plannedTaskSchema>;

/** Why a task's attempt did not land: the task goes back to the queue with these diagnostics. */
const taskReturnReasonSchema = z.enum([
  'session-failed',
  'no-changes',
  'out-of-scope',
  'refused',
  'conflict',
  'verification-failed',
  'interrupted',
]);
export type TaskReturnReason = z.infer<typeof taskReturnReasonSchema>;

const budgetsSchema = z
  .object({ iterations: z.number(), wallClockMs: z.number(), noProgressIterations: z.number() })
  .readonly();
const strings = z.array(z.string()).readonly();
const checks = z.array(checkResultSchema).readonly();
const sessionStatus = z.enum(['completed', 'failed', 'timed-out', 'aborted']);

/** What the log adds to every event: its number, its time, and the schema version that wrote it. */
const eventBase = {
  /** Absent on lines written before the log was versioned: those are version 1. */
  v: z.number().int().positive().optional(),
  seq: z.number(),
  at: z.string(),
};

function event<Type extends string, Shape extends z.ZodRawShape>(type: Type, shape: Shape) {
  return z.object({ ...eventBase, type: z.literal(type), ...shape }).readonly();
}

/** Every event type and its schema: the one definition everything else is derived from. */
export const runEventSchemas = {
  'run.started': event('run.started', {
    runId: z.string(),
    goal: z.string(),
    workspace: z.string(),
    headCommit: z.string(),
    budgets: budgetsSchema,
    featuresTotal: z.number(),
    featuresPassing: z.number(),
    /** Parallel workers (absent: the serial loop). */
    workers: z.number().optional(),
    /** The branch the run commits to (absent in logs written before runs had branches). */
    branch: z.string().optional(),
    /** The branch the person was on, checked out again when the run stops (absent: the run works in place). */
    baseBranch: z.string().optional(),
  }),
  'iteration.started': event('iteration.started', {
    iteration: z.number(),
    headCommit: z.string(),
    /** Which baton.yaml the iteration runs with: a hash of its bytes (absent in older logs). */
    config: z.string().optional(),
  }),
  /** A person's edit of baton.yaml, applied at the start of an iteration (some sections wait for a resume). */
  'config.applied': event('config.applied', {
    iteration: z.number(),
    config: z.string(),
    applied: strings,
    deferred: z.array(z.object({ section: z.string(), reason: z.string() }).readonly()).readonly(),
    budgets: budgetsSchema,
  }),
  /** An edited baton.yaml that does not validate: the run goes on with the config it had. */
  'config.refused': event('config.refused', {
    iteration: z.number(),
    config: z.string(),
    problems: strings,
  }),
  'smoke.ended': event('smoke.ended', { iteration: z.number(), result: checkResultSchema.nullable() }),
  'agent.started': event('agent.started', {
    iteration: z.number(),
    agent: z.string(),
    pid: z.number().nullable(),
  }),
  'agent.ended': event('agent.ended', {
    iteration: z.number(),
    status: sessionStatus,
    exitCode: z.number().nullable(),
    durationMs: z.number(),
    usage: usageSchema,
    claimedDone: z.boolean(),
    finalMessage: z.string(),
  }),
  'agent.rate-limited': event('agent.rate-limited', {
    iteration: z.number(),
    /** Rate-limited sessions so far in this iteration. */
    attempt: z.number(),
    message: z.string(),
    waitMs: z.number(),
    /** Where the session's partial work was kept before the retry. */
    savedAs: z.string().nullable(),
  }),
  'guard.fired': event('guard.fired', {
    /** The serial loop's iteration (0 in a parallel run: see `task`). */
    iteration: z.number(),
    /** The parallel task whose attempt the guard looked at. */
    task: z.string().optional(),
    guard: guardNameSchema,
    action: guardActionSchema,
    details: strings,
  }),
  'iteration.rolled-back': event('iteration.rolled-back', {
    iteration: z.number(),
    /** The commit the branch was reset to. */
    to: z.string(),
    /** A ref that keeps the refused work, so nothing is lost. */
    savedAs: z.string().nullable(),
    reason: z.string(),
  }),
  'plan.refreshed': event('plan.refreshed', {
    iteration: z.number(),
    reason: z.string(),
    commit: z.string().nullable(),
    agent: z.string(),
    session: plannerSessionSchema.optional(),
  }),
  'feature.parked': event('feature.parked', {
    iteration: z.number(),
    feature: z.string(),
    reason: z.string(),
  }),
  'agent.switched': event('agent.switched', {
    iteration: z.number(),
    from: z.string(),
    to: z.string(),
    reason: z.string(),
  }),
  'question.asked': event('question.asked', {
    iteration: z.number(),
    /** The parallel task whose attempt asked (its iteration is 0). */
    task: z.string().optional(),
    question: z.string(),
    feature: z.string().nullable(),
  }),
  'human.edited': event('human.edited', {
    iteration: z.number(),
    paths: strings,
    commit: z.string().nullable(),
    /** Whose commit it is (`Name <email>`): the person's git identity, or baton's when none is set. */
    author: z.string().optional(),
  }),
  'steer.received': event('steer.received', {
    iteration: z.number(),
    message: z.string(),
    unpark: strings,
  }),
  'iteration.interrupted': event('iteration.interrupted', {
    iteration: z.number(),
    /** Where the unfinished iteration's work was kept (null: it had changed nothing). */
    savedAs: z.string().nullable(),
    resetTo: z.string(),
    reason: z.string(),
  }),
  'run.resumed': event('run.resumed', {
    reason: z.string(),
    budgets: budgetsSchema,
    reaped: z.array(z.number()).readonly(),
  }),
  'run.paused': event('run.paused', { by: z.string() }),
  /** HEAD moved between the run's branch and the person's: on resume, and when the run stops. */
  'branch.switched': event('branch.switched', {
    from: z.string().nullable(),
    to: z.string(),
    why: z.string(),
  }),
  /** The person's branch could not be checked out again when the run stopped: HEAD stays on the run's. */
  'branch.kept': event('branch.kept', { branch: z.string(), reason: z.string() }),
  'sandbox.chosen': event('sandbox.chosen', {
    backend: z.enum(sandboxBackendNames),
    warning: z.string().nullable(),
  }),
  'run.unpaused': event('run.unpaused', { by: z.string() }),
  'checkpoint.restored': event('checkpoint.restored', {
    tag: z.string(),
    commit: z.string(),
    backup: z.string(),
    featuresPassing: z.number(),
    featuresTotal: z.number(),
    passingFeatures: strings,
  }),
  'commit.created': event('commit.created', {
    iteration: z.number(),
    commit: z.string(),
    /** work: the worker's change; record: the harness's record; iteration: both in one (git.commit: one). */
    purpose: z.enum(['work', 'record', 'iteration']),
  }),
  'verify.ended': event('verify.ended', { iteration: z.number(), commit: z.string(), checks }),
  /**
   * The run's first verification, on the commit it started from, before any worker (added in version 5):
   * what passed there is the baseline, not progress; what failed there is where evidence must discriminate.
   */
  'baseline.verified': event('baseline.verified', { commit: z.string(), checks }),
  'tree.polluted': event('tree.polluted', {
    iteration: z.number(),
    paths: strings,
    stash: z.string().nullable(),
  }),
  'judge.ended': event('judge.ended', { iteration: z.number(), verdict: verdictSchema }),
  'checkpoint.created': event('checkpoint.created', {
    iteration: z.number(),
    tag: z.string(),
    commit: z.string(),
  }),
  'iteration.ended': event('iteration.ended', {
    iteration: z.number(),
    durationMs: z.number(),
    featuresPassing: z.number(),
    featuresTotal: z.number(),
    passingFeatures: strings,
    progressed: z.boolean(),
    regressed: strings,
    summary: z.string(),
  }),
  /**
   * A change the harness does not apply by itself, kept as a commit under `ref`: a change to the
   * verification contract (a feature's verify, the test runner's configuration, package.json scripts)
   * or to tested behaviour (the accepted version of a changed test fails on the new code).
   */
  'proposal.created': event('proposal.created', {
    iteration: z.number(),
    id: z.string(),
    kind: z.enum(['contract', 'behaviour']),
    reasons: strings,
    /** The worker's commit and the commit it was made on. */
    commit: z.string(),
    base: z.string(),
    ref: z.string(),
    /** The features the proposal concerns (their checks are the ones it changes). */
    features: strings,
  }),
  'proposal.decided': event('proposal.decided', {
    id: z.string(),
    decision: z.enum(['accepted', 'rejected']),
    by: z.string(),
    reason: z.string(),
  }),
  /** An accepted proposal put on the run's branch (commit), or why it could not be (commit null). */
  'proposal.applied': event('proposal.applied', {
    iteration: z.number(),
    id: z.string(),
    commit: z.string().nullable(),
    detail: z.string(),
  }),
  /**
   * The branch verified again once accepted proposals were put on it (added in version 5): the statuses
   * they leave (recorded in FEATURES.json, `commit`) are what the next iteration or merge is measured by.
   */
  'proposals.verified': event('proposals.verified', {
    iteration: z.number(),
    ids: strings,
    commit: z.string(),
    checks,
    passingFeatures: strings,
  }),
  'tasks.planned': event('tasks.planned', {
    revision: z.number(),
    tasks: z.array(plannedTaskSchema).readonly(),
    agent: z.string(),
    commit: z.string().nullable(),
    /**
     * The oracles that passed on the integration branch when the plan was made (the first plan only):
     * a merge may not break them. Absent in logs of version 1, where the coordinator measured them again.
     */
    passingOracles: strings.optional(),
    session: plannerSessionSchema.optional(),
  }),
  'plan.refused': event('plan.refused', {
    revision: z.number(),
    attempt: z.number(),
    problems: strings,
    session: plannerSessionSchema.optional(),
  }),
  'task.started': event('task.started', {
    task: z.string(),
    attempt: z.number(),
    worker: z.number(),
    branch: z.string(),
    base: z.string(),
    worktree: z.string(),
  }),
  'task.worked': event('task.worked', {
    task: z.string(),
    attempt: z.number(),
    worker: z.number(),
    status: sessionStatus,
    commit: z.string().nullable(),
    durationMs: z.number(),
    usage: usageSchema,
    finalMessage: z.string(),
    /** Sessions of this attempt that ended on a rate limit and were retried after a wait. */
    rateLimitWaits: z.number().optional(),
  }),
  'task.returned': event('task.returned', {
    task: z.string(),
    attempt: z.number(),
    reason: taskReturnReasonSchema,
    diagnostics: z.string(),
  }),
  'task.merged': event('task.merged', {
    task: z.string(),
    attempt: z.number(),
    /** The integration branch's new tip. */
    commit: z.string(),
    checks,
    passingFeatures: strings,
  }),
  'task.abandoned': event('task.abandoned', { task: z.string(), reason: z.string() }),
  'tasks.judged': event('tasks.judged', {
    revision: z.number(),
    verdict: verdictSchema,
    decision: z.enum(['done', 'replan', 'stop']),
    checks,
    featuresPassing: z.number(),
    featuresTotal: z.number(),
    passingFeatures: strings,
  }),
  'run.stopped': event('run.stopped', {
    reason: stopReasonSchema,
    message: z.string(),
    exitCode: z.number(),
  }),
};

type Schemas = typeof runEventSchemas;

export type RunEventType = keyof Schemas;

/** One event as it is in the log (and in memory, once upcast to the current version). */
export type RunEvent = { [Type in RunEventType]: z.infer<Schemas[Type]> }[RunEventType];

/** The event of one type, e.g. `RunEventOf<'verify.ended'>`. */
export type RunEventOf<Type extends RunEventType> = z.infer<Schemas[Type]>;

/** An event before the log gives it a sequence number, a time and the version. */
export type NewRunEvent = RunEvent extends infer E
  ? E extends RunEvent
    ? Omit<E, 'seq' | 'at' | 'v'>
    : never
  : never;

export const runEventTypes = Object.keys(runEventSchemas) as readonly RunEventType[];

export function isRunEventType(type: string): type is RunEventType {
  return Object.hasOwn(runEventSchemas, type);
}
