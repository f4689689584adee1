import { join, resolve } from 'node:path';
import { BatonError, exitCodes } from '../errors.ts';
import { checkpointIteration } from '../git/baton-refs.ts';
import { applyLeaveOut, planUntracked } from '../core/leave-out.ts';
import { changedPaths, fileAt, gitCommonDir, headCommit, runGit, untrackedPaths } from '../git/git.ts';
import { commitsBetween } from '../git/person-identity.ts';
import { currentBranch } from '../git/run-branch.ts';
import { describePaths } from '../guards/pollution.ts';
import { head as headOf, singleLine } from '../util/text.ts';
import { EventLog } from '../log/event-log.ts';
import { saveAndReset } from '../loop/rollback.ts';
import { acquireRunLock } from '../run/lock.ts';
import { parseFeatureList } from '../workspace/features.ts';
import { eventLogPath } from '../workspace/paths.ts';
import { newestRunId, readRun } from './inspect.ts';

export interface CheckpointInfo {
  readonly tag: string;
  readonly commit: string;
  readonly iteration: number;
  readonly featuresPassing: number | null;
  readonly featuresTotal: number | null;
  readonly at: string | null;
}

/** The checkpoints of a run (the newest by default), oldest first. */
export function listCheckpoints(workspace: string, runId?: string): CheckpointInfo[] {
  const record = readRun(resolve(workspace), runId);
  return record.state.checkpoints.map((checkpoint) => {
    const summary = record.state.iterations.find((entry) => entry.iteration === checkpoint.iteration);
    return {
      ...checkpoint,
      featuresPassing: summary?.featuresPassing ?? null,
      featuresTotal: summary?.featuresTotal ?? null,
      at: summary?.endedAt ?? null,
    };
  });
}

export interface RollbackCommit {
  readonly commit: string;
  readonly subject: string;
  readonly author: string;
  /** Made by a person (not baton's own record, not a worker's work): never undone without --force. */
  readonly person: boolean;
}

/** What a rollback does (or, with --dry-run, would do), before anything moves. */
export interface RollbackPlan {
  readonly tag: string;
  readonly commit: string;
  /** HEAD before the rollback. */
  readonly head: string | null;
  /** The commits after the checkpoint that leave the branch (kept under the backup ref). */
  readonly undone: readonly RollbackCommit[];
  /** Uncommitted changes and untracked files (kept under the backup ref too). */
  readonly uncommitted: readonly string[];
  readonly featuresPassing: number;
  readonly featuresTotal: number;
}

export interface RollbackResult extends RollbackPlan {
  /** False for --dry-run: nothing moved. */
  readonly applied: boolean;
  /** The ref that keeps the state the workspace had before (commits and uncommitted changes). */
  readonly backup: string | null;
  /** The commands that put everything back as it was, when something was kept. */
  readonly undo: string | null;
}

export interface RollbackOptions {
  /** Say what would happen; change nothing. */
  readonly dryRun?: boolean;
  /** Also undo a person's commits and set aside uncommitted work (all of it kept under the backup ref). */
  readonly force?: boolean;
}

/**
 * Put the workspace back to a checkpoint (`3`, `checkpoint-3` or its ref name). It refuses when a
 * person's commit or uncommitted work would leave the branch, unless `force`; whatever it takes off the
 * branch, committed or not, is kept under refs/baton/backup/<time>, and the result says how to undo it.
 */
