/**
 * The line a worker ends its final message with to claim the whole goal is met. It is only a hint: the
 * judge decides. Part of the workspace's contract (AGENTS.md and every prompt name it).
 */
export const claimDoneMarker = 'CLAIM: DONE';

export function claimsDone(finalMessage: string): boolean {
  return finalMessage.split('\n').some((line) => line.trim().toUpperCase() === claimDoneMarker);
}
