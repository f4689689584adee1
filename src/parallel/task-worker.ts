import { mkdirSync, writeFileSync } from 'node:fs';
import { ioLimits } from '../util/limits.ts';
import { openDirectoryInside, readRegularFile } from '../util/safe-io.ts';
import { join } from 'node:path';
import type { Agent, AgentSessionResult } from '../agents/agent.ts';
import type { Sandbox } from '../sandbox/sandbox.ts';
import { runAgentSession, withRateLimitRetries } from '../core/session.ts';
import { commitWork } from '../core/set-aside.ts';
import { guardUncommittedWork, type GuardFiring } from '../core/work-guards.ts';
import { reviewCommittedWork, type CommittedReview } from '../core/review.ts';
import { changedFiles, diffBetween, fileAt } from '../git/git.ts';
import type { Config } from '../config/resolve.ts';
import { saveAndReset } from '../loop/rollback.ts';
import { propose } from '../loop/propose.ts';
import type { TaskReturnReason, Usage } from '../log/events.ts';
import type { TaskState } from '../log/task-state.ts';
import { matchesAny } from '../util/glob.ts';
import { firstLine, head, quoteName, tail } from '../util/text.ts';
import { parseFeatureList, readFeatureList } from '../workspace/features.ts';
import { stateFiles } from '../workspace/paths.ts';
import { attemptDir, parallelState, type ParallelContext } from './context.ts';
import { questionEvents } from '../core/questions.ts';
import { guardEventLog } from '../core/log-guard.ts';
import { harnessOwnedPaths } from './task-graph.ts';
import { buildTaskPrompt } from './task-prompt.ts';
import { addTaskWorktree, removeWorktree, runWorktreesDir, taskBranch } from './worktrees.ts';

export type AttemptOutcome =
  | {
      readonly landed: false;
      readonly reason: TaskReturnReason;
      readonly diagnostics: string;
      /** Set when the task may not be tried again (it waits for a person's answer): why. */
      readonly abandon?: string;
    }
  | { readonly landed: true; readonly commit: string };

/** Paths of a task's diff it may not touch: outside its scope, or owned by the harness. */
export function outOfScope(paths: readonly string[], scope: readonly string[]): string[] {
  return paths.filter((path) => matchesAny(path, harnessOwnedPaths) || !matchesAny(path, scope));
}

/**
 * The folders a scope's globs can write in, for the sandbox: the literal folder part of each glob
 * (`src/parser/**` -> `src/parser`, `docs/api.md` -> `docs`). Undefined when a glob can match at the top
 * level (`*.md`, `**`): then the whole worktree stays writable and the scope is enforced at merge only.
 */