export async function rollbackTo(
  workspaceInput: string,
  target: string,
  options: RollbackOptions = {},
): Promise<RollbackResult> {
  const workspace = resolve(workspaceInput);
  const runId = newestRunId(workspace, 'this workspace has no run, so no checkpoints');
  const checkpoints = listCheckpoints(workspace, runId);
  const iteration = checkpointIteration(target);
  const checkpoint = checkpoints.find((entry) =>
    iteration === null ? entry.tag === target : entry.iteration === iteration,
  );
  if (checkpoint === undefined) {
    throw new BatonError(`there is no checkpoint ${target} in run ${runId}`, {
      code: 'CHECKPOINT_NOT_FOUND',
      fix: `pick one from \`baton checkpoints\`: ${checkpoints.map((entry) => entry.iteration).join(', ') || 'none yet'}`,
      exitCode: exitCodes.usage,
    });
  }
  // Holding the run lock keeps a harness from starting mid-rollback, and refuses while one runs.
  const lock = acquireRunLock(workspace, runId);
  try {
    // A run on its own branch while the person has theirs checked out: only the run's branch moves,
    // the person's checkout (its branch, files, uncommitted work) is not touched.
    const runBranch = readRun(workspace, runId).state.branch;
    const current = await currentBranch(workspace);
    if (runBranch !== null && current !== runBranch) {
      return await rollbackBranch(workspace, runId, runBranch, checkpoint, options);
    }
    const head = await headCommit(workspace);
    const undone = await commitsBetween(workspace, checkpoint.commit);
    // A secret, dependency folder or log left untracked stays where it is, out of the backup ref.
    await applyLeaveOut(workspace, await planUntracked(workspace));
    const uncommitted = [
      ...new Set([...(await changedPaths(workspace)), ...(await untrackedPaths(workspace))]),
    ];
    const text = await fileAt(workspace, checkpoint.commit, 'FEATURES.json');
    const parsed = text === null ? undefined : parseFeatureList(text);
    const features = parsed?.ok === true ? parsed.list.features : [];
    const passing = features.filter((feature) => feature.status === 'passing').map((feature) => feature.id);
    const plan: RollbackPlan = {
      tag: checkpoint.tag,
      commit: checkpoint.commit,
      head,
      undone,
      uncommitted,
      featuresPassing: passing.length,
      featuresTotal: features.length,
    };
    if (options.dryRun === true) return { ...plan, applied: false, backup: null, undo: null };
    const persons = undone.filter((entry) => entry.person);
    if (options.force !== true && (persons.length > 0 || uncommitted.length > 0)) {
      const what = [
        ...(persons.length > 0
          ? [
              `${persons.length} commit(s) by a person after the checkpoint (${persons.map((entry) => `${entry.commit.slice(0, 8)} ${headOf(singleLine(entry.subject), 60)}`).join('; ')})`,
            ]
          : []),
        ...(uncommitted.length > 0 ? [`uncommitted changes in ${describePaths(uncommitted, 5)}`] : []),
      ];
      throw new BatonError(
        `rolling back to ${checkpoint.tag} would take off the branch ${what.join(' and ')}`,
        {
          code: 'ROLLBACK_WOULD_LOSE_WORK',
          fix: `commit or stash your work and roll back to a later checkpoint, or pass --force (all of it is kept under refs/baton/backup/ and the output says how to undo); \`baton rollback ${checkpoint.iteration} --dry-run\` shows what would move`,
          exitCode: exitCodes.usage,
        },
      );
    }
    const stamp = new Date().toISOString().replace(/[-:.]/g, '');
    const backup = await saveAndReset(
      workspace,
      `refs/baton/backup/${stamp}`,
      checkpoint.commit,
      `baton: state before rolling back to ${checkpoint.tag}`,
    );
    const { log } = EventLog.open(
      eventLogPath(workspace, runId),
      join(await gitCommonDir(workspace), 'baton', 'runs', runId, 'events.jsonl'),
    );
    try {
      log.append({
        type: 'checkpoint.restored',
        tag: checkpoint.tag,
        commit: checkpoint.commit,
        backup: backup ?? '(nothing to keep)',
        featuresPassing: passing.length,
        featuresTotal: features.length,
        passingFeatures: passing,
      });
    } finally {
      log.close();
    }
    if ((await headCommit(workspace)) !== checkpoint.commit) {
      await runGit(workspace, ['reset', '--hard', checkpoint.commit]);
    }
    return {
      ...plan,
      applied: true,
      backup,
      undo: backup === null || head === null ? null : undoCommand(backup, head, uncommitted.length > 0),
    };
  } finally {
    lock.release();
  }
}

