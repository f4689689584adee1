import { join, resolve } from 'node:path';
import { BatonError, exitCodes } from '../errors.ts';
import { fileAt, gitCommonDir, headCommit, runGit } from '../git/git.ts';
import { EventLog } from '../log/event-log.ts';
import { saveAndReset } from '../loop/rollback.ts';
import { acquireRunLock } from '../run/lock.ts';
import { parseFeatureList } from '../workspace/features.ts';
import { eventLogPath } from '../workspace/paths.ts';
import { listRuns, readRun } from './inspect.ts';

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

export interface RollbackResult {
  readonly tag: string;
  readonly commit: string;
  /** The ref that keeps the state the workspace had before (commits and uncommitted changes). */
  readonly backup: string | null;
  readonly featuresPassing: number;
  readonly featuresTotal: number;
}

/**
 * Put the workspace back to a checkpoint (`3`, `checkpoint-3` or a full tag name). Whatever it had
 * beyond that, committed or not, is kept under refs/baton/backup/<time>: a rollback never destroys work.
 */
export async function rollbackTo(workspaceInput: string, target: string): Promise<RollbackResult> {
  const workspace = resolve(workspaceInput);
  const runId = listRuns(workspace).at(-1);
  if (runId === undefined) {
    throw new BatonError('this workspace has no run, so no checkpoints', {
      code: 'RUN_NOT_FOUND',
      fix: 'start one with `baton run`',
      exitCode: exitCodes.usage,
    });
  }
  const checkpoints = listCheckpoints(workspace, runId);
  const wanted = /^\d+$/.test(target)
    ? `baton/${runId}/checkpoint-${target}`
    : target.startsWith('baton/')
      ? target
      : `baton/${runId}/${target}`;
  const checkpoint = checkpoints.find((entry) => entry.tag === wanted);
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
    const stamp = new Date().toISOString().replace(/[-:.]/g, '');
    const backup = await saveAndReset(
      workspace,
      `refs/baton/backup/${stamp}`,
      checkpoint.commit,
      `baton: state before rolling back to ${checkpoint.tag}`,
    );
    const text = await fileAt(workspace, checkpoint.commit, 'FEATURES.json');
    const parsed = text === null ? undefined : parseFeatureList(text);
    const features = parsed?.ok === true ? parsed.list.features : [];
    const passing = features.filter((feature) => feature.status === 'passing').map((feature) => feature.id);
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
      tag: checkpoint.tag,
      commit: checkpoint.commit,
      backup,
      featuresPassing: passing.length,
      featuresTotal: features.length,
    };
  } finally {
    lock.release();
  }
}
