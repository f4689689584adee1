import type { CheckResult } from '../log/events.ts';
import type { FeatureList } from '../workspace/features.ts';

/** Where a verification happened: the iteration (or merge/judgement sequence), the commit, the time. */
export interface EvidenceStamp {
  readonly iteration: number;
  readonly commit: string;
  /** The tree of that commit (absent when unknown). */
  readonly tree?: string;
  readonly at: string;
}

/**
 * The feature list with the statuses these checks established, each with its evidence (command, exit
 * code, commit, output). Pure: features no check ran for keep what they had. Only the harness calls it.
 */
export function withEvidence(
  list: FeatureList,
  checks: readonly CheckResult[],
  stamp: EvidenceStamp,
): FeatureList {
  const byFeature = new Map(
    checks.filter((check) => check.kind === 'feature').map((check) => [check.name, check]),
  );
  return {
    ...list,
    features: list.features.map((feature) => {
      const check = byFeature.get(feature.id);
      if (check === undefined) return feature;
      return {
        ...feature,
        status: check.passed ? 'passing' : 'failing',
        evidence: {
          iteration: stamp.iteration,
          commit: stamp.commit,
          ...(stamp.tree === undefined ? {} : { tree: stamp.tree }),
          command: check.command,
          exitCode: check.exitCode ?? -1,
          at: stamp.at,
          output: check.outputPath,
        },
      };
    }),
  };
}

export function passingIds(list: FeatureList): string[] {
  return list.features.filter((feature) => feature.status === 'passing').map((feature) => feature.id);
}

/** `kind:name` of the checks that pass now and failed (or did not run) before: the progress made. */
export function newlyPassing(checks: readonly CheckResult[], wasPassing: ReadonlySet<string>): string[] {
  return checks
    .filter(
      (check) =>
        check.passed &&
        check.kind !== 'smoke' &&
        // A hook that passes is not progress towards the goal; one that starts failing is a regression.
        check.kind !== 'hook' &&
        !wasPassing.has(`${check.kind}:${check.name}`),
    )
    .map((check) => `${check.kind}:${check.name}`);
}

/** `kind:name` of what passed before and fails now: a silent regression. */
export function regressions(checks: readonly CheckResult[], wasPassing: ReadonlySet<string>): string[] {
  return checks
    .filter((check) => !check.passed && wasPassing.has(`${check.kind}:${check.name}`))
    .map((check) => `${check.kind}:${check.name}`);
}

/** What held before a change, as `kind:name`: passing features and passing oracles. */
export function passingBefore(
  passingFeatures: readonly string[],
  passingOracles: readonly string[],
  passingHooks: readonly string[] = [],
): Set<string> {
  return new Set([
    ...passingFeatures.map((id) => `feature:${id}`),
    ...passingOracles.map((name) => `oracle:${name}`),
    ...passingHooks.map((name) => `hook:${name}`),
  ]);
}

/**
 * What held when an iteration started: the features FEATURES.json says pass, and every feature, oracle
 * and hook the last verification saw pass (before the first iteration, the run's baseline: a feature that
 * already passed there is not the worker's progress, and breaking it is a regression).
 */
export function heldBefore(list: FeatureList, previous: readonly CheckResult[]): Set<string> {
  const passed = (kind: CheckResult['kind']): string[] =>
    previous.filter((check) => check.kind === kind && check.passed).map((check) => check.name);
  return passingBefore(
    [
      ...new Set([
        ...list.features.filter((feature) => feature.status === 'passing').map((feature) => feature.id),
        ...passed('feature'),
      ]),
    ],
    passed('oracle'),
    passed('hook'),
  );
}
