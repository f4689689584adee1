import type { GuardName } from '../log/events.ts';
import type { ChangedFile } from '../git/git.ts';
import { matchesAny } from '../util/glob.ts';

/** Lines a diff added and removed in one file. */
export interface FileLines {
  readonly added: string[];
  readonly removed: string[];
}

/** Split `git diff --unified=0` output into added and removed lines per file. */
export function parseUnifiedDiff(patch: string): Map<string, FileLines> {
  const files = new Map<string, FileLines>();
  let current: FileLines | undefined;
  for (const line of patch.split('\n')) {
    if (line.startsWith('diff --git ')) {
      current = undefined;
    } else if (line.startsWith('+++ ')) {
      const path = line.slice(4) === '/dev/null' ? undefined : line.slice(6);
      if (path !== undefined) {
        current = { added: [], removed: [] };
        files.set(path, current);
      }
    } else if (line.startsWith('--- ')) {
      // A deleted file has "+++ /dev/null"; remember its removed lines under the old name.
      const path = line.slice(4) === '/dev/null' ? undefined : line.slice(6);
      if (path !== undefined) {
        current = { added: [], removed: [] };
        files.set(path, current);
      }
    } else if (current !== undefined && line.startsWith('+')) current.added.push(line.slice(1));
    else if (current !== undefined && line.startsWith('-')) current.removed.push(line.slice(1));
  }
  return files;
}

