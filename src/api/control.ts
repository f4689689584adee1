import { resolve } from 'node:path';
import { clearPause, clearStop, appendSteer, requestPause, requestStop } from '../run/control.ts';
import { isLockLive, readRunLock } from '../run/lock.ts';
import { newestRunId } from './inspect.ts';
import { resumeRun, type ResumeOptions, type RunLoopResult } from './run.ts';

export interface ControlResult {
  /** Whether a live harness holds the workspace (and will act on the request between iterations). */
  readonly live: boolean;
  readonly message: string;
}

function liveHarness(workspace: string): { pid: number; runId: string } | null {
  const lock = readRunLock(workspace);
  return lock !== null && isLockLive(lock) ? { pid: lock.pid, runId: lock.runId } : null;
}

/** Ask the running harness to pause after the current iteration. */
export function pauseRun(workspace: string): ControlResult {
  const dir = resolve(workspace);
  const live = liveHarness(dir);
  // A request belongs to the run it was made to: with none running there is nothing to pause, and a
  // later run must not start paused by a request nobody remembers.
  if (live === null) {
    return {
      live: false,
      message:
        'no harness is running in this workspace; nothing to pause (a stopped run stays stopped until `baton resume`)',
    };
  }
  requestPause(dir);
  return {
    live: true,
    message: `harness pid ${live.pid} will pause after the current iteration; \`baton resume\` lets it go on`,
  };
}

/** Ask the running harness to stop: between iterations, or at once (`now`: the iteration is put aside). */
export function stopRun(workspace: string, now: boolean): ControlResult {
  const dir = resolve(workspace);
  const live = liveHarness(dir);
  if (live === null) {
    clearStop(dir);
    return { live: false, message: 'no harness is running in this workspace; nothing to stop' };
  }
  requestStop(dir, now, 'a person (baton stop)');
  return {
    live: true,
    message: now
      ? `harness pid ${live.pid} is stopping now: the current iteration is put aside (its work kept under a ref)`
      : `harness pid ${live.pid} will stop after the current iteration`,
  };
}

/** Leave a message for the next worker's prompt; `unpark` lets parked features be worked on again. */
export function steerRun(workspace: string, message: string, unpark: readonly string[] = []): ControlResult {
  const dir = resolve(workspace);
  // Steering belongs to one run: the newest (the running one, or the one `baton run` would continue).
  const runId = newestRunId(
    dir,
    'this workspace has no run to steer yet',
    'start one with `baton run`; for the first iteration, put what the worker should know in AGENTS.md or SPEC.md',
  );
  appendSteer(dir, runId, message, unpark);
  const live = liveHarness(dir);
  return {
    live: live !== null,
    message: `the next iteration's prompt will carry this message${unpark.length > 0 ? ` and ${unpark.join(', ')} will be unparked` : ''}`,
  };
}

export type ResumeOutcome =
  { readonly unpaused: true; readonly message: string } | ({ readonly unpaused: false } & RunLoopResult);

/** Let a paused harness go on, or, when none is running, resume the run in this process. */
export async function resumeOrUnpause(options: ResumeOptions): Promise<ResumeOutcome> {
  const dir = resolve(options.workspace);
  const live = liveHarness(dir);
  if (live !== null) {
    const wasPaused = clearPause(dir);
    return {
      unpaused: true,
      message: wasPaused
        ? `harness pid ${live.pid} goes on`
        : `harness pid ${live.pid} is running and was not paused`,
    };
  }
  clearPause(dir);
  return { unpaused: false, ...(await resumeRun({ ...options, workspace: dir })) };
}
