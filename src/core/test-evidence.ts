import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { CheckContext } from '../checks/registry.ts';
import { displayCommand } from '../checks/command-check.ts';
import { describeError } from '../errors.ts';
import type { Config } from '../config/resolve.ts';
import { inDetachedWorktree, overlayCommit } from '../git/overlay.ts';
import type { CheckResult } from '../log/events.ts';
import type { Feature, FeatureList } from '../workspace/features.ts';
import { listTree } from '../git/git.ts';
import { matchesAny } from '../util/glob.ts';
import { harnessDir } from '../workspace/paths.ts';
import { checkConcurrency, featureCheck, runChecks, verificationChecks } from './check-specs.ts';
import { pathsNamedBy } from './contract.ts';
import type { CommittedReview } from './review.ts';
import {
  behaviourChanges,
  changedAcceptedTests,
  checksAffectedBy,
  commandMentions,
  vacuousFlips,
  workerTestPaths,
  type BehaviourChange,
} from './test-changes.ts';

/**
 * The runs that judge a worker's test changes, in temporary worktrees beside the checkout: the accepted
 * tests on the worker's code, and the worker's tests on the code where a feature last failed. Both are
 * overlays built with git plumbing (git/overlay.ts), so nothing of the worker's is read through a link.
 */
export interface TestEvidenceInput {
  readonly workspace: string;
  readonly runId: string;
  /** Names the worktrees and output folders (`3`, `F2-1`...). */
  readonly label: string;
  /** The accepted commit the work was made on, and the worker's commit. */
  readonly base: string;
  readonly candidate: string;
  readonly review: CommittedReview;
  readonly features: FeatureList;
  readonly config: Pick<
    Config,
    'guards' | 'oracles' | 'verifyTimeoutMs' | 'verifyExclusive' | 'verifyConcurrency'
  >;
  readonly checkContext: CheckContext;
}

function worktreePath(input: TestEvidenceInput, name: string): string {
  return join(harnessDir(input.workspace), 'worktrees', input.runId, `${name}-${input.label}`);
}

/** The accepted test files the worker changed or deleted (none: nothing to run). */
export function acceptedTestsToRestore(input: Pick<TestEvidenceInput, 'review' | 'config'>): string[] {
  return input.config.guards.testGaming
    ? changedAcceptedTests(input.review.changed, input.config.guards.testFiles)
    : [];
}

/**
 * Every check, run on the worker's code with the accepted versions of the tests it changed put back. A
 * check in `passedBefore` that fails there is run once more before it counts as changed behaviour.
 */
async function runAcceptedTests(
  input: TestEvidenceInput,
  candidateTree: ReadonlyMap<string, string>,
  passedBefore: ReadonlySet<string>,
): Promise<CheckResult[] | undefined> {
  const paths = acceptedTestsToRestore(input);
  if (paths.length === 0) return undefined;
  const commit = await overlayCommit(
    input.workspace,
    input.candidate,
    input.base,
    paths,
    "baton: the worker's code with the accepted tests",
  );
  // Only the checks the restored files can change: the others' result on the worker's code is the
  // main verification's (core/test-changes.ts checksAffectedBy).
  const specs = verificationChecks(input.features.features, input.config);
  const tests = [
    ...new Set([
      ...[...candidateTree.keys()].filter((path) => matchesAny(path, input.config.guards.testFiles)),
      ...paths,
    ]),
  ];
  const affected = checksAffectedBy(
    specs.map((spec) => displayCommand(spec.command)),
    tests,
    paths,
  );
  const outputDir = join(input.checkContext.outputDir, '..', 'checks-accepted-tests');
  mkdirSync(outputDir, { recursive: true });
  return inDetachedWorktree(input.workspace, worktreePath(input, 'accepted-tests'), commit, (cwd) =>
    runChecks(
      specs.filter((_spec, index) => affected[index] === true),
      { ...input.checkContext, cwd, outputDir },
      { passedBefore, concurrency: checkConcurrency(input.config) },
    ),
  );
}

/**
 * Every feature with a recorded failure, run on the code it last failed on with the worker's tests (all
 * of them, as the worker's commit has them): a pass there, for a feature that passes now, means its check
 * does not tell the old code from the new. Only needed when the worker changed tests (or the files the
 * checks name): otherwise the failure on that code, with the same tests, already stands. Runs beside the
 * main verification, so it cannot know yet which features pass: the decision filters afterwards.
 */
