import type { Config } from '../config/resolve.ts';
import { changedFiles, isTruncatedDiff, listTree, unifiedDiff } from '../git/git.ts';
import { ioLimits } from '../util/limits.ts';
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
  return [
    ...unreviewable,
    ...reviewDiff({
      files: await changedFiles(checkout, from, to),
      lines: parseUnifiedDiff(patch),
      testFiles: guards.testFiles,
      protectedPaths: guards.protectedPaths,
      locked,
      lockedNow: locked.size === 0 ? new Map() : await listTree(checkout, to),
      testGaming: guards.testGaming,
      ignoreDirectives: guards.ignoreDirectives,
    }),
  ];
}