export function scopeFolders(scope: readonly string[]): string[] | undefined {
  const folders = new Set<string>();
  for (const glob of scope) {
    const wildcard = glob.search(/[*?[{]/);
    const literal = wildcard < 0 ? glob : glob.slice(0, wildcard);
    const slash = literal.lastIndexOf('/');
    if (slash <= 0) return undefined;
    folders.add(literal.slice(0, slash));
  }
  return [...folders];
}

/**
 * The guards on an attempt's diff before it may merge: its write scope (and the harness's own files),
 * then test gaming, protected paths and ignore directives, as in the serial loop.
 */
export async function reviewAttempt(
  context: ParallelContext,
  task: TaskState,
  base: string,
  commit: string,
): Promise<
  Extract<AttemptOutcome, { landed: false }> | { readonly landed: true; readonly review: CommittedReview }
> {
  const worktree = context.loop.workspace;
  const files = await changedFiles(worktree, base, commit);
  const outside = outOfScope(
    files.map((file) => file.path),
    task.spec.scope,
  );
  if (outside.length > 0) {
    return {
      landed: false,
      reason: 'out-of-scope',
      diagnostics: `changed files outside the task's scope (${task.spec.scope.join(', ')}): ${outside.map(quoteName).join(', ')}. Change only files in scope; if the task cannot be done that way, say so in your note.`,
    };
  }
  const baseFeatures = await fileAt(worktree, base, stateFiles.features);
  const parsed = baseFeatures === null ? undefined : parseFeatureList(baseFeatures);
  const review = await reviewCommittedWork(
    worktree,
    context.loop.config,
    context.loop.locked,
    parsed?.ok === true ? parsed.list.features : [],
    base,
    commit,
  );
  // Test changes are judged by the merge queue, which runs the accepted tests on the candidate (the
  // hints are decided there).
  for (const violation of review.violations) {
    context.loop.emit({
      type: 'guard.fired',
      iteration: 0,
      task: task.spec.id,
      guard: violation.guard,
      action: 'rejected',
      details: [violation.detail],
    });
  }
  if (review.violations.length > 0) {
    return {
      landed: false,
      reason: 'refused',
      diagnostics: review.violations.map((violation) => `${violation.guard}: ${violation.detail}`).join('\n'),
    };
  }
  // A change to the verification contract is not merged: it is kept as a proposal, as in a serial run
  // (applied on the integration branch between merges once a person or the model judge accepts it).
  if (review.contract.length > 0) {
    const reasons = review.contract.map((change) => `the task ${change.detail}`);
    context.loop.emit({
      type: 'guard.fired',
      iteration: 0,
      task: task.spec.id,
      guard: 'contract',
      action: 'proposed',
      details: reasons,
    });
    const refusal = await propose(context.loop, {
      iteration: 0,
      kind: 'contract',
      reasons,
      commit,
      base,
      features: [...new Set(review.contract.flatMap((change) => change.features))],
    });
    return { landed: false, reason: 'refused', diagnostics: refusal };
  }
  return { landed: true, review };
}

/** Why a session failed, with the end of its transcript (where a crash says what happened). */
function sessionFailure(session: AgentSessionResult): string {
  const transcript =
    readRegularFile(session.transcriptPath, { maxBytes: ioLimits.maxTranscriptReadBytes, fromEnd: true })
      ?.text ?? '';
  return `the worker did not finish (${session.error ?? session.status}); the end of its transcript:\n${tail(transcript.trim() || session.finalMessage, 1_500)}`;
}

/** Everything an attempt needs, decided by the coordinator; it travels to a remote worker as is. */
export interface AttemptPlan {
  readonly runId: string;
  readonly task: string;
  readonly attempt: number;
  readonly base: string;
  readonly prompt: string;
  /** Folders of the worktree the session may write (the scope), or undefined for all of it. */
  readonly writable: readonly string[] | undefined;
  readonly timeoutMs: number;
  readonly portBase: number;
  readonly portsPerWorker: number;
}

/** What came of an attempt's session, and the harness's commit of its changes. */
export interface AttemptResult {
  readonly status: AgentSessionResult['status'];
  readonly commit: string | null;
  readonly durationMs: number;
  readonly usage: Usage;
  readonly finalMessage: string;
  /** Set when the session did not complete: why, with the end of its transcript. */
  readonly failure: string | undefined;
  /** Sessions that ended on a rate limit and were retried after a wait. */
  readonly rateLimitWaits?: number;
  /** What the guards on the session's uncommitted changes did (data: it travels from remote workers). */
  readonly guards?: {
    readonly firings: readonly GuardFiring[];
    readonly rejections: readonly string[];
    readonly corrections: readonly string[];
  };
}

export function planAttempt(context: ParallelContext, task: TaskState, base: string): AttemptPlan {
  const { loop } = context;
  const attempt = task.attempts + 1;
  const features = readFeatureList(loop.workspace);
  return {
    runId: loop.runId,
    task: task.spec.id,
    attempt,
    base,
    prompt: buildTaskPrompt({
      goal: loop.state.goal,
      task: task.spec,
      attempt,
      features: features.ok ? features.list.features : [],
      landed: task.spec.dependsOn,
      lastReturn: task.lastReturn,
    }),
    writable: loop.config.parallel.scopeInSandbox ? scopeFolders(task.spec.scope) : undefined,
    timeoutMs: loop.agentTimeoutMs,
    portBase: loop.config.parallel.portBase,
    portsPerWorker: loop.config.parallel.portsPerWorker,
  };
}

/** The attempt's evidence folder, with the prompt it was given. */
export function recordPlan(context: ParallelContext, plan: AttemptPlan): string {
  const dir = attemptDir(context, plan.task, plan.attempt);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'prompt.md'), plan.prompt);
  return dir;
}