async function runOnOldCode(
  input: TestEvidenceInput,
  candidateTree: ReadonlyMap<string, string>,
  lastFailedAt: Readonly<Record<string, string>>,
): Promise<CheckResult[]> {
  if (!input.config.guards.testGaming) return [];
  const { testFiles } = input.config.guards;
  const features = input.features.features.filter((feature) => lastFailedAt[feature.id] !== undefined);
  const named = pathsNamedBy(
    features.map((feature) => feature.verify),
    input.review.changed.map((file) => file.path),
  );
  if (features.length === 0 || workerTestPaths(input.review.changed, testFiles, named).length === 0) {
    return [];
  }
  const candidateTests = [...candidateTree.keys()].filter(
    (path) => matchesAny(path, testFiles) || named.has(path),
  );
  // A feature whose check names test files that are the same on the code it last failed on as in the
  // worker's commit (and no test file named by no feature, a helper, differs either) failed there with
  // these very tests: that failure stands, nothing to run. A check that names no test file runs a suite.
  const mentioned = new Map(
    input.features.features.map((feature) => [
      feature.id,
      candidateTests.filter((path) => commandMentions(feature.verify, path)),
    ]),
  );
  const helpers = candidateTests.filter(
    (path) => ![...mentioned.values()].some((paths) => paths.includes(path)),
  );
  const trees = new Map<string, ReadonlyMap<string, string>>();
  const byCommit = new Map<string, Feature[]>();
  for (const feature of features) {
    const commit = lastFailedAt[feature.id] ?? '';
    const tree = trees.get(commit) ?? (await listTree(input.workspace, commit));
    trees.set(commit, tree);
    const paths = mentioned.get(feature.id) ?? [];
    const same =
      paths.length > 0 && [...paths, ...helpers].every((path) => tree.get(path) === candidateTree.get(path));
    if (!same) byCommit.set(commit, [...(byCommit.get(commit) ?? []), feature]);
  }
  const results: CheckResult[] = [];
  let index = 0;
  for (const [old, group] of byCommit) {
    index += 1;
    const oldTests = [...(trees.get(old) ?? new Map<string, string>()).keys()].filter((path) =>
      matchesAny(path, testFiles),
    );
    const paths = [...new Set([...candidateTests, ...oldTests])];
    const commit = await overlayCommit(
      input.workspace,
      old,
      input.candidate,
      paths,
      "baton: the code a feature last failed on, with the worker's tests",
    );
    const outputDir = join(input.checkContext.outputDir, '..', `checks-on-old-code-${index}`);
    mkdirSync(outputDir, { recursive: true });
    results.push(
      ...(await inDetachedWorktree(input.workspace, worktreePath(input, `old-code-${index}`), commit, (cwd) =>
        runChecks(
          group.map((feature) => featureCheck(feature, input.config)),
          { ...input.checkContext, cwd, outputDir },
          { concurrency: checkConcurrency(input.config) },
        ),
      )),
    );
  }
  return results;
}

/** The two runs above, or why they could not be made (a git failure): the work is then not accepted. */
export type GatheredTestEvidence =
  | {
      readonly ok: true;
      readonly accepted: readonly CheckResult[] | undefined;
      readonly onOldCode: readonly CheckResult[];
    }
  | { readonly ok: false; readonly problem: string };

export const noTestEvidence: GatheredTestEvidence = { ok: true, accepted: undefined, onOldCode: [] };

/**
 * Both runs, side by side. A failure to build an overlay or its worktree (git refusing an object the
 * worker's commit made, a worktree folder that cannot be made) is returned, not thrown: the worker's
 * test changes cannot be judged, so its work is refused and the run goes on.
 */
export async function gatherTestEvidence(
  input: TestEvidenceInput,
  passedBefore: ReadonlySet<string>,
  lastFailedAt: Readonly<Record<string, string>>,
): Promise<GatheredTestEvidence> {
  let candidateTree: ReadonlyMap<string, string>;
  try {
    // Listed once, for both runs.
    candidateTree = await listTree(input.workspace, input.candidate);
  } catch (error) {
    return { ok: false, problem: describeError(error) };
  }
  const [accepted, onOldCode] = await Promise.allSettled([
    runAcceptedTests(input, candidateTree, passedBefore),
    runOnOldCode(input, candidateTree, lastFailedAt),
  ]);
  if (accepted.status === 'rejected') return { ok: false, problem: describeError(accepted.reason) };
  if (onOldCode.status === 'rejected') return { ok: false, problem: describeError(onOldCode.reason) };
  return { ok: true, accepted: accepted.value, onOldCode: onOldCode.value };
}

export interface TestJudgement {
  readonly behaviour: readonly BehaviourChange[];
  /** Features whose new passing check also passes on the code they last failed on. */
  readonly vacuous: readonly string[];
}

/** The decision on the runs above (pure, core/test-changes.ts). */
export function judgeTestChanges(
  input: Pick<TestEvidenceInput, 'review' | 'config'>,
  passedBefore: ReadonlySet<string>,
  candidate: readonly CheckResult[],
  accepted: readonly CheckResult[] | undefined,
  onOldCode: readonly CheckResult[],
): TestJudgement {
  if (!input.config.guards.testGaming) return { behaviour: [], vacuous: [] };
  return {
    behaviour: behaviourChanges({
      passedBefore,
      candidate,
      accepted,
      changedTests: acceptedTestsToRestore(input),
      hints: input.review.hints,
    }),
    vacuous: vacuousFlips(candidate, onOldCode),
  };
}
