import { join } from 'node:path';
import { setAsideLateRepositories } from '../core/set-aside.ts';
import { changedPaths, stashAll } from '../git/git.ts';
import type { LoopContext } from './context.ts';

/** What checks left in the tree, and the refusal for the judge when a nested repository was moved aside. */
export interface Tidied {
  readonly left: readonly string[];
  readonly refusal: string | undefined;
}

/**
 * Checks run the project's (and the worker's) code, after the guards looked: what they leave uncommitted
 * is stashed, never deleted, and a nested repository they made (which the stash would skip and the next
 * `git add` would record) is moved aside first (core/set-aside.ts). `folder` names the place in the
 * iteration's scratch folder and `why` the stash.
 */
export async function tidyAfterChecks(
  context: LoopContext,
  iteration: number,
  folder: string,
  why: string,
): Promise<Tidied> {
  const left = await changedPaths(context.workspace);
  if (left.length === 0) return { left, refusal: undefined };
  const late = setAsideLateRepositories(context.workspace, left, {
    dir: join(context.workspace, '.baton', 'scratch', context.runId, String(iteration), folder),
    shown: `.baton/scratch/${context.runId}/${iteration}/${folder}/`,
  });
  if (late !== undefined) {
    context.emit({
      type: 'guard.fired',
      iteration,
      guard: 'nested-repository',
      action: 'moved',
      details: late.details,
    });
  }
  const stash = await stashAll(context.workspace, why);
  context.emit({ type: 'tree.polluted', iteration, paths: left, stash });
  return { left, refusal: late?.reason };
}
