import { changedPaths, runGit, untrackedPaths } from '../git/git.ts';
import { moveToScratch } from '../guards/pollution.ts';

/**
 * A planner session may write one file (the plan, or TASKS.json): whatever else it changed is put back,
 * tracked files restored and new files moved to scratch (nothing deleted). Returns what was put back.
 */
export async function keepOnlyPlannerFile(
  checkout: string,
  allowed: string,
  scratchDir: string,
): Promise<string[]> {
  const untracked = (await untrackedPaths(checkout)).filter((path) => path !== allowed);
  const tracked = (await changedPaths(checkout)).filter(
    (path) => path !== allowed && !untracked.includes(path),
  );
  if (tracked.length > 0) await runGit(checkout, ['checkout', 'HEAD', '--', ...tracked]);
  if (untracked.length > 0) moveToScratch(checkout, scratchDir, untracked);
  return [...tracked, ...untracked];
}
