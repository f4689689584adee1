import type { AgentSessionResult } from '../agents/agent.ts';
import type { Usage } from '../log/events.ts';
import { head } from '../util/text.ts';
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

/** A planner session as the log records it: its status, what it spent, why it failed. */
export function plannerSession(session: AgentSessionResult): {
  status: AgentSessionResult['status'];
  usage: Usage;
  error?: string;
} {
  return {
    status: session.status,
    usage: session.usage,
    ...(session.status === 'completed' || session.error === undefined
      ? {}
      : { error: head(session.error, 500) }),
  };
}
