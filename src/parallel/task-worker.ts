import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AgentSessionResult } from '../agents/agent.ts';
import { changedFiles, commitAll, diffBetween, listTree, unifiedDiff } from '../git/git.ts';
import { parseUnifiedDiff, reviewDiff } from '../guards/diff-review.ts';
import type { TaskReturnReason } from '../log/events.ts';
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
 * The environment that keeps parallel workers out of each other's way: their own port range and
 * scratch folder, and who they are.
 */
export function workerEnvironment(
  context: ParallelContext,
  task: TaskState,
  attempt: number,
  worker: number,
  worktree: string,
  scratch: string,
): NodeJS.ProcessEnv {
  const { parallel } = context.loop.config;
  const portBase = parallel.portBase + (worker - 1) * parallel.portsPerWorker;
  return {
    ...context.loop.env,
    BATON_RUN_ID: context.loop.runId,
    BATON_ROLE: 'worker',
    BATON_WORKSPACE: worktree,
    BATON_TASK_ID: task.spec.id,
    BATON_TASK_ATTEMPT: String(attempt),
    BATON_WORKER: String(worker),
    BATON_PORT_BASE: String(portBase),
    BATON_PORT_COUNT: String(parallel.portsPerWorker),
    TMPDIR: scratch,
  };
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

/**
 * One attempt at a task: a fresh worktree at the integration tip, a fresh agent session in it, the
 * harness's commit of whatever it changed, and the review (scope, test gaming) before it may queue for
 * merge. The worktree is removed afterwards; the work stays on the task's branch.
 */
export async function runTaskAttempt(
  context: ParallelContext,
  task: TaskState,
  worker: number,
  base: string,
): Promise<AttemptOutcome> {
  const { loop } = context;
  const attempt = task.attempts + 1;
  const id = task.spec.id;
  const branch = taskBranch(loop.runId, id);
  const worktree = join(runWorktreesDir(loop.workspace, loop.runId), id);
  const dir = attemptDir(context, id, attempt);
  mkdirSync(dir, { recursive: true });
  await context.repository.run(() => addTaskWorktree(loop.workspace, worktree, branch, base));
  loop.emit({ type: 'task.started', task: id, attempt, worker, branch, base, worktree });
  const sessionDir = mkdtempSync(join(tmpdir(), 'baton-worker-'));
  const scratch = join(sessionDir, 'tmp');
  mkdirSync(scratch);
  try {
    const features = readFeatureList(loop.workspace);
    const prompt = buildTaskPrompt({
      goal: loop.state.goal,
      task: task.spec,
      attempt,
      features: features.ok ? features.list.features : [],
      landed: task.spec.dependsOn,
      lastReturn: task.lastReturn,
    });
    writeFileSync(join(dir, 'prompt.md'), prompt);
    const writable = loop.config.parallel.scopeInSandbox ? scopeFolders(task.spec.scope) : undefined;
    for (const folder of writable ?? []) mkdirSync(join(worktree, folder), { recursive: true });
    const session = await loop.agent.startSession({
      ...(writable === undefined ? {} : { writableInside: writable }),
      prompt,
      cwd: worktree,
      env: workerEnvironment(context, task, attempt, worker, worktree, scratch),
      timeoutMs: loop.agentTimeoutMs,
      signal: loop.signal,
      transcriptPath: join(dir, 'transcript.log'),
      sessionDir,
    });
    writeFileSync(join(dir, 'handoff.md'), session.finalMessage);
    const commit = await commitAll(
      worktree,
      `baton: task ${id}: ${head(firstLine(session.finalMessage), 100) || 'work'}\n\nBaton-Task: ${loop.runId}/${id}/${attempt}`,
    );
    loop.emit({
      type: 'task.worked',
      task: id,
      attempt,
      worker,
      status: session.status,
      commit,
      durationMs: Math.round(session.durationMs),
      usage: session.usage,
      finalMessage: head(session.finalMessage, 2_000),
    });
    if (commit !== null) writeFileSync(join(dir, 'diff.patch'), await diffBetween(worktree, base, commit));
    if (session.status !== 'completed') {
      return { landed: false, reason: 'session-failed', diagnostics: sessionFailure(session) };
    }
    if (commit === null) {
      return {
        landed: false,
        reason: 'no-changes',
        diagnostics: `the worker changed nothing; it said: ${head(session.finalMessage, 1_000)}`,
      };
    }
    return { landed: true, commit };
  } finally {
    rmSync(sessionDir, { recursive: true, force: true });
    await context.repository.run(() => removeWorktree(loop.workspace, worktree));
  }
}
