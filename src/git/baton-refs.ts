/**
 * Every ref baton keeps lives under refs/baton/, never under refs/tags/: a project's `git describe` keeps
 * naming its own tags, and `git push --tags` never publishes a run's checkpoints.
 */

/** The checkpoint an iteration left: a state worth returning to (nothing that passed before fails). */
export function checkpointRef(runId: string, iteration: number): string {
  return `refs/baton/${runId}/checkpoint-${iteration}`;
}

/** The iteration a checkpoint name stands for: `3`, `checkpoint-3`, the ref, or a wave-1 tag name. */
export function checkpointIteration(name: string): number | null {
  const match = /^(?:.*\/)?(?:checkpoint-)?(\d+)$/.exec(name.trim());
  return match === null ? null : Number(match[1]);
}

/** The commit an iteration's checks ran on, once folded into the iteration's one commit (git.commit: one). */
export function verifiedRef(runId: string, iteration: number): string {
  return `refs/baton/${runId}/verified-${iteration}`;
}
