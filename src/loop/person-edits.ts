import { applyLeaveOut, planUntracked } from '../core/leave-out.ts';
import { changedPaths, commitAll, untrackedPaths } from '../git/git.ts';
import { harnessIdentity } from '../git/run-git.ts';
import { describePaths } from '../guards/pollution.ts';
import { head } from '../util/text.ts';
import type { LoopContext } from './context.ts';

/**
 * Changes a person made while the run waited (between iterations, between merges) are theirs: they are
 * committed under the person's git identity, before the harness looks at the tree, and the log says so
 * (`human.edited`). `at` is the iteration the commit precedes (0 in a parallel run).
 */
export async function commitPersonsEdits(context: LoopContext, at: number): Promise<void> {
  // Never a secret, a dependency folder or a log they left untracked (those are ignored locally instead).
  await applyLeaveOut(context.workspace, await planUntracked(context.workspace));
  const edits = [
    ...new Set([...(await changedPaths(context.workspace)), ...(await untrackedPaths(context.workspace))]),
  ];
  if (edits.length === 0) return;
  const commit = await commitAll(
    context.workspace,
    `Changes made between iterations of baton run ${context.runId} (${head(describePaths(edits, 3), 100)})`,
    context.person ?? undefined,
  );
  const author = context.person ?? {
    name: harnessIdentity.GIT_AUTHOR_NAME,
    email: harnessIdentity.GIT_AUTHOR_EMAIL,
  };
  context.emit({
    type: 'human.edited',
    iteration: at,
    paths: edits,
    commit,
    author: `${author.name} <${author.email}>`,
  });
}
