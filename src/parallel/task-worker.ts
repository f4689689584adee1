import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Agent, AgentSessionResult } from '../agents/agent.ts';
import { changedFiles, commitAll, diffBetween, listTree, runGit, unifiedDiff } from '../git/git.ts';
import type { Config } from '../config/resolve.ts';
import { rateLimitWaitMs } from '../loop/session.ts';
import { sleep } from '../util/sleep.ts';
import { parseUnifiedDiff, reviewDiff } from '../guards/diff-review.ts';
import type { TaskReturnReason, Usage } from '../log/events.ts';
import type { TaskState } from '../log/task-state.ts';
import { matchesAny } from '../util/glob.ts';
import { firstLine, head, tail } from '../util/text.ts';
import { readFeatureList } from '../workspace/features.ts';
import { attemptDir, type ParallelContext } from './context.ts';
import { harnessOwnedPaths } from './task-graph.ts';
import { buildTaskPrompt } from './task-prompt.ts';
import { addTaskWorktree, removeWorktree, runWorktreesDir, taskBranch } from './worktrees.ts';

export type AttemptOutcome =
  | { readonly landed: false; readonly reason: TaskReturnReason; readonly diagnostics: string }
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
): Promise<AttemptOutcome> {
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
      diagnostics: `changed files outside the task's scope (${task.spec.scope.join(', ')}): ${outside.join(', ')}. Change only files in scope; if the task cannot be done that way, say so in your note.`,
    };
  }
  const { guards } = context.loop.config;
  const violations = reviewDiff({
    files,
    lines: parseUnifiedDiff(await unifiedDiff(worktree, base, commit)),
    testFiles: guards.testFiles,
    protectedPaths: guards.protectedPaths,
    locked: context.loop.locked,
    lockedNow: context.loop.locked.size === 0 ? new Map() : await listTree(worktree, commit),
    testGaming: guards.testGaming,
    ignoreDirectives: guards.ignoreDirectives,
  });
  if (violations.length > 0) {
    return {
      landed: false,
      reason: 'refused',
      diagnostics: violations.map((violation) => `${violation.guard}: ${violation.detail}`).join('\n'),
    };
  }
  return { landed: true, commit };
}

/** Why a session failed, with the end of its transcript (where a crash says what happened). */
function sessionFailure(session: AgentSessionResult): string {
  const transcript = existsSync(session.transcriptPath) ? readFileSync(session.transcriptPath, 'utf8') : '';
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
  readonly env: NodeJS.ProcessEnv;
  /** The worker slot on this machine (1..): its port range. */
  readonly slot: number;
  readonly signal: AbortSignal;
  readonly transcriptPath: string;
  /** A rate-limited session is retried here, after a backoff, instead of failing the attempt. */
  readonly rateLimits: Config['rateLimits'];
}

/**
 * Run one attempt in its worktree, wherever that is: a fresh agent session with the environment that
 * keeps parallel workers apart (own port range, own scratch folder, who they are), then the harness's
 * commit of whatever changed, with the trailer that identifies the attempt on any branch.
 */
export async function executeAttempt(input: ExecuteInput): Promise<AttemptResult> {
  const { plan, worktree } = input;
  const sessionDir = mkdtempSync(join(tmpdir(), 'baton-worker-'));
  const scratch = join(sessionDir, 'tmp');
  mkdirSync(scratch);
  try {
    let rateLimitWaits = 0;
    let session: AgentSessionResult;
    for (;;) {
      for (const folder of plan.writable ?? []) mkdirSync(join(worktree, folder), { recursive: true });
      session = await runSession(input, sessionDir, scratch);
      const limit = session.rateLimit;
      if (limit === undefined || rateLimitWaits >= input.rateLimits.retries || input.signal.aborted) break;
      // Not the task's failure: put the worktree back to its base, wait, and ask again.
      rateLimitWaits += 1;
      await runGit(worktree, ['reset', '--quiet', '--hard', 'HEAD']);
      await runGit(worktree, ['clean', '-fdq']);
      await sleep(rateLimitWaitMs(input.rateLimits, rateLimitWaits, limit.retryAfterMs), input.signal);
    }
    const commit = await commitAll(
      worktree,
      `baton: task ${plan.task}: ${head(firstLine(session.finalMessage), 100) || 'work'}\n\nBaton-Task: ${plan.runId}/${plan.task}/${plan.attempt}`,
    );
    return {
      status: session.status,
      commit,
      durationMs: Math.round(session.durationMs),
      usage: session.usage,
      finalMessage: head(session.finalMessage, 4_000),
      failure: session.status === 'completed' ? undefined : sessionFailure(session),
      rateLimitWaits,
    };
  } finally {
    rmSync(sessionDir, { recursive: true, force: true });
  }
}

function runSession(input: ExecuteInput, sessionDir: string, scratch: string): Promise<AgentSessionResult> {
  const { plan, worktree } = input;
  return input.agent.startSession({
    ...(plan.writable === undefined ? {} : { writableInside: plan.writable }),
    prompt: plan.prompt,
    cwd: worktree,
    env: {
      ...input.env,
      BATON_RUN_ID: plan.runId,
      BATON_ROLE: 'worker',
      BATON_WORKSPACE: worktree,
      BATON_TASK_ID: plan.task,
      BATON_TASK_ATTEMPT: String(plan.attempt),
      BATON_WORKER: String(input.slot),
      BATON_PORT_BASE: String(plan.portBase + (input.slot - 1) * plan.portsPerWorker),
      BATON_PORT_COUNT: String(plan.portsPerWorker),
      TMPDIR: scratch,
    },
    timeoutMs: plan.timeoutMs,
    signal: input.signal,
    transcriptPath: input.transcriptPath,
    sessionDir,
  });
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
  if (result.commit !== null) {
    writeFileSync(join(dir, 'diff.patch'), await diffBetween(loop.workspace, plan.base, result.commit));
  }
  if (result.status !== 'completed') {
    return { landed: false, reason: 'session-failed', diagnostics: result.failure ?? result.status };
  }
  if (result.commit === null) {
    return {
      landed: false,
      reason: 'no-changes',
      diagnostics: `the worker changed nothing; it said: ${head(result.finalMessage, 1_000)}`,
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
      env: loop.env,
      slot: worker,
      signal: loop.signal,
      transcriptPath: join(dir, 'transcript.log'),
      rateLimits: loop.config.rateLimits,
    });
    return await settleAttempt(context, plan, worker, result);
  } finally {
    await context.repository.run(() => removeWorktree(loop.workspace, worktree));
  }
}
