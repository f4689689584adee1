import type { CheckResult, PlannedTask, RunEvent, TaskReturnReason, Usage } from './events.ts';
import { addUsage, emptyUsage } from './usage.ts';

/**
 * The parallel part of a run's state: the plan and where each task stands. Folded from the same log as
 * everything else, so a resumed coordinator knows which tasks landed, which were in flight (to reconcile)
 * and which wait for the merge queue.
 */
export type TaskStatus = 'pending' | 'running' | 'awaiting-merge' | 'merged' | 'abandoned';

export interface TaskState {
  readonly spec: PlannedTask;
  readonly revision: number;
  readonly status: TaskStatus;
  readonly attempts: number;
  /** The worker slot of the attempt under way (or last). */
  readonly worker: number | null;
  readonly branch: string | null;
  readonly worktree: string | null;
  /** The base the attempt under way started from. */
  readonly base: string | null;
  /** The attempt's commit on its branch, once the worker ended and the harness committed. */
  readonly workCommit: string | null;
  readonly mergedCommit: string | null;
  readonly lastReturn: { readonly reason: TaskReturnReason; readonly diagnostics: string } | null;
  readonly usage: Usage;
  readonly abandonedReason: string | null;
}

export interface ParallelState {
  readonly workers: number;
  readonly revision: number;
  readonly planAttempts: number;
  /** Task ids in plan order (all revisions). */
  readonly order: readonly string[];
  readonly tasks: Readonly<Record<string, TaskState>>;
  readonly sessions: number;
  readonly merges: number;
  readonly returns: number;
  readonly judged: number;
  /**
   * The oracles that pass on the integration branch: a merge may not break them. Measured when the
   * first plan is made (`tasks.planned`) and again by every merge, which runs all oracles on the new
   * tip. Null until a measurement is in the log (logs of version 1 did not record the first one).
   */
  readonly passingOracles: readonly string[] | null;
}

export function initialParallelState(workers: number): ParallelState {
  return {
    workers,
    revision: 0,
    planAttempts: 0,
    order: [],
    tasks: {},
    sessions: 0,
    merges: 0,
    returns: 0,
    judged: 0,
    passingOracles: null,
  };
}

function update(state: ParallelState, id: string, change: Partial<TaskState>): ParallelState {
  const task = state.tasks[id];
  if (task === undefined) return state;
  return { ...state, tasks: { ...state.tasks, [id]: { ...task, ...change } } };
}

function planned(state: ParallelState, tasks: readonly PlannedTask[], revision: number): ParallelState {
  const next: Record<string, TaskState> = { ...state.tasks };
  const order = [...state.order];
  // A new revision replaces every task that has not landed; merged tasks stay merged.
  for (const [id, task] of Object.entries(next)) {
    if (task.status !== 'merged' && !tasks.some((entry) => entry.id === id)) {
      next[id] = { ...task, status: 'abandoned', abandonedReason: `dropped by plan revision ${revision}` };
    }
  }
  for (const spec of tasks) {
    const earlier = next[spec.id];
    if (earlier?.status === 'merged') continue;
    if (!order.includes(spec.id)) order.push(spec.id);
    next[spec.id] = {
      spec,
      revision,
      status: 'pending',
      attempts: earlier?.attempts ?? 0,
      worker: null,
      branch: null,
      worktree: null,
      base: null,
      workCommit: null,
      mergedCommit: null,
      lastReturn: earlier?.lastReturn ?? null,
      usage: earlier?.usage ?? emptyUsage,
      abandonedReason: null,
    };
  }
  return { ...state, revision, order, tasks: next, planAttempts: 0 };
}

function withPassingOracles(state: ParallelState, checks: readonly CheckResult[]): readonly string[] {
  const passing = new Set(state.passingOracles ?? []);
  for (const check of checks) if (check.kind === 'oracle' && check.passed) passing.add(check.name);
  return [...passing];
}

/** Fold one event into the parallel state (events of the serial loop leave it as it is). */
export function reduceParallelState(state: ParallelState, event: RunEvent): ParallelState {
  switch (event.type) {
    case 'tasks.planned': {
      const next = planned(state, event.tasks, event.revision);
      return event.passingOracles === undefined ? next : { ...next, passingOracles: event.passingOracles };
    }
    case 'plan.refused':
      return { ...state, planAttempts: event.attempt };
    case 'task.started':
      return update(state, event.task, {
        status: 'running',
        attempts: event.attempt,
        worker: event.worker,
        branch: event.branch,
        worktree: event.worktree,
        base: event.base,
        workCommit: null,
      });
    case 'task.worked': {
      const task = state.tasks[event.task];
      const withUsage = update({ ...state, sessions: state.sessions + 1 }, event.task, {
        usage: addUsage(task?.usage ?? emptyUsage, event.usage),
        workCommit: event.commit,
      });
      return event.commit === null || event.status !== 'completed'
        ? withUsage
        : update(withUsage, event.task, { status: 'awaiting-merge' });
    }
    case 'task.returned':
      return update({ ...state, returns: state.returns + 1 }, event.task, {
        status: 'pending',
        lastReturn: { reason: event.reason, diagnostics: event.diagnostics },
        worktree: null,
      });
    case 'task.merged':
      return update(
        { ...state, merges: state.merges + 1, passingOracles: withPassingOracles(state, event.checks) },
        event.task,
        {
          status: 'merged',
          mergedCommit: event.commit,
          worktree: null,
        },
      );
    case 'task.abandoned':
      return update(state, event.task, {
        status: 'abandoned',
        abandonedReason: event.reason,
        worktree: null,
      });
    case 'tasks.judged':
      return { ...state, judged: state.judged + 1 };
    default:
      return state;
  }
}

/** Tasks in plan order. */
export function orderedTasks(state: ParallelState): TaskState[] {
  return state.order.flatMap((id) => {
    const task = state.tasks[id];
    return task === undefined ? [] : [task];
  });
}

/** Pending tasks whose dependencies have all landed, in plan order: what the scheduler may start. */
export function readyTasks(state: ParallelState): TaskState[] {
  return orderedTasks(state).filter(
    (task) =>
      task.status === 'pending' &&
      task.spec.dependsOn.every((dependency) => state.tasks[dependency]?.status === 'merged'),
  );
}

/** Pending tasks that can never start: a dependency was abandoned. */
export function blockedTasks(state: ParallelState): TaskState[] {
  return orderedTasks(state).filter(
    (task) =>
      task.status === 'pending' &&
      task.spec.dependsOn.some((dependency) => state.tasks[dependency]?.status === 'abandoned'),
  );
}

/** Worker sessions started so far (every attempt of every task). */
export function attemptsStarted(state: ParallelState | null): number {
  return state === null ? 0 : orderedTasks(state).reduce((sum, task) => sum + task.attempts, 0);
}
