import type { Config } from '../config/resolve.ts';
import { BatonError, exitCodes } from '../errors.ts';
import { changedPaths, headCommit } from '../git/git.ts';
import {
  branchExists,
  currentBranch,
  defaultRunBranch,
  startRunBranch,
  switchBranch,
} from '../git/run-branch.ts';
import type { NewRunEvent, RunEvent } from '../log/events.ts';
import type { RunState } from '../log/reducer.ts';

/**
 * Where a run commits: its own branch made from the person's HEAD (the default), or the current branch
 * (`--in-place`, `git.branch: in-place`). The person's branch is never moved by a run, and is checked
 * out again when the run stops.
 */
export interface RunBranchChoice {
  /** The branch the run commits to. */
  readonly name: string;
  /** The person's branch, checked out again at the end; null when the run works in place. */
  readonly base: string | null;
}

export interface BranchRequest {
  readonly branch?: string;
  readonly inPlace?: boolean;
}

/** The branch HEAD is on; a detached HEAD is refused (every commit of the run would be orphaned). */
export async function branchOrRefuse(workspace: string): Promise<string> {
  const current = await currentBranch(workspace);
  if (current === null) {
    throw new BatonError(`${workspace} is on a detached HEAD: the run's commits would belong to no branch`, {
      code: 'DETACHED_HEAD',
      fix: 'check out a branch first (`git switch -c <name>` keeps where you are), then run again; nothing was changed',
      exitCode: exitCodes.usage,
    });
  }
  return current;
}

/** Decide (and check, changing nothing) the branch of a new run. */
export async function chooseRunBranch(
  workspace: string,
  runId: string,
  config: Config,
  request: BranchRequest,
): Promise<RunBranchChoice> {
  const current = await branchOrRefuse(workspace);
  if (request.inPlace === true && request.branch !== undefined) {
    throw new BatonError('--in-place and --branch contradict each other', {
      code: 'USAGE',
      fix: 'pass one of them: --in-place commits onto the current branch, --branch <name> onto a new one',
      exitCode: exitCodes.usage,
    });
  }
  if (request.inPlace === true || (request.branch === undefined && config.git.branch === 'in-place')) {
    return { name: current, base: null };
  }
  return { name: request.branch ?? defaultRunBranch(runId), base: current };
}

/** Make the new run's branch from HEAD and put HEAD on it (a no-op in place). */
export async function enterRunBranch(workspace: string, choice: RunBranchChoice): Promise<void> {
  if (choice.base !== null) await startRunBranch(workspace, choice.name);
}

export interface BranchMove {
  readonly from: string | null;
  readonly to: string;
}

/**
 * Before a run is resumed: HEAD goes back onto the run's branch (the person may have checked out their
 * own since the run stopped). Uncommitted changes on another branch are the person's work on that branch:
 * they are not carried into the run, the resume is refused with the fix.
 */
export async function returnToRunBranch(workspace: string, state: RunState): Promise<BranchMove | null> {
  const branch = state.branch;
  if (branch === null) return null;
  const current = await currentBranch(workspace);
  if (current === branch) return null;
  const modified = await changedPaths(workspace, { untracked: false });
  if (modified.length > 0) {
    throw new BatonError(
      `the run works on ${branch}, but ${current ?? 'the detached HEAD'} has uncommitted changes (${modified.slice(0, 5).join(', ')}${modified.length > 5 ? ', …' : ''}); they are not carried into the run`,
      {
        code: 'DIRTY_TREE',
        fix: `commit them on ${current ?? 'a branch'} or stash them (git stash -u), then \`baton resume\` again; nothing was changed`,
        exitCode: exitCodes.usage,
      },
    );
  }
  // A harness killed between recording the start and making the branch: make it now, from where the
  // run was to start.
  if (!(await branchExists(workspace, branch)) && (await headCommit(workspace)) === state.startCommit) {
    await startRunBranch(workspace, branch);
    return { from: current, to: branch };
  }
  const switched = await switchBranch(workspace, branch);
  if (!switched.ok) {
    throw new BatonError(`cannot check out the run's branch ${branch}: ${switched.reason}`, {
      code: 'RUN_BRANCH_UNAVAILABLE',
      fix: `check out ${branch} yourself (\`git switch ${branch}\`) and resume, or start a new run with \`baton run --new\`; nothing was changed`,
      exitCode: exitCodes.usage,
    });
  }
  return { from: current, to: branch };
}

/**
 * When the run stops: the person's branch is checked out again, so their checkout is where they left
 * it and the run's work waits on its branch. Uncommitted changes to tracked files stay where they are,
 * on the run's branch (a switch would carry them across): the event says so, with the command. Also
 * used by the next harness when the last one died after recording its stop, before switching.
 */
export async function returnToBaseBranch(
  workspace: string,
  state: RunState,
  emit: (event: NewRunEvent) => unknown,
): Promise<void> {
  const { baseBranch: base, branch } = state;
  if (base === null || branch === null) return;
  if ((await currentBranch(workspace)) !== branch) return;
  const modified = await changedPaths(workspace, { untracked: false });
  if (modified.length > 0) {
    emit({
      type: 'branch.kept',
      branch,
      reason: `uncommitted changes to ${modified.slice(0, 5).join(', ')}${modified.length > 5 ? ', …' : ''} stay on ${branch}; \`git switch ${base}\` goes back (git carries them, or refuses)`,
    });
    return;
  }
  const switched = await switchBranch(workspace, base);
  if (switched.ok) {
    emit({
      type: 'branch.switched',
      from: branch,
      to: base,
      why: `the run stopped; its work is on ${branch}`,
    });
  } else {
    emit({ type: 'branch.kept', branch, reason: switched.reason });
  }
}

/** The last harness recorded the run's stop and died before checking the person's branch out again. */
export function stoppedBeforeReturning(events: readonly RunEvent[]): boolean {
  return events.at(-1)?.type === 'run.stopped';
}
