import { lstatSync } from 'node:fs';
import { join } from 'node:path';
import { BatonError } from '../errors.ts';
import { excludeLocally, runGit } from '../git/git.ts';
import { readInside } from '../util/safe-io.ts';
import {
  excludePattern,
  leaveOutReasonText,
  needsContent,
  planBaseline,
  type BaselinePlan,
} from '../workspace/baseline-policy.ts';

/**
 * The interpreter of the baseline policy (workspace/baseline-policy.ts) over the files nobody
 * committed: it lists the untracked, not ignored files, asks the policy, and ignores what it leaves out
 * in .git/info/exclude, so no later `git add --all` (the baseline, a person's edits committed between
 * iterations) can pick them up. The files themselves are never touched.
 */
export async function planUntracked(workspace: string): Promise<BaselinePlan> {
  const paths: string[] = [];
  // Streamed: an unignored node_modules/ lists more names than any output cap allows.
  await runGit(workspace, ['ls-files', '--others', '--exclude-standard', '-z'], {
    onRecord: (record) => {
      if (record !== '') paths.push(record);
    },
  });
  return planBaseline(paths, {
    contentOf: (path) => (needsContent(path) ? readText(workspace, path) : undefined),
    exists: (path) => isFile(join(workspace, path)),
  });
}

/** Ignore locally what the plan leaves out; refuses (changing nothing) a name no exclude line can hold. */
export async function applyLeaveOut(workspace: string, plan: BaselinePlan): Promise<void> {
  if (plan.leaveOut.length === 0) return;
  const patterns: string[] = [];
  for (const entry of plan.leaveOut) {
    const pattern = excludePattern(entry.unit);
    if (pattern === undefined) {
      throw new BatonError(
        `${JSON.stringify(entry.unit)} ${leaveOutReasonText[entry.reason]} and its name cannot be excluded from commits`,
        {
          code: 'UNEXCLUDABLE_PATH',
          fix: 'rename or move the file out of the workspace, then run again; nothing was committed',
        },
      );
    }
    patterns.push(pattern);
  }
  await excludeLocally(
    workspace,
    patterns,
    'baton: left out of commits (secrets, dependency folders, logs); move them to .gitignore to share the rule',
  );
}

/** Undefined for a link or anything else not plainly readable: the policy then keeps the file out. */
function readText(workspace: string, path: string): string | undefined {
  try {
    return readInside(workspace, path, { maxBytes: 64 * 1024 })?.text;
  } catch {
    return undefined;
  }
}

function isFile(path: string): boolean {
  try {
    return lstatSync(path).isFile();
  } catch {
    return false;
  }
}
