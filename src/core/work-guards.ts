import { lstatSync } from 'node:fs';
import type { Config } from '../config/resolve.ts';
import { changedPaths, nestedRepositoryCandidates, restorePath, untrackedPaths } from '../git/git.ts';
import {
  describeNestedRepository,
  detectNestedRepositories,
  type NestedRepositoryFinding,
} from '../guards/nested-repository.ts';
import { foldCompletedItems } from '../guards/plan-check.ts';
import { classifyUntracked, describePaths, moveToScratch } from '../guards/pollution.ts';
import type { GuardAction, GuardName } from '../log/events.ts';
import { reviewFeatureEdit } from '../guards/feature-edit.ts';
import { writeFileAtomic } from '../util/atomic-write.ts';
import { UnsafeFileError } from '../util/safe-io.ts';
import { readStateFile } from '../workspace/state-file.ts';
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
  /** Nested repositories, `.git` files and gitlinks the worker made: never committed. */
  readonly nested: readonly NestedRepositoryFinding[];
  /** State files the worker turned into something else than a regular file (a link, a FIFO...). */
  readonly irregularStateFiles: readonly { readonly path: string; readonly detail: string }[];
  /** What the changes would add to the worktree: the sizes of the new and changed regular files. */
  readonly growth: { readonly bytes: number; readonly files: readonly { path: string; bytes: number }[] };
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

const guardedStateFiles = [stateFiles.config, stateFiles.features, stateFiles.progress, stateFiles.plan];

/** The regular files among `paths` with their sizes, links not followed (a link adds a link). */
function sizesOf(checkout: string, paths: Iterable<string>): WorkSnapshot['growth'] {
  const files: { path: string; bytes: number }[] = [];
  let bytes = 0;
  for (const path of paths) {
    try {
      const stats = lstatSync(`${checkout}/${path}`);
      if (!stats.isFile()) continue;
      files.push({ path, bytes: stats.size });
      bytes += stats.size;
    } catch {
      // deleted: it adds nothing
    }
  }
  return { bytes, files };
}

const mebibytes = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

function irregular(checkout: string, path: string): string | undefined {
  try {
    const stats = lstatSync(`${checkout}/${path}`);
    if (stats.isFile()) return undefined;
    return stats.isSymbolicLink() ? 'a symbolic link' : 'not a regular file';
  } catch {
    return undefined;
  }
}

