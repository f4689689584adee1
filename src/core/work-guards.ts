import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config/resolve.ts';
import { changedPaths, restorePath, untrackedPaths } from '../git/git.ts';
import { foldCompletedItems } from '../guards/plan-check.ts';
import { classifyUntracked, moveToScratch } from '../guards/pollution.ts';
import type { GuardAction, GuardName } from '../log/events.ts';
import { reviewFeatureEdit } from '../loop/feature-guard.ts';
import { writeFileAtomic } from '../util/atomic-write.ts';
import {
  readFeatureList,
  writeFeatureList,
  type FeatureList,
  type FeatureListResult,
} from '../workspace/features.ts';
import { stateFiles } from '../workspace/paths.ts';

/** What a worker left uncommitted in its checkout, as the guards need to see it. */
export interface WorkSnapshot {
  /** Paths with uncommitted changes, untracked files included. */
  readonly changed: ReadonlySet<string>;
  readonly untracked: readonly string[];
  readonly featuresBefore: FeatureList;
  /** FEATURES.json as the worker left it, when it changed it. */
  readonly featuresAfter: FeatureListResult | undefined;
  /** IMPLEMENTATION_PLAN.md as the worker left it, when it changed it. */
  readonly plan: string | undefined;
}

export type WorkAction =
  | { readonly kind: 'restore'; readonly path: string }
  | { readonly kind: 'write'; readonly path: string; readonly content: string }
  | { readonly kind: 'write-features'; readonly list: FeatureList }
  | { readonly kind: 'move-to-scratch'; readonly paths: readonly string[] };

/** One guard's firing, as data: the driver turns it into a `guard.fired` event where its log is. */
export interface GuardFiring {
  readonly guard: GuardName;
  readonly action: GuardAction;
  readonly details: readonly string[];
}

export interface WorkGuardPlan {
  /** What to do to the checkout, in order. */
  readonly actions: readonly WorkAction[];
  readonly firings: readonly GuardFiring[];
  /** Reasons to refuse the whole attempt. */
  readonly rejections: readonly string[];
  /** What was put back or moved: the attempt stands, but it cannot be "done". */
  readonly corrections: readonly string[];
  /** The FEATURES.json to verify against. */
  readonly features: FeatureList;
}

/** Read what the guards look at from a checkout: the worker's uncommitted changes. */
export async function snapshotWork(checkout: string, featuresBefore: FeatureList): Promise<WorkSnapshot> {
  const changed = new Set(await changedPaths(checkout));
  const planPath = join(checkout, stateFiles.plan);
  return {
    changed,
    untracked: await untrackedPaths(checkout),
    featuresBefore,
    featuresAfter: changed.has(stateFiles.features) ? readFeatureList(checkout) : undefined,
    plan: changed.has(stateFiles.plan) && existsSync(planPath) ? readFileSync(planPath, 'utf8') : undefined,
  };
}

/**
 * The guards on a worker's uncommitted changes, in every mode, as one pure decision: harness
 * tampering (baton.yaml), state pollution (PROGRESS.md, the plan's size), FEATURES.json edits, scratch
 * files. `scratchShown` is where moved files go, as the worker is told.
 */
