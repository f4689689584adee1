import type { Config } from '../config/resolve.ts';
import { changedFiles, listTree, unifiedDiff } from '../git/git.ts';
import { parseUnifiedDiff, reviewDiff, type Violation } from '../guards/diff-review.ts';

/**
 * The review of committed work for test gaming, in every mode: locked tests, deleted tests, skip
 * markers, fewer assertions, protected paths, ignore directives, between `from` and `to`.
 */
export async function reviewCommittedWork(
  checkout: string,
  guards: Config['guards'],
  locked: ReadonlyMap<string, string>,
  from: string,
  to: string,
): Promise<Violation[]> {
  return reviewDiff({
    files: await changedFiles(checkout, from, to),
    lines: parseUnifiedDiff(await unifiedDiff(checkout, from, to)),
    testFiles: guards.testFiles,
    protectedPaths: guards.protectedPaths,
    locked,
    lockedNow: locked.size === 0 ? new Map() : await listTree(checkout, to),
    testGaming: guards.testGaming,
    ignoreDirectives: guards.ignoreDirectives,
  });
}
