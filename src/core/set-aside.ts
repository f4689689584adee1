import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { changedPaths, commitAll, runGit, type GitIdentity } from '../git/git.ts';
import { isWorkerContentError } from '../git/worker-content.ts';
import { describeNestedRepository, detectNestedRepositories } from '../guards/nested-repository.ts';
import { describePaths, moveToScratch } from '../guards/pollution.ts';

export type WorkCommit =
  { readonly ok: true; readonly commit: string | null } | { readonly ok: false; readonly reason: string };

/**
 * The harness's commit of a worker's changes. Content git cannot record (an encoding it refuses, a
 * repository it would enter, a path it rejects) refuses the attempt, never ends the run: what the worker
 * left is moved, as it is, to a scratch folder outside the tree (nothing deleted), and the tree is put
 * back to its last commit.
 */
export async function commitWork(
  checkout: string,
  message: string,
  scratch: { readonly dir: string; readonly shown: string },
  identity?: GitIdentity,
  staged?: () => Promise<void>,
): Promise<WorkCommit> {
  try {
    return { ok: true, commit: await commitAll(checkout, message, identity, staged) };
  } catch (error) {
    if (!isWorkerContentError(error)) throw error;
    await runGit(checkout, ['reset', '--quiet'], true);
    const left = (await changedPaths(checkout)).filter((path) => existsSync(join(checkout, path)));
    const moved = moveToScratch(checkout, scratch.dir, left);
    await runGit(checkout, ['checkout', '--quiet', 'HEAD', '--', '.'], true);
    return {
      ok: false,
      reason: `git could not record the worker's changes (${error.message}); they were moved to ${scratch.shown} (${describePaths(moved.moved)})`,
    };
  }
}

export interface LateRepositories {
  /** One sentence per repository found. */
  readonly details: readonly string[];
  /** Why the iteration cannot be "done", for the judge and the next prompt. */
  readonly reason: string;
}

/**
 * Nested repositories that appeared after the guards looked: verification runs the worker's code again
 * (a verify command, an oracle), and what it leaves is stashed, but `git stash` skips a nested
 * repository, so it would stay in the tree, be recorded by the next `git add` and have its config
 * (fsmonitor, filters) run by any later status, the person's included. They are moved, as they are, to
 * a scratch folder outside the tree. `changed` is what `git status` listed after verification.
 * Undefined when there were none.
 */
export function setAsideLateRepositories(
  checkout: string,
  changed: readonly string[],
  scratch: { readonly dir: string; readonly shown: string },
): LateRepositories | undefined {
  // git lists an untracked nested repository as its folder (`vendor/`): the paths status gave suffice.
  const findings = detectNestedRepositories({ worktree: checkout, paths: changed });
  if (findings.length === 0) return undefined;
  const folders = [
    ...new Set(findings.filter((entry) => entry.kind !== 'gitlink').map((entry) => entry.path)),
  ];
  const moved = moveToScratch(checkout, scratch.dir, folders);
  const details = [
    ...findings.map(describeNestedRepository),
    ...moved.refused.map(
      (entry) => `${describePaths([entry.path], 1)} could not be moved aside (${entry.reason})`,
    ),
  ];
  return {
    details,
    reason: `verification left nested git repositories in the tree (${details.join('; ')}); they were moved to ${scratch.shown}: checks must not create repositories`,
  };
}
