import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { runGit } from '../git/git.ts';
import { harnessDir } from '../workspace/paths.ts';

/**
 * Git worktrees for parallel workers: one per task attempt, plus one where the merge queue rebases and
 * verifies. They live under .baton/worktrees/<run> (git-ignored, read-only to every sandbox but their
 * own). Commands that change the repository's shared refs or worktree list go through one lock.
 */
export function runWorktreesDir(workspace: string, runId: string): string {
  return join(harnessDir(workspace), 'worktrees', runId);
}

/** Task branches live apart from run branches (`baton/<run-id>`): a ref cannot be both a branch and a folder of branches. */
export function taskBranch(runId: string, taskId: string): string {
  return `baton-tasks/${runId}/task/${taskId}`;
}

/** Where a refused attempt's work is kept: nothing a worker did is lost. */
export function returnedRef(runId: string, taskId: string, attempt: number): string {
  return `refs/baton/returned/${runId}/${taskId}/${attempt}`;
}

/** Serializes the git commands that touch the repository's shared state (refs, worktree list). */
export class RepositoryLock {
  #tail: Promise<unknown> = Promise.resolve();

  run<T>(work: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(work, work);
    this.#tail = result.catch(() => undefined);
    return result;
  }
}

/** A fresh worktree at `base` on `branch` (reset to base if it existed). */
export async function addTaskWorktree(
  workspace: string,
  path: string,
  branch: string,
  base: string,
): Promise<void> {
  await removeWorktree(workspace, path);
  await runGit(workspace, ['worktree', 'add', '--quiet', '-B', branch, path, base]);
}

/**
 * The merge queue's worktree, detached at `commit`: reused from one merge to the next (a checkout is
 * cheaper than a new worktree), rebuilt when it is missing or in a state a checkout cannot fix.
 */
export async function detachedWorktreeAt(workspace: string, path: string, commit: string): Promise<void> {
  if (existsSync(join(path, '.git'))) {
    await runGit(path, ['rebase', '--abort'], true);
    const checkout = await runGit(path, ['checkout', '--quiet', '--force', '--detach', commit], true);
    if (checkout.exitCode === 0) {
      await runGit(path, ['clean', '-ffdxq'], true);
      return;
    }
  }
  await removeWorktree(workspace, path);
  await runGit(workspace, ['worktree', 'add', '--quiet', '--detach', path, commit]);
}

export async function removeWorktree(workspace: string, path: string): Promise<void> {
  if (existsSync(path)) {
    await runGit(workspace, ['worktree', 'remove', '--force', '--force', path], true);
    rmSync(path, { recursive: true, force: true });
  }
  await runGit(workspace, ['worktree', 'prune'], true);
}

export async function deleteBranch(workspace: string, branch: string): Promise<void> {
  await runGit(workspace, ['branch', '--quiet', '-D', branch], true);
}

export async function branchCommit(workspace: string, branch: string): Promise<string | null> {
  const result = await runGit(
    workspace,
    ['rev-parse', '--verify', '--quiet', `refs/heads/${branch}^{commit}`],
    true,
  );
  return result.exitCode === 0 ? result.stdout.trim() : null;
}

/** Remove every worktree of a run (after a crash: whatever was in them is on a branch or expendable). */
export async function removeRunWorktrees(workspace: string, runId: string): Promise<string[]> {
  const dir = runWorktreesDir(workspace, runId);
  const removed: string[] = [];
  if (existsSync(dir)) {
    for (const name of readdirSync(dir)) {
      await removeWorktree(workspace, join(dir, name));
      removed.push(name);
    }
  }
  await runGit(workspace, ['worktree', 'prune'], true);
  return removed;
}