export interface ExecuteInput {
  readonly plan: AttemptPlan;
  /** A fresh checkout of `plan.base`, on the task's branch. */
  readonly worktree: string;
  readonly agent: Agent;
  /** Where the attempt's session runs (the run's sandbox, or the one a queue worker prepared). */
  readonly sandbox: Sandbox;
  readonly env: NodeJS.ProcessEnv;
  /** The worker slot on this machine (1..): its port range. */
  readonly slot: number;
  readonly signal: AbortSignal;
  readonly transcriptPath: string;
  /** A rate-limited session is retried here, after a backoff, instead of failing the attempt. */
  readonly rateLimits: Config['rateLimits'];
  /** The guards on the session's uncommitted changes (the serial loop's, from baton.yaml). */
  readonly guards: Config['guards'];
  /** Where the guards move scratch files the session left (outside the worktree). */
  readonly scratchDir: string;
  /** A checkout whose `.baton/tmp` holds the harness's temp files (the worktree's own is worker-writable). */
  readonly tempRoot?: string;
}

/**
 * Run one attempt in its worktree, wherever that is: a fresh agent session with the environment that
 * keeps parallel workers apart (own port range, own scratch folder, who they are), the guards every mode
 * shares on what it left uncommitted, then the harness's commit of whatever stands, with the trailer that
 * identifies the attempt on any branch.
 */
export async function executeAttempt(input: ExecuteInput): Promise<AttemptResult> {
  const { plan, worktree } = input;
  const features = readFeatureList(worktree);
  const { result: session, waits } = await withRateLimitRetries({
    start: (attempt) => {
      // The scope's folders must exist to be bound writable; made without following a planted link.
      for (const folder of plan.writable ?? []) {
        openDirectoryInside(worktree, folder, { create: true })?.close();
      }
      return runAgentSession({
        agent: input.agent,
        sandbox: input.sandbox,
        identity: {
          runId: plan.runId,
          role: 'worker',
          workspace: worktree,
          task: {
            id: plan.task,
            attempt: plan.attempt,
            slot: input.slot,
            portBase: plan.portBase,
            portCount: plan.portsPerWorker,
          },
        },
        prompt: plan.prompt,
        env: input.env,
        timeoutMs: plan.timeoutMs,
        signal: input.signal,
        transcriptPath:
          attempt === 1
            ? input.transcriptPath
            : input.transcriptPath.replace(/(\.log)?$/, `-retry-${attempt - 1}.log`),
        writableInside: plan.writable,
      });
    },
    // Not the task's failure: its partial work is kept under a ref, the worktree put back to its base.
    setAside: (attempt) =>
      saveAndReset(
        worktree,
        `refs/baton/rate-limited/${plan.runId}/${plan.task}-${plan.attempt}-${attempt}`,
        plan.base,
        `baton: partial work of a rate-limited session (task ${plan.task}, attempt ${plan.attempt})`,
      ),
    limits: input.rateLimits,
    signal: input.signal,
  });
  const guarded =
    session.status === 'completed' && features.ok
      ? await guardUncommittedWork(
          worktree,
          features.list,
          input.guards,
          { dir: input.scratchDir, shown: "the harness's scratch folder" },
          input.tempRoot ?? worktree,
        )
      : undefined;
  const committed = await commitWork(
    worktree,
    `baton: task ${plan.task}: ${head(firstLine(session.finalMessage), 100) || 'work'}\n\nBaton-Task: ${plan.runId}/${plan.task}/${plan.attempt}`,
    { dir: join(input.scratchDir, 'uncommittable'), shown: "the harness's scratch folder" },
  );
  const commit = committed.ok ? committed.commit : null;
  const uncommittable: GuardFiring[] = committed.ok
    ? []
    : [{ guard: 'uncommittable', action: 'rejected', details: [committed.reason] }];
  return {
    status: session.status,
    commit,
    durationMs: Math.round(session.durationMs),
    usage: session.usage,
    finalMessage: head(session.finalMessage, 4_000),
    failure: session.status === 'completed' ? undefined : sessionFailure(session),
    rateLimitWaits: waits,
    ...(guarded === undefined && committed.ok
      ? {}
      : {
          guards: {
            firings: [...(guarded?.firings ?? []), ...uncommittable],
            rejections: [...(guarded?.rejections ?? []), ...(committed.ok ? [] : [committed.reason])],
            corrections: guarded?.corrections ?? [],
          },
        }),
  };
}

