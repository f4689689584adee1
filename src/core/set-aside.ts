import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { changedPaths, commitAll, runGit } from '../git/git.ts';
import { isWorkerContentError } from '../git/worker-content.ts';
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
): Promise<WorkCommit> {
  try {
    return { ok: true, commit: await commitAll(checkout, message) };
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
