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
  /** Path -> blob id locked at run start, and the same paths' blob ids now (absent: deleted). */
  readonly locked: ReadonlyMap<string, string>;
  readonly lockedNow: ReadonlyMap<string, string>;
  readonly testGaming: boolean;
  readonly ignoreDirectives: boolean;
}

export interface Violation {
  readonly guard: GuardName;
  readonly detail: string;
}

/**
 * Review a worker's diff for test gaming. Pure: the git reads happen before. A violation refuses the
 * whole iteration, because a diff that weakens the oracle makes every result after it meaningless.
 */
export function reviewDiff(input: DiffReviewInput): Violation[] {
  const violations: Violation[] = [];
  for (const [path, blob] of input.locked) {
    const now = input.lockedNow.get(path);
    if (now === blob) continue;
    const isTest = matchesAny(path, input.testFiles);
    violations.push({
      guard: isTest ? 'test-gaming' : 'protected-path',
      detail: `${now === undefined ? 'deleted' : 'changed'} ${isTest ? 'the existing test file' : 'the protected file'} ${path} (locked when the run started)`,
    });
  }
  for (const file of input.files) {
    if (input.locked.has(file.path)) continue;
    const isTest = matchesAny(file.path, input.testFiles);
    if (file.status === 'deleted' && isTest && input.testGaming) {
      violations.push({ guard: 'test-gaming', detail: `deleted the test file ${file.path}` });
    } else if (file.status !== 'added' && matchesAny(file.path, input.protectedPaths)) {
      violations.push({ guard: 'protected-path', detail: `${file.status} the protected file ${file.path}` });
    }
  }
  for (const [path, lines] of input.lines) {
    const isTest = matchesAny(path, input.testFiles);
    if (isTest && input.testGaming) {
      const skipsAdded = count(lines.added, skipMarker) - count(lines.removed, skipMarker);
      if (skipsAdded > 0) {
        violations.push({
          guard: 'test-gaming',
          detail: `added ${skipsAdded} skip/only marker(s) to ${path}`,
        });
      }
      const existed = input.files.find((file) => file.path === path)?.status !== 'added';
      const assertionsLost = count(lines.removed, assertion) - count(lines.added, assertion);
      if (
        existed &&
        assertionsLost > 0 &&
        input.files.find((file) => file.path === path)?.status !== 'deleted'
      ) {
        violations.push({
          guard: 'test-gaming',
          detail: `removed ${assertionsLost} assertion(s) from ${path}`,
        });
      }
    }
    if (input.ignoreDirectives) {
      const ignoresAdded = count(lines.added, ignoreDirective) - count(lines.removed, ignoreDirective);
      if (ignoresAdded > 0) {
        violations.push({
          guard: 'ignore-directive',
          detail: `added ${ignoresAdded} lint/type-check ignore(s) to ${path}`,
        });
      }
    }
  }
  return violations;
}

/** The files to hash-lock at run start: existing tests and protected paths. */
export function lockedPaths(
  tree: ReadonlyMap<string, string>,
  globs: readonly string[],
): Map<string, string> {
  const locked = new Map<string, string>();
  for (const [path, blob] of tree) if (matchesAny(path, globs)) locked.set(path, blob);
  return locked;
}