/** Read what the guards look at from a checkout: the worker's uncommitted changes. */
export async function snapshotWork(checkout: string, featuresBefore: FeatureList): Promise<WorkSnapshot> {
  const changed = new Set(await changedPaths(checkout));
  const irregularStateFiles = guardedStateFiles
    .filter((path) => changed.has(path))
    .flatMap((path) => {
      const detail = irregular(checkout, path);
      return detail === undefined ? [] : [{ path, detail }];
    });
  const unsafe = new Set(irregularStateFiles.map((entry) => entry.path));
  let plan: string | undefined;
  if (changed.has(stateFiles.plan) && !unsafe.has(stateFiles.plan)) {
    try {
      plan = readStateFile(checkout, stateFiles.plan)?.text;
    } catch (error) {
      if (!(error instanceof UnsafeFileError)) throw error;
      irregularStateFiles.push({ path: stateFiles.plan, detail: error.message });
    }
  }
  return {
    changed,
    untracked: await untrackedPaths(checkout),
    featuresBefore,
    featuresAfter:
      changed.has(stateFiles.features) && !unsafe.has(stateFiles.features)
        ? readFeatureList(checkout)
        : undefined,
    plan,
    nested: detectNestedRepositories({ worktree: checkout, ...(await nestedRepositoryCandidates(checkout)) }),
    irregularStateFiles,
    growth: sizesOf(checkout, changed),
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

  // Harness-side escapes first: git must never see a repository of the worker's, and a state file the
  // harness reads and writes must stay a plain file (a link would make it read or write elsewhere).
  if (snapshot.nested.length > 0) {
    const folders = [
      ...new Set(snapshot.nested.filter((entry) => entry.kind !== 'gitlink').map((entry) => entry.path)),
    ];
    if (folders.length > 0) actions.push({ kind: 'move-to-scratch', paths: folders });
    const details = snapshot.nested.map(describeNestedRepository);
    rejections.push(
      `the worker made nested git repositories (${details.join('; ')}); git runs their configuration and hooks, so they are never committed: they were moved to ${scratchShown}. Vendor code as plain files instead`,
    );
    firings.push({ guard: 'nested-repository', action: 'rejected', details });
  }
  for (const entry of snapshot.irregularStateFiles) {
    actions.push({ kind: 'restore', path: entry.path });
    const detail = `${entry.path} was replaced by ${entry.detail}; it must be a regular file`;
    rejections.push(`the worker left ${detail}`);
    firings.push({ guard: 'unsafe-file', action: 'rejected', details: [detail] });
  }
  const irregularPaths = new Set(snapshot.irregularStateFiles.map((entry) => entry.path));

  // One iteration may not grow the worktree past the limit: what it added is moved aside whole (changed
  // tracked files are put back after their new version is moved), never committed, never deleted.
  const inNestedRepository = (path: string): boolean =>
    snapshot.nested.some((entry) => path === entry.path || path.startsWith(`${entry.path}/`));
  if (snapshot.growth.bytes > guards.maxGrowth) {
    const files = snapshot.growth.files.filter(
      (file) =>
        !inNestedRepository(file.path) && !(guardedStateFiles as readonly string[]).includes(file.path),
    );
    const untracked = new Set(snapshot.untracked);
    actions.push({ kind: 'move-to-scratch', paths: files.map((file) => file.path) });
    for (const file of files) {
      if (!untracked.has(file.path)) actions.push({ kind: 'restore', path: file.path });
    }
    const largest = [...files]
      .sort((a, b) => b.bytes - a.bytes)
      .slice(0, 3)
      .map((file) => `${describePaths([file.path], 1)} ${mebibytes(file.bytes)}`);
    const detail = `its changes add ${mebibytes(snapshot.growth.bytes)} to the worktree (limit guards.maxGrowth = ${mebibytes(guards.maxGrowth)}; largest: ${largest.join(', ')})`;
    rejections.push(
      `the worker's ${detail.slice(4)}; they were moved to ${scratchShown}, not committed. Keep generated and downloaded files out of the workspace, or raise guards.maxGrowth`,
    );
    firings.push({ guard: 'worktree-growth', action: 'rejected', details: [detail] });
    return { actions, firings, rejections, corrections, features: snapshot.featuresBefore };
  }

  if (changed.has(stateFiles.config) && !irregularPaths.has(stateFiles.config)) {
    actions.push({ kind: 'restore', path: stateFiles.config });
    corrections.push('the worker edited baton.yaml; it was restored');
    firings.push({
      guard: 'tampering',
      action: 'restored',
      details: ['baton.yaml was edited by the worker and restored'],
    });
  }
  if (changed.has(stateFiles.progress) && !irregularPaths.has(stateFiles.progress)) {
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
        details: [
          `${stateFiles.plan} was ${Buffer.byteLength(snapshot.plan)} bytes (limit ${guards.planMaxBytes})`,
        ],
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

  const { scratch } = classifyUntracked(
    snapshot.untracked.filter((path) => !inNestedRepository(path)),
    guards.pollution.patterns,
  );
  if (scratch.length > 0) {
    actions.push({ kind: 'move-to-scratch', paths: scratch });
    const detail = `left ${scratch.length} scratch file(s) (${describePaths(scratch)}); moved to ${scratchShown}`;
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

/**
 * The interpreter: apply a plan's actions to the checkout, in order. Returns what it could not do safely
 * (a scratch move through a link is refused, never followed): reasons to refuse the attempt.
 */
export async function applyWorkGuardPlan(
  checkout: string,
  plan: WorkGuardPlan,
  scratchDir: string,
  tempRoot: string = checkout,
): Promise<string[]> {
  const refused: string[] = [];
  for (const action of plan.actions) {
    switch (action.kind) {
      case 'restore':
        await restorePath(checkout, action.path);
        break;
      case 'write':
        writeFileAtomic(checkout, action.path, action.content, { tempRoot });
        break;
      case 'write-features':
        writeFeatureList(checkout, action.list, { tempRoot });
        break;
      case 'move-to-scratch': {
        const moved = moveToScratch(checkout, scratchDir, action.paths);
        for (const entry of moved.refused) {
          refused.push(`${describePaths([entry.path], 1)} could not be moved aside safely (${entry.reason})`);
        }
        break;
      }
    }
  }
  return refused;
}

/** Snapshot, decide, apply: the guards on uncommitted work, for a driver that emits the firings. */
export async function guardUncommittedWork(
  checkout: string,
  featuresBefore: FeatureList,
  guards: Config['guards'],
  scratch: { readonly dir: string; readonly shown: string },
  tempRoot: string = checkout,
): Promise<WorkGuardPlan> {
  const plan = decideWorkGuards(await snapshotWork(checkout, featuresBefore), guards, scratch.shown);
  const refused = await applyWorkGuardPlan(checkout, plan, scratch.dir, tempRoot);
  if (refused.length === 0) return plan;
  return {
    ...plan,
    rejections: [...plan.rejections, ...refused],
    firings: [...plan.firings, { guard: 'unsafe-file', action: 'rejected', details: refused }],
  };
}
