import { attemptsStarted, readyTasks, orderedTasks, type ParallelState } from '../log/task-state.ts';

export interface ScheduleInput {
  readonly state: ParallelState;
  /** Worker slots with nothing to do, lowest first. */
  readonly freeWorkers: readonly number[];
  /** Tasks with an attempt in flight. */
  readonly running: ReadonlySet<string>;
  readonly merging: boolean;
  /** A stop was decided (budget, a person): start nothing new, let the merges of finished work go on. */
  readonly stopping: boolean;
  /** The run was aborted or a harness part broke: start nothing, merge nothing. */
  readonly halted: boolean;
  /** budgets.iterations: worker sessions over the whole run. */
  readonly sessionBudget: number;
}

export interface Schedule {
  readonly start: readonly { readonly task: string; readonly worker: number }[];
  readonly merge: { readonly task: string; readonly commit: string } | undefined;
}

/**
 * What the coordinator starts next. Pure: ready tasks in plan order on free workers within the session
 * budget, and the first task awaiting merge when the queue is free (one merge at a time).
 */
export function decideSchedule(input: ScheduleInput): Schedule {
  const start: { task: string; worker: number }[] = [];
  if (!input.stopping && !input.halted) {
    const free = [...input.freeWorkers];
    let started = attemptsStarted(input.state);
    for (const task of readyTasks(input.state)) {
      const worker = free[0];
      if (worker === undefined || started >= input.sessionBudget) break;
      if (input.running.has(task.spec.id)) continue;
      free.shift();
      start.push({ task: task.spec.id, worker });
      started += 1;
    }
  }
  const waiting =
    input.merging || input.halted
      ? undefined
      : orderedTasks(input.state).find(
          (task) => task.status === 'awaiting-merge' && task.workCommit !== null,
        );
  return {
    start,
    merge: waiting?.workCommit == null ? undefined : { task: waiting.spec.id, commit: waiting.workCommit },
  };
}
