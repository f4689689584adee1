import type { TaskState } from '../log/task-state.ts';
import type { ParallelContext } from './context.ts';
import { runTaskAttempt, type AttemptOutcome } from './task-worker.ts';

/**
 * How an attempt reaches a worker: on this machine (a worktree and a session here), or through a queue
 * to worker processes on any machine. The plan, the merge queue and the judge are the same either way;
 * an attempt's outcome is known once its commit is on the task's local branch.
 */
export interface TaskTransport {
  readonly name: 'local' | 'queue';
  runAttempt(
    context: ParallelContext,
    task: TaskState,
    worker: number,
    base: string,
  ): Promise<AttemptOutcome>;
  /**
   * Wait again for an attempt a previous coordinator started (it may still be running on a worker).
   * Absent: attempts do not outlive their coordinator and are returned to the queue after a crash.
   */
  readonly resumeAttempt?: (context: ParallelContext, task: TaskState) => Promise<AttemptOutcome>;
  close(): Promise<void>;
}

export const localTransport: TaskTransport = {
  name: 'local',
  runAttempt: runTaskAttempt,
  close: () => Promise.resolve(),
};