/** Record an attempt's result (event, evidence) and decide whether it may queue for merge. */
export async function settleAttempt(
  context: ParallelContext,
  plan: AttemptPlan,
  worker: number,
  result: AttemptResult,
): Promise<AttemptOutcome> {
  const { loop } = context;
  const dir = attemptDir(context, plan.task, plan.attempt);
  writeFileSync(join(dir, 'handoff.md'), result.finalMessage);
  loop.emit({
    type: 'task.worked',
    task: plan.task,
    attempt: plan.attempt,
    worker,
    status: result.status,
    commit: result.commit,
    durationMs: result.durationMs,
    usage: result.usage,
    finalMessage: head(result.finalMessage, 2_000),
    ...(result.rateLimitWaits === undefined || result.rateLimitWaits === 0
      ? {}
      : { rateLimitWaits: result.rateLimitWaits }),
  });
  for (const firing of result.guards?.firings ?? []) {
    loop.emit({ type: 'guard.fired', iteration: 0, task: plan.task, ...firing });
  }
  // Any worker that reached the event log is caught here; which one it was is not known (they run at once).
  const logGuard = guardEventLog(loop.log);
  if (logGuard !== undefined) {
    loop.emit({
      type: 'guard.fired',
      iteration: 0,
      ...logGuard.firing,
      details: [...logGuard.firing.details, `found when task ${plan.task}'s attempt ${plan.attempt} ended`],
    });
  }
  if (result.commit !== null) {
    writeFileSync(join(dir, 'diff.patch'), await diffBetween(loop.workspace, plan.base, result.commit));
  }
  if (result.status !== 'completed') {
    return { landed: false, reason: 'session-failed', diagnostics: result.failure ?? result.status };
  }
  // What the guards refused comes first: an attempt whose only change was undone changed "nothing".
  const rejections = result.guards?.rejections ?? [];
  if (rejections.length > 0) {
    return { landed: false, reason: 'refused', diagnostics: rejections.join('\n') };
  }
  if (result.commit === null) {
    const task = parallelState(context).tasks[plan.task];
    const parked = loop.state.parked.map((entry) => entry.feature);
    const failing = readFeatureList(loop.workspace);
    const asked = questionEvents({
      enabled: loop.config.guards.questions,
      finalMessage: result.finalMessage,
      changedSomething: false,
      failing: failing.ok
        ? failing.list.features
            .filter((feature) => feature.status === 'failing' && !parked.includes(feature.id))
            .map((feature) => feature.id)
        : [],
      focus: task?.spec.features[0],
      iteration: 0,
      task: { id: plan.task, features: task?.spec.features ?? [] },
    });
    for (const event of asked) loop.emit(event);
    const question = asked.find((event) => event.type === 'question.asked');
    if (question?.type === 'question.asked') {
      return {
        landed: false,
        reason: 'no-changes',
        diagnostics: `the worker asked a question instead of working: ${head(question.question, 1_000)}`,
        abandon: `waiting for an answer: ${head(question.question, 200)}`,
      };
    }
    // What the guards put back (baton.yaml, PROGRESS.md...) is why nothing is left: the next attempt reads it.
    const corrections = result.guards?.corrections ?? [];
    return {
      landed: false,
      reason: 'no-changes',
      diagnostics: [
        `the worker changed nothing; it said: ${head(result.finalMessage, 1_000)}`,
        ...corrections,
      ].join('\n'),
    };
  }
  return { landed: true, commit: result.commit };
}

/**
 * One attempt on this machine: a fresh worktree at the integration tip on the task's branch, the
 * session in it, and the settlement. The worktree is removed afterwards; the work stays on the branch.
 */
export async function runTaskAttempt(
  context: ParallelContext,
  task: TaskState,
  worker: number,
  base: string,
): Promise<AttemptOutcome> {
  const { loop } = context;
  const plan = planAttempt(context, task, base);
  const branch = taskBranch(loop.runId, plan.task);
  const worktree = join(runWorktreesDir(loop.workspace, loop.runId), plan.task);
  const dir = recordPlan(context, plan);
  await context.repository.run(() => addTaskWorktree(loop.workspace, worktree, branch, base));
  loop.emit({ type: 'task.started', task: plan.task, attempt: plan.attempt, worker, branch, base, worktree });
  try {
    const result = await executeAttempt({
      plan,
      worktree,
      agent: loop.agent,
      sandbox: loop.sandbox,
      env: loop.env,
      slot: worker,
      signal: loop.signal,
      transcriptPath: join(dir, 'transcript.log'),
      rateLimits: loop.config.rateLimits,
      guards: loop.config.guards,
      scratchDir: join(loop.workspace, '.baton', 'scratch', loop.runId, `${plan.task}-${plan.attempt}`),
      tempRoot: loop.workspace,
    });
    return await settleAttempt(context, plan, worker, result);
  } finally {
    await context.repository.run(() => removeWorktree(loop.workspace, worktree));
  }
}
