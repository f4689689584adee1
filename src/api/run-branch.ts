import { currentBranch } from '../git/run-branch.ts';
import type { RunState } from '../log/reducer.ts';

/**
 * The branch a run worked on: the one its log records (`run.started.branch`). A log written before runs
 * had branches worked in place, on what is the current branch (null: HEAD is detached now).
 */
export async function runBranchOf(state: RunState, workspace: string): Promise<string | null> {
  return state.branch ?? (await currentBranch(workspace));
}
