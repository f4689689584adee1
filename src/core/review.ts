import type { Config } from '../config/resolve.ts';
import {
  changedFiles,
  fileAt,
  isTruncatedDiff,
  listTree,
  unifiedDiff,
  type ChangedFile,
} from '../git/git.ts';
import { ioLimits } from '../util/limits.ts';
import { parseUnifiedDiff, reviewDiff, type DiffHint, type Violation } from '../guards/diff-review.ts';
import { parseFeatureList, type Feature } from '../workspace/features.ts';
import { stateFiles } from '../workspace/paths.ts';
import { contractChanges, contractFilesToRead, pathsNamedBy, type ContractChange } from './contract.ts';

export interface CommittedReview {
  /** Refusals: protected paths, new tests that skip or focus, ignore directives in code, a diff too big. */
  readonly violations: readonly Violation[];
  /** Findings on existing tests, decided by running the accepted tests (core/test-changes.ts). */
  readonly hints: readonly DiffHint[];
  /** Changes to the verification contract: proposals, never applied by themselves. */
  readonly contract: readonly ContractChange[];
  readonly changed: readonly ChangedFile[];
}

/** The commands the verification contract runs: every feature's verify, every oracle, the smoke test. */
export function contractCommands(
  features: readonly Feature[],
  config: Pick<Config, 'oracles' | 'smoke'>,
): string[] {
  const line = (command: string | readonly string[]): string =>
    typeof command === 'string' ? command : command.join(' ');
  return [
    ...features.map((feature) => feature.verify),
    ...config.oracles.map((oracle) => line(oracle.command)),
    line(config.smoke.command ?? `./${stateFiles.init} smoke`),
  ];
}

/**
 * The review of committed work, in every mode, between `from` (accepted) and `to` (the worker's): the
 * diff guards, and the verification contract (features' verify commands and titles, the test runner's
 * configuration, the manifest's scripts, the files the commands name).
 */
export async function reviewCommittedWork(
  checkout: string,
  config: Pick<Config, 'guards' | 'oracles' | 'smoke'>,
  locked: ReadonlyMap<string, string>,
  featuresBefore: readonly Feature[],
  from: string,
  to: string,
): Promise<CommittedReview> {
  const { guards } = config;
  const patch = await unifiedDiff(checkout, from, to, { maxBytes: ioLimits.maxReviewedDiffBytes });
  // A diff too large to read whole cannot be reviewed: refused, not waved through half-read.
  const unreviewable: Violation[] = isTruncatedDiff(patch)
    ? [
        {
          guard: 'test-gaming',
          detail: `changed more than the harness reviews in one iteration (the diff was cut at ${ioLimits.maxReviewedDiffBytes} bytes); make smaller changes`,
        },
      ]
    : [];
  const changed = await changedFiles(checkout, from, to);
  const review = reviewDiff({
    files: changed,
    lines: parseUnifiedDiff(patch),
    testFiles: guards.testFiles,
    protectedPaths: guards.protectedPaths,
    locked,
    lockedNow: locked.size === 0 ? new Map() : await listTree(checkout, to),
    testGaming: guards.testGaming,
    ignoreDirectives: guards.ignoreDirectives,
  });
  const namedPaths = pathsNamedBy(
    contractCommands(featuresBefore, config),
    (await listTree(checkout, from)).keys(),
  );
  const featuresText = changed.some((file) => file.path === stateFiles.features)
    ? await fileAt(checkout, to, stateFiles.features)
    : undefined;
  const featuresAfter =
    featuresText === undefined
      ? featuresBefore
      : featuresText === null
        ? []
        : (() => {
            const parsed = parseFeatureList(featuresText);
            return parsed.ok ? parsed.list.features : undefined;
          })();
  const versions = await Promise.all(
    contractFilesToRead(changed).map(async (path) => ({
      path,
      before: await fileAt(checkout, from, path),
      after: await fileAt(checkout, to, path),
    })),
  );
  return {
    violations: [...unreviewable, ...review.violations],
    hints: review.hints,
    contract: contractChanges({
      featuresBefore,
      featuresAfter,
      changed,
      versions,
      namedPaths,
      testFiles: guards.testFiles,
    }),
    changed,
  };
}
