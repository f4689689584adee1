import {
  changedPaths,
  commitAll,
  headCommit,
  resetHard,
  runGit,
  untrackedPaths,
  updateRef,
} from '../git/git.ts';
import type { LoopContext } from './context.ts';

/** Keep refused work under a ref (nothing is lost) and put the branch back. */
export async function rollBack(
  context: LoopContext,
  iteration: number,
  work: string | null,
  to: string,
  reason: string,
): Promise<void> {
  let savedAs: string | null = null;
  if (work !== null && work !== to) {
    savedAs = `refs/baton/rejected/${context.runId}/${iteration}`;
    await updateRef(context.workspace, savedAs, work);
  }
  await resetHard(context.workspace, to);
  context.emit({ type: 'iteration.rolled-back', iteration, to, savedAs, reason });
}

/**
 * Save everything an unfinished iteration left (its commits, changes and new files) under a ref and put
 * the workspace back to where the iteration started. Used when a run is interrupted mid-iteration (stop
 * --now) and when a crashed run is resumed: the iteration is done again, from a clean start.
 */
export async function saveAndReset(
  workspace: string,
  ref: string,
  startCommit: string,
  message: string,
): Promise<string | null> {
  const dirty = (await changedPaths(workspace)).length > 0 || (await untrackedPaths(workspace)).length > 0;
  if (dirty) await commitAll(workspace, message);
  const head = await headCommit(workspace);
  let savedAs: string | null = null;
  if (head !== null && head !== startCommit) {
    await updateRef(workspace, ref, head);
    savedAs = ref;
  }
  await resetHard(workspace, startCommit);
  await runGit(workspace, ['clean', '-fd', '--quiet']);
  return savedAs;
}
