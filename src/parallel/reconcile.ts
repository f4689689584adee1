import { changedPaths, runGit, stashAll, untrackedPaths, updateRef } from '../git/git.ts';
import { orderedTasks, type TaskState } from '../log/task-state.ts';
import { parallelState, type ParallelContext } from './context.ts';
import { tasksFileName } from './task-graph.ts';
import { stateFiles } from '../workspace/paths.ts';
import { branchCommit, deleteBranch, removeRunWorktrees, returnedRef, taskBranch } from './worktrees.ts';

/** The integration commit that carries an attempt's trailer, if that attempt already landed. */
async function landedCommit(context: ParallelContext, task: TaskState): Promise<string | null> {
  const result = await runGit(
    context.loop.workspace,
    [
      'log',
      '-1',
      '--format=%H',
      '--fixed-strings',
      `--grep=Baton-Task: ${context.loop.runId}/${task.spec.id}/${task.attempts}`,
      'HEAD',
    ],
    true,
  );
  const commit = result.stdout.trim();
  return commit === '' ? null : commit;
}

/** Send an attempt back to the queue, keeping whatever it committed under a ref. */
export async function returnAttempt(
  context: ParallelContext,
  task: TaskState,
  reason: 'interrupted',
  diagnostics: string,
): Promise<void> {
  const { loop } = context;
  const branch = taskBranch(loop.runId, task.spec.id);
  const commit = await branchCommit(loop.workspace, branch);
  if (commit !== null && commit !== task.base) {
    await updateRef(loop.workspace, returnedRef(loop.runId, task.spec.id, task.attempts), commit);
  }
  await deleteBranch(loop.workspace, branch);
  loop.emit({ type: 'task.returned', task: task.spec.id, attempt: task.attempts, reason, diagnostics });
}

/**
 * After a coordinator crash: the log says which attempts were under way and which waited to merge.
 * Worktrees are rebuilt from scratch (their work is on branches), attempts that were running go back to
 * the queue (their partial work kept under a ref) unless they run elsewhere and outlive the coordinator
 * (queued to remote workers: the coordinator waits for them again), an attempt that landed just before the crash is
 * recorded as merged, and whatever the dead harness left uncommitted in the checkout is set aside.
 */
export async function reconcileAfterCrash(context: ParallelContext, attemptsOutlive: boolean): Promise<void> {
  const { loop } = context;
  await removeRunWorktrees(loop.workspace, loop.runId);
  // A half-written FEATURES.json or an unvalidated TASKS.json is the dead harness's: back to the commit.
  const dirty = await changedPaths(loop.workspace);
  for (const file of [stateFiles.features, tasksFileName]) {
    if (dirty.includes(file) && !(await untrackedPaths(loop.workspace)).includes(file)) {
      await runGit(loop.workspace, ['checkout', 'HEAD', '--', file], true);
    }
  }
  const leftovers = [
    ...new Set([...(await changedPaths(loop.workspace)), ...(await untrackedPaths(loop.workspace))]),
  ];
  if (leftovers.length > 0) {
    const stash = await stashAll(loop.workspace, 'baton: left uncommitted when the coordinator stopped');
    loop.emit({ type: 'tree.polluted', iteration: 0, paths: leftovers, stash });
  }
  for (const task of orderedTasks(parallelState(context))) {
    if (task.status === 'running' && !attemptsOutlive) {
      await returnAttempt(
        context,
        task,
        'interrupted',
        'the coordinator stopped while this attempt ran; it starts again from the integration tip',
      );
    } else if (task.status === 'awaiting-merge') {
      const landed = await landedCommit(context, task);
      if (landed !== null) {
        await deleteBranch(loop.workspace, taskBranch(loop.runId, task.spec.id));
        loop.emit({
          type: 'task.merged',
          task: task.spec.id,
          attempt: task.attempts,
          commit: landed,
          checks: [],
          passingFeatures: loop.state.passingFeatures,
        });
      } else if ((await branchCommit(loop.workspace, taskBranch(loop.runId, task.spec.id))) === null) {
        await returnAttempt(context, task, 'interrupted', "the attempt's branch is gone; it starts again");
      }
    }
  }
}