/** Features passing at a checkpoint, from its FEATURES.json. */
async function featuresAt(
  workspace: string,
  commit: string,
): Promise<{ readonly passing: string[]; readonly total: number }> {
  const text = await fileAt(workspace, commit, 'FEATURES.json');
  const parsed = text === null ? undefined : parseFeatureList(text);
  const features = parsed?.ok === true ? parsed.list.features : [];
  return {
    passing: features.filter((feature) => feature.status === 'passing').map((feature) => feature.id),
    total: features.length,
  };
}

function appendRestored(
  workspace: string,
  runId: string,
  mirror: string,
  event: { tag: string; commit: string; backup: string; passing: readonly string[]; total: number },
): void {
  const { log } = EventLog.open(eventLogPath(workspace, runId), mirror);
  try {
    log.append({
      type: 'checkpoint.restored',
      tag: event.tag,
      commit: event.commit,
      backup: event.backup,
      featuresPassing: event.passing.length,
      featuresTotal: event.total,
      passingFeatures: [...event.passing],
    });
  } finally {
    log.close();
  }
}

/** Roll the run's branch back while another branch is checked out: a ref update, no checkout. */
async function rollbackBranch(
  workspace: string,
  runId: string,
  branch: string,
  checkpoint: { readonly tag: string; readonly commit: string; readonly iteration: number },
  options: RollbackOptions,
): Promise<RollbackResult> {
  const ref = `refs/heads/${branch}`;
  const tip = (await runGit(workspace, ['rev-parse', '--verify', '--quiet', ref], true)).stdout.trim();
  if (tip === '') {
    throw new BatonError(`the run's branch ${branch} no longer exists`, {
      code: 'RUN_BRANCH_UNAVAILABLE',
      fix: `recreate it at the checkpoint (\`git branch ${branch} ${checkpoint.commit.slice(0, 12)}\`); nothing was changed`,
      exitCode: exitCodes.usage,
    });
  }
  const undone = await commitsBetween(workspace, checkpoint.commit, ref);
  const { passing, total } = await featuresAt(workspace, checkpoint.commit);
  const plan: RollbackPlan = {
    tag: checkpoint.tag,
    commit: checkpoint.commit,
    head: tip,
    undone,
    uncommitted: [],
    featuresPassing: passing.length,
    featuresTotal: total,
  };
  if (options.dryRun === true) return { ...plan, applied: false, backup: null, undo: null };
  const persons = undone.filter((entry) => entry.person);
  if (options.force !== true && persons.length > 0) {
    throw new BatonError(
      `rolling ${branch} back to ${checkpoint.tag} would take off it ${persons.length} commit(s) by a person after the checkpoint (${persons.map((entry) => `${entry.commit.slice(0, 8)} ${headOf(singleLine(entry.subject), 60)}`).join('; ')})`,
      {
        code: 'ROLLBACK_WOULD_LOSE_WORK',
        fix: `roll back to a later checkpoint, or pass --force (the branch's tip is kept under refs/baton/backup/ and the output says how to undo); \`baton rollback ${checkpoint.iteration} --dry-run\` shows what would move`,
        exitCode: exitCodes.usage,
      },
    );
  }
  const stamp = new Date().toISOString().replace(/[-:.]/g, '');
  const backup = `refs/baton/backup/${stamp}`;
  await runGit(workspace, ['update-ref', backup, tip]);
  appendRestored(
    workspace,
    runId,
    join(await gitCommonDir(workspace), 'baton', 'runs', runId, 'events.jsonl'),
    {
      tag: checkpoint.tag,
      commit: checkpoint.commit,
      backup,
      passing,
      total,
    },
  );
  // Compare-and-swap: a branch that moved meanwhile is not overwritten.
  await runGit(workspace, ['update-ref', ref, checkpoint.commit, tip]);
  return { ...plan, applied: true, backup, undo: `git update-ref ${ref} ${backup}` };
}

/** Back to the state before: the commits, and the uncommitted work uncommitted again. */
function undoCommand(backup: string, head: string, hadUncommitted: boolean): string {
  return hadUncommitted ? `git reset --hard ${backup} && git reset ${head}` : `git reset --hard ${backup}`;
}
