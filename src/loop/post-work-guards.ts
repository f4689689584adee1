import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { changedPaths, restorePath, untrackedPaths } from '../git/git.ts';
import { classifyUntracked, moveToScratch } from '../guards/pollution.ts';
import { foldCompletedItems } from '../guards/plan-check.ts';
import { readFeatureList, writeFeatureList, type FeatureList } from '../workspace/features.ts';
import { stateFiles } from '../workspace/paths.ts';
import { writeFileAtomic } from '../util/atomic-write.ts';
import type { LoopContext } from './context.ts';
import { reviewFeatureEdit } from './feature-guard.ts';

export interface PostWorkOutcome {
  /** The FEATURES.json to verify against. */
  readonly features: FeatureList;
  /** Reasons to refuse the whole iteration (roll it back). */
  readonly rejections: string[];
  /** What was put back or moved; the iteration stands, but it cannot be "done". */
  readonly corrections: string[];
}

/**
 * Guards that run on the worker's uncommitted changes, before the harness commits them: tampering with
 * the harness's files, bloated state files, FEATURES.json edits, scratch files. Each firing is an event.
 */
export async function guardWorkerChanges(
  context: LoopContext,
  iteration: number,
  featuresBefore: FeatureList,
): Promise<PostWorkOutcome> {
  const { workspace, config } = context;
  const rejections: string[] = [];
  const corrections: string[] = [];
  const changed = new Set(await changedPaths(workspace));

  // Harness tampering: the contract and the event log are not the worker's to edit.
  const intact = context.log.checkIntact();
  if (!intact.intact) {
    const restored = context.log.restoreFromMirror();
    const detail = `${intact.detail}; ${restored ? 'restored from its mirror' : 'could NOT be restored (no intact mirror)'}`;
    corrections.push(`the worker touched baton's event log (${detail})`);
    context.emit({
      type: 'guard.fired',
      iteration,
      guard: 'tampering',
      action: restored ? 'restored' : 'kept',
      details: [detail],
    });
  }
  if (changed.has(stateFiles.config)) {
    await restorePath(workspace, stateFiles.config);
    corrections.push('the worker edited baton.yaml; it was restored');
    context.emit({
      type: 'guard.fired',
      iteration,
      guard: 'tampering',
      action: 'restored',
      details: ['baton.yaml was edited by the worker and restored'],
    });
  }

  // State pollution: PROGRESS.md is the harness's notebook; the plan stays within its size bound.
  if (changed.has(stateFiles.progress)) {
    await restorePath(workspace, stateFiles.progress);
    corrections.push("PROGRESS.md is written by the harness; the worker's edit was undone");
    context.emit({
      type: 'guard.fired',
      iteration,
      guard: 'state-pollution',
      action: 'restored',
      details: ['the worker edited PROGRESS.md; the harness writes it'],
    });
  }
  const planPath = join(workspace, stateFiles.plan);
  if (changed.has(stateFiles.plan) && existsSync(planPath)) {
    const plan = readFileSync(planPath, 'utf8');
    if (Buffer.byteLength(plan) > config.guards.planMaxBytes) {
      const folded = foldCompletedItems(plan);
      if (Buffer.byteLength(folded) <= config.guards.planMaxBytes) {
        writeFileAtomic(planPath, folded);
        context.emit({
          type: 'guard.fired',
          iteration,
          guard: 'state-pollution',
          action: 'compacted',
          details: [
            `${stateFiles.plan} grew past ${config.guards.planMaxBytes} bytes; completed items were folded`,
          ],
        });
      } else {
        await restorePath(workspace, stateFiles.plan);
        corrections.push(
          `${stateFiles.plan} grew past ${config.guards.planMaxBytes} bytes even without completed items; the edit was undone: keep the plan short`,
        );
        context.emit({
          type: 'guard.fired',
          iteration,
          guard: 'state-pollution',
          action: 'restored',
          details: [
            `${stateFiles.plan} was ${Buffer.byteLength(plan)} bytes (limit ${config.guards.planMaxBytes})`,
          ],
        });
      }
    }
  }

  // FEATURES.json: status and evidence are the harness's; an unreadable file is restored.
  let features = featuresBefore;
  if (changed.has(stateFiles.features)) {
    const review = reviewFeatureEdit(featuresBefore, readFeatureList(workspace));
    if (review.restore) await restorePath(workspace, stateFiles.features);
    if (review.reject) {
      rejections.push(...review.problems);
      context.emit({
        type: 'guard.fired',
        iteration,
        guard: 'test-gaming',
        action: 'rejected',
        details: review.problems,
      });
    } else if (review.restore) {
      corrections.push(...review.problems);
      context.emit({
        type: 'guard.fired',
        iteration,
        guard: 'features',
        action: 'restored',
        details: review.problems,
      });
    } else {
      writeFeatureList(workspace, review.list);
      features = review.list;
    }
  }

  // Filesystem pollution: scratch files never reach a commit.
  const { scratch } = classifyUntracked(await untrackedPaths(workspace), config.guards.pollution.patterns);
  if (scratch.length > 0) {
    const scratchDir = join(workspace, '.baton', 'scratch', context.runId, String(iteration));
    moveToScratch(workspace, scratchDir, scratch);
    const detail = `left ${scratch.length} scratch file(s) (${scratch.slice(0, 5).join(', ')}${scratch.length > 5 ? ', …' : ''}); moved to .baton/scratch/${context.runId}/${iteration}/`;
    if (config.guards.pollution.mode === 'reject') rejections.push(`the worker ${detail}`);
    else corrections.push(`the worker ${detail}: put temporary files outside the workspace`);
    context.emit({
      type: 'guard.fired',
      iteration,
      guard: 'pollution',
      action: config.guards.pollution.mode === 'reject' ? 'rejected' : 'moved',
      details: [detail],
    });
  }
  return { features, rejections, corrections };
}
