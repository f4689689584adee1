import { join } from 'node:path';
import type { LoopContext } from '../loop/context.ts';
import type { ParallelState } from '../log/task-state.ts';
import { runDir } from '../workspace/paths.ts';
import type { RepositoryLock } from './worktrees.ts';

/** What the coordinator, its workers and its merge queue share. */
export interface ParallelContext {
  /** The run: workspace (the integration checkout), config, agents, sandbox, log. */
  readonly loop: LoopContext;
  readonly workers: number;
  /** The branch tasks land on: the one checked out in the workspace. */
  readonly integrationBranch: string;
  readonly repository: RepositoryLock;
}

export function parallelState(context: ParallelContext): ParallelState {
  const state = context.loop.state.parallel;
  if (state === null) throw new Error('the run has no parallel state (run.started without workers)');
  return state;
}

/** Evidence of one task attempt: prompt, transcript, handoff, diff, merge checks. */
export function attemptDir(context: ParallelContext, taskId: string, attempt: number): string {
  return join(runDir(context.loop.workspace, context.loop.runId), 'tasks', taskId, `attempt-${attempt}`);
}
