import type { ChangedFile } from '../git/git.ts';
import type { DiffHint } from '../guards/diff-review.ts';
import type { CheckResult } from '../log/events.ts';
import { matchesAny } from '../util/glob.ts';

/**
 * Test changes judged by what they prove, not locked. When a worker changes, renames or deletes a test
 * file, the harness also runs the accepted version of it (the one on the branch when the iteration
 * started) against the worker's code ("accepted tests on new code"). A check those tests fail while it
 * passed before, or while the worker's own tests pass it, means the worker changed tested behaviour:
 * a proposal. A feature that starts passing must also fail on the code where it last failed, run with
 * the worker's tests ("new tests on old code"): one that passes there does not discriminate. Pure.
 */

const key = (check: Pick<CheckResult, 'kind' | 'name'>): string => `${check.kind}:${check.name}`;

/** The accepted test files the worker changed, renamed or deleted: what the first overlay puts back. */
export function changedAcceptedTests(
  changed: readonly ChangedFile[],
  testFiles: readonly string[],
): string[] {
  return changed
    .filter((file) => file.status !== 'added' && matchesAny(file.path, testFiles))
    .map((file) => file.path);
}

/** The test files (and files the checks name) the worker added or changed: what the second overlay takes. */
export function workerTestPaths(
  changed: readonly ChangedFile[],
  testFiles: readonly string[],
  namedPaths: ReadonlySet<string>,
): string[] {
  return changed
    .filter((file) => matchesAny(file.path, testFiles) || namedPaths.has(file.path))
    .map((file) => file.path);
}

export interface TestChangeInput {
  /** `kind:name` of what passed when the work started (accepted code, accepted tests). */
  readonly passedBefore: ReadonlySet<string>;
  /** Results on the worker's commit (its code, its tests). */
  readonly candidate: readonly CheckResult[];
  /**
   * Results with the accepted versions of the changed tests put back on the worker's code (undefined:
   * the worker changed no accepted test, so there was nothing to put back).
   */
  readonly accepted: readonly CheckResult[] | undefined;
  /** The accepted test files the worker changed (the ones `accepted` put back). */
  readonly changedTests: readonly string[];
  /** The diff's findings on existing tests (guards/diff-review.ts): hints, decided here by the runs. */
  readonly hints: readonly DiffHint[];
}

export interface BehaviourChange {
  readonly detail: string;
  readonly checks: readonly string[];
  readonly features: readonly string[];
}

/** Does `command` name `path` (its path, or its file name when longer than 3 characters)? */
export function commandMentions(command: string, path: string): boolean {
  const name = path.slice(path.lastIndexOf('/') + 1);
  return command.includes(path) || (name.length > 3 && command.includes(name));
}

/** Does `check` name `path` in its command (so a failure of it speaks for that file)? */
function names(check: CheckResult, path: string): boolean {
  return commandMentions(check.command, path);
}

/**
 * The changes to tested behaviour in a worker's commit: checks the accepted tests fail on its code that
 * passed before or pass with its tests; and flagged edits (a test deleted, skipped, an assertion fewer)
 * that no check could validate, because every check that runs the file fails both ways. Empty: the test
 * changes only add or tighten, and the worker's versions become the accepted ones.
 */
export function behaviourChanges(input: TestChangeInput): BehaviourChange[] {
  const candidate = new Map(input.candidate.map((check) => [key(check), check]));
  const changes: BehaviourChange[] = [];
  const files = input.changedTests.join(', ');
  for (const check of input.accepted ?? []) {
    if (check.passed || (check.kind !== 'feature' && check.kind !== 'oracle')) continue;
    const was = input.passedBefore.has(key(check));
    const now = candidate.get(key(check))?.passed === true;
    if (!was && !now) continue;
    changes.push({
      detail: was
        ? `the accepted version of ${files} fails ${check.kind} ${check.name} on the new code, which passed it before: the change alters tested behaviour`
        : `${check.kind} ${check.name} passes only with the changed tests: the accepted version of ${files} still fails it on the new code`,
      checks: [key(check)],
      features: check.kind === 'feature' ? [check.name] : [],
    });
  }
  // A flagged edit is validated by a check that runs the file (names it, or an oracle) and passes with
  // both versions. When the checks that name it fail both ways, nothing shows the edit is harmless: a
  // proposal. When only oracles run it and they fail both ways (for other reasons), the hint is kept in
  // the record for the report and the model judge, not turned into a verdict.
  const runsIt = (check: CheckResult, path: string): boolean => check.kind === 'oracle' || names(check, path);
  for (const hint of input.hints) {
    const validated = (input.accepted ?? input.candidate).some(
      (check) => runsIt(check, hint.path) && check.passed && candidate.get(key(check))?.passed === true,
    );
    if (validated) continue;
    const named = input.candidate.filter((check) => check.kind !== 'oracle' && names(check, hint.path));
    if (named.length === 0) continue;
    changes.push({
      detail: `${hint.detail}, and no check could show that it keeps what the test proved (${named
        .map((check) => `${check.kind} ${check.name}`)
        .join(', ')} fail${named.length === 1 ? 's' : ''} with either version)`,
      checks: named.map(key),
      features: named.filter((check) => check.kind === 'feature').map((check) => check.name),
    });
  }
  return changes;
}

/**
 * Features that pass on the worker's commit and also pass on the code where they last failed, run with
 * the worker's tests: their check does not tell the old code from the new (vacuous). `onOldCode` holds
 * those runs (absent for a feature: its tests did not change, and its failure there already stands).
 */
export function vacuousFlips(candidate: readonly CheckResult[], onOldCode: readonly CheckResult[]): string[] {
  const old = new Map(onOldCode.map((check) => [key(check), check.passed]));
  return candidate
    .filter((check) => check.kind === 'feature' && check.passed && old.get(key(check)) === true)
    .map((check) => check.name);
}

/**
 * Which checks a change of test files can make come out differently: a check whose command names one
 * of `changed`, and every check that names no test file at all (it runs a suite). When a changed file is
 * named by no check (a helper, a fixture), any check may depend on it: all of them. The others run the
 * same code with the same tests either way, so their result is already known.
 */
export function checksAffectedBy(
  commands: readonly string[],
  tests: readonly string[],
  changed: readonly string[],
): boolean[] {
  const mentioned = commands.map((command) => tests.filter((path) => commandMentions(command, path)));
  const named = new Set(mentioned.flat());
  if (changed.some((path) => !named.has(path))) return commands.map(() => true);
  return mentioned.map((paths) => paths.length === 0 || paths.some((path) => changed.includes(path)));
}
