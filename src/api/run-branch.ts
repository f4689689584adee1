import { runGit } from '../git/git.ts';
import type { RunState } from '../log/reducer.ts';

/**
 * The branch a run worked on: the one place that knows. Once the run state records it (`runBranch`,
 * being added to RunState), that is the answer and the fallback below goes; until then it is the
 * workspace's current branch (a run refuses a detached HEAD, so during and after a run it is the run's
 * unless a person switched since). Null: HEAD is detached now.
 */
export async function runBranchOf(state: RunState, workspace: string): Promise<string | null> {
  const recorded = (state as { readonly runBranch?: unknown }).runBranch;
  if (typeof recorded === 'string' && recorded !== '') return recorded;
  const result = await runGit(workspace, ['symbolic-ref', '--quiet', '--short', 'HEAD'], true);
  const branch = result.stdout.trim();
  return result.exitCode === 0 && branch !== '' ? branch : null;
}