export function decideWorkGuards(
  snapshot: WorkSnapshot,
  guards: Config['guards'],
  scratchShown: string,
): WorkGuardPlan {
  const actions: WorkAction[] = [];
  const firings: GuardFiring[] = [];
  const rejections: string[] = [];
  const corrections: string[] = [];
  const { changed } = snapshot;

  if (changed.has(stateFiles.config)) {
    actions.push({ kind: 'restore', path: stateFiles.config });
    corrections.push('the worker edited baton.yaml; it was restored');
    firings.push({
      guard: 'tampering',
      action: 'restored',
      details: ['baton.yaml was edited by the worker and restored'],
    });
  }
  if (changed.has(stateFiles.progress)) {
    actions.push({ kind: 'restore', path: stateFiles.progress });
    corrections.push("PROGRESS.md is written by the harness; the worker's edit was undone");
    firings.push({
      guard: 'state-pollution',
      action: 'restored',
      details: ['the worker edited PROGRESS.md; the harness writes it'],
    });
  }
  if (snapshot.plan !== undefined && Buffer.byteLength(snapshot.plan) > guards.planMaxBytes) {
    const folded = foldCompletedItems(snapshot.plan);
    if (Buffer.byteLength(folded) <= guards.planMaxBytes) {
      actions.push({ kind: 'write', path: stateFiles.plan, content: folded });
      firings.push({
        guard: 'state-pollution',
        action: 'compacted',
        details: [`${stateFiles.plan} grew past ${guards.planMaxBytes} bytes; completed items were folded`],
      });
    } else {
      actions.push({ kind: 'restore', path: stateFiles.plan });
      corrections.push(
        `${stateFiles.plan} grew past ${guards.planMaxBytes} bytes even without completed items; the edit was undone: keep the plan short`,
      );
      firings.push({
        guard: 'state-pollution',
        action: 'restored',
        details: [`${stateFiles.plan} was ${Buffer.byteLength(snapshot.plan)} bytes (limit ${guards.planMaxBytes})`],
      });
    }
  }

  let features = snapshot.featuresBefore;
  if (snapshot.featuresAfter !== undefined) {
    const review = reviewFeatureEdit(snapshot.featuresBefore, snapshot.featuresAfter);
    if (review.restore) actions.push({ kind: 'restore', path: stateFiles.features });
    if (review.reject) {
      rejections.push(...review.problems);
      firings.push({ guard: 'test-gaming', action: 'rejected', details: review.problems });
    } else if (review.restore) {
      corrections.push(...review.problems);
      firings.push({ guard: 'features', action: 'restored', details: review.problems });
    } else {
      actions.push({ kind: 'write-features', list: review.list });
      features = review.list;
    }
  }

  const { scratch } = classifyUntracked(snapshot.untracked, guards.pollution.patterns);
  if (scratch.length > 0) {
    actions.push({ kind: 'move-to-scratch', paths: scratch });
    const detail = `left ${scratch.length} scratch file(s) (${scratch.slice(0, 5).join(', ')}${scratch.length > 5 ? ', …' : ''}); moved to ${scratchShown}`;
    if (guards.pollution.mode === 'reject') rejections.push(`the worker ${detail}`);
    else corrections.push(`the worker ${detail}: put temporary files outside the workspace`);
    firings.push({
      guard: 'pollution',
      action: guards.pollution.mode === 'reject' ? 'rejected' : 'moved',
      details: [detail],
    });
  }
  return { actions, firings, rejections, corrections, features };
}

/** The interpreter: apply a plan's actions to the checkout, in order. */
export async function applyWorkGuardPlan(
  checkout: string,
  plan: WorkGuardPlan,
  scratchDir: string,
): Promise<void> {
  for (const action of plan.actions) {
    switch (action.kind) {
      case 'restore':
        await restorePath(checkout, action.path);
        break;
      case 'write':
        writeFileAtomic(join(checkout, action.path), action.content);
        break;
      case 'write-features':
        writeFeatureList(checkout, action.list);
        break;
      case 'move-to-scratch':
        moveToScratch(checkout, scratchDir, action.paths);
        break;
    }
  }
}

/** Snapshot, decide, apply: the guards on uncommitted work, for a driver that emits the firings. */
export async function guardUncommittedWork(
  checkout: string,
  featuresBefore: FeatureList,
  guards: Config['guards'],
  scratch: { readonly dir: string; readonly shown: string },
): Promise<WorkGuardPlan> {
  const plan = decideWorkGuards(await snapshotWork(checkout, featuresBefore), guards, scratch.shown);
  await applyWorkGuardPlan(checkout, plan, scratch.dir);
  return plan;
}