/** Markers that stop a test from running (or make the others not run). */
const skipMarker =
  /\b(?:it|test|describe|suite|context|bench)\.(?:skip|todo|only|skipIf|runIf)\b|\b(?:xit|xdescribe|xtest|fit|fdescribe)\s*\(|@pytest\.mark\.(?:skip|xfail)|\bt\.Skip(?:Now|f)?\(|#\[ignore\]|@Disabled\b|@Ignore\b|\bskip\s*\(\s*["']/g;
/** Calls that assert something, across common test frameworks. */
const assertion =
  /\bexpect\s*\(|\bassert(?:\.\w+|_\w+|\w*)?\s*[(!]|\bassert\s|\.should\b|\bt\.(?:is|not|ok|notOk|true|false|equal|deepEqual|same|throws|regex|match|assert|error|fatal)\w*\s*\(|\bself\.assert\w+\s*\(|\brequire\.\w+\s*\(/g;
/** Comments that switch a linter or type checker off. */
const ignoreDirective =
  /eslint-disable|@ts-ignore|@ts-nocheck|@ts-expect-error|#\s*type:\s*ignore|#\s*noqa|\/\/\s*nolint|pylint:\s*disable|istanbul ignore|c8 ignore|biome-ignore|oxlint-disable|#\[allow\(/g;

function count(lines: readonly string[], pattern: RegExp): number {
  let total = 0;
  for (const line of lines) total += line.match(pattern)?.length ?? 0;
  return total;
}

export interface DiffReviewInput {
  readonly files: readonly ChangedFile[];
  readonly lines: ReadonlyMap<string, FileLines>;
  readonly testFiles: readonly string[];
  readonly protectedPaths: readonly string[];
  /** Protected path -> blob id locked at run start, and the same paths' blob ids now (absent: deleted). */
  readonly locked: ReadonlyMap<string, string>;
  readonly lockedNow: ReadonlyMap<string, string>;
  readonly testGaming: boolean;
  readonly ignoreDirectives: boolean;
}

export interface Violation {
  readonly guard: GuardName;
  readonly detail: string;
}

/** A finding on a test file that running the accepted tests decides (core/test-changes.ts). */
export interface DiffHint {
  readonly path: string;
  readonly detail: string;
}

export interface DiffReview {
  /** Refusals: a protected file changed, a new test that skips or focuses, an ignore added to code. */
  readonly violations: Violation[];
  /** What the line counts suggest about existing tests: judged by running them, never by the count. */
  readonly hints: DiffHint[];
}

/** Files whose lines are code with comments (an ignore directive in a config or a text file is just text). */
const codeFile =
  /\.(?:[cm]?[jt]sx?|py|pyi|go|rs|java|kt|kts|scala|rb|php|cs|swift|c|cc|cpp|h|hpp|m|vue|svelte|sh|bash|lua|dart|ex|exs)$/;
/** The directive in a comment, not in a string or a word of the code. */
const inComment = (line: string, directive: RegExp): boolean => {
  const comment = line.search(/\/\/|\/\*|#|--/);
  if (comment < 0) return false;
  directive.lastIndex = 0;
  return directive.test(line.slice(comment));
};

/**
 * Review a worker's diff. Pure: the git reads happen before. Verdicts are what no run of a test can
 * judge (a protected file, a new test file that skips itself or focuses the run, an ignore directive in
 * code); what the line counts say about existing tests (a test deleted, skipped, an assertion fewer,
 * counted across files so a split is not a loss) are hints, decided by running the accepted tests.
 */
export function reviewDiff(input: DiffReviewInput): DiffReview {
  const violations: Violation[] = [];
  const hints: DiffHint[] = [];
  for (const [path, blob] of input.locked) {
    const now = input.lockedNow.get(path);
    if (now === blob) continue;
    violations.push({
      guard: 'protected-path',
      detail: `${now === undefined ? 'deleted' : 'changed'} the protected file ${path} (locked when the run started)`,
    });
  }
  const status = new Map(input.files.map((file) => [file.path, file.status]));
  for (const file of input.files) {
    if (input.locked.has(file.path)) continue;
    const isTest = matchesAny(file.path, input.testFiles);
    if (file.status === 'deleted' && isTest && input.testGaming) {
      hints.push({ path: file.path, detail: `deleted the test file ${file.path}` });
    } else if (file.status !== 'added' && matchesAny(file.path, input.protectedPaths)) {
      violations.push({ guard: 'protected-path', detail: `${file.status} the protected file ${file.path}` });
    }
  }
  // Assertions are counted over every test file of the diff: moved from one file to another is no loss.
  let assertionsNet = 0;
  const lost: { path: string; count: number }[] = [];
  for (const [path, lines] of input.lines) {
    if (!matchesAny(path, input.testFiles)) continue;
    const difference = count(lines.added, assertion) - count(lines.removed, assertion);
    assertionsNet += difference;
    if (difference < 0 && status.get(path) !== 'deleted') lost.push({ path, count: -difference });
  }
  for (const [path, lines] of input.lines) {
    const isTest = matchesAny(path, input.testFiles);
    const added = status.get(path) === 'added';
    if (isTest && input.testGaming) {
      const skipsAdded = count(lines.added, skipMarker) - count(lines.removed, skipMarker);
      if (skipsAdded > 0 && added) {
        violations.push({
          guard: 'test-gaming',
          detail: `added a new test file ${path} with ${skipsAdded} skip/only marker(s): a test that does not run proves nothing, and .only keeps the others from running`,
        });
      } else if (skipsAdded > 0) {
        hints.push({ path, detail: `added ${skipsAdded} skip/only marker(s) to ${path}` });
      }
    }
    if (input.ignoreDirectives && codeFile.test(path)) {
      const inComments = (list: readonly string[]): number =>
        list.filter((line) => inComment(line, new RegExp(ignoreDirective.source))).length;
      const ignoresAdded = inComments(lines.added) - inComments(lines.removed);
      if (ignoresAdded > 0 && isTest && input.testGaming) {
        hints.push({ path, detail: `added ${ignoresAdded} lint/type-check ignore(s) to ${path}` });
      } else if (ignoresAdded > 0 && !isTest) {
        violations.push({
          guard: 'ignore-directive',
          detail: `added ${ignoresAdded} lint/type-check ignore(s) to ${path}`,
        });
      }
    }
  }
  if (input.testGaming && assertionsNet < 0) {
    for (const entry of lost) {
      hints.push({ path: entry.path, detail: `removed ${entry.count} assertion(s) from ${entry.path}` });
    }
  }
  return { violations, hints };
}

/** The files to hash-lock at run start: the protected paths (tests are judged by running them). */
export function lockedPaths(
  tree: ReadonlyMap<string, string>,
  globs: readonly string[],
): Map<string, string> {
  const locked = new Map<string, string>();
  for (const [path, blob] of tree) if (matchesAny(path, globs)) locked.set(path, blob);
  return locked;
}
