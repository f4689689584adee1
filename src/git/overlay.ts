import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runGit } from './run-git.ts';

/** Path -> `mode blob` of every file in a commit. */
async function entriesOf(cwd: string, commit: string): Promise<Map<string, { mode: string; blob: string }>> {
  const result = await runGit(cwd, ['ls-tree', '-r', '-z', '--full-tree', commit]);
  const entries = new Map<string, { mode: string; blob: string }>();
  for (const record of result.stdout.split('\0')) {
    if (record === '') continue;
    const tab = record.indexOf('\t');
    const [mode, , blob] = record.slice(0, tab).split(' ');
    if (mode !== undefined && blob !== undefined) entries.set(record.slice(tab + 1), { mode, blob });
  }
  return entries;
}

/**
 * A commit whose tree is `onto`'s with `paths` as they are in `from` (a path absent from `from` is
 * removed). Built with plumbing on a private index: nothing is checked out, no worktree file is read or
 * written, no filter or hook can run. The harness uses it to run one commit's tests on another's code.
 */
export async function overlayCommit(
  cwd: string,
  onto: string,
  from: string,
  paths: readonly string[],
  message: string,
): Promise<string> {
  const folder = mkdtempSync(join(tmpdir(), 'baton-overlay-'));
  const indexFile = join(folder, 'index');
  try {
    await runGit(cwd, ['read-tree', onto], { indexFile });
    const source = await entriesOf(cwd, from);
    const present = paths.filter((path) => source.has(path));
    const absent = paths.filter((path) => !source.has(path));
    // A bounded number of arguments per call, so a change to thousands of files still fits a command line.
    for (let start = 0; start < present.length; start += 200) {
      const batch = present.slice(start, start + 200).flatMap((path) => {
        const entry = source.get(path);
        return entry === undefined ? [] : ['--cacheinfo', `${entry.mode},${entry.blob},${path}`];
      });
      await runGit(cwd, ['update-index', '--add', ...batch], { indexFile });
    }
    for (let start = 0; start < absent.length; start += 200) {
      await runGit(cwd, ['update-index', '--force-remove', '--', ...absent.slice(start, start + 200)], {
        indexFile,
      });
    }
    const tree = (await runGit(cwd, ['write-tree'], { indexFile })).stdout.trim();
    return (await runGit(cwd, ['commit-tree', tree, '-p', onto, '-m', message])).stdout.trim();
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

/**
 * Adding, removing and pruning worktrees of one repository one at a time: `git worktree prune` removes
 * an empty `.git/worktrees`, which a concurrent `worktree add` is about to write into.
 */
const worktreeLocks = new Map<string, Promise<unknown>>();
function serialized<T>(workspace: string, work: () => Promise<T>): Promise<T> {
  const previous = worktreeLocks.get(workspace) ?? Promise.resolve();
  const result = previous.then(work, work);
  const tail = result.catch(() => undefined);
  worktreeLocks.set(workspace, tail);
  void tail.then(() => {
    if (worktreeLocks.get(workspace) === tail) worktreeLocks.delete(workspace);
  });
  return result;
}

/**
 * Run `work` in a detached worktree of `commit` at `path` (harness-owned, under .baton/worktrees), and
 * remove it afterwards whatever happened. Checkout runs no hook or filter (run-git.ts).
 */
export async function inDetachedWorktree<T>(
  workspace: string,
  path: string,
  commit: string,
  work: (worktree: string) => Promise<T>,
): Promise<T> {
  const remove = (): Promise<void> =>
    serialized(workspace, async () => {
      await runGit(workspace, ['worktree', 'remove', '--force', '--force', path], true);
      rmSync(path, { recursive: true, force: true });
      await runGit(workspace, ['worktree', 'prune'], true);
    });
  await remove();
  await serialized(workspace, () =>
    runGit(workspace, ['worktree', 'add', '--quiet', '--detach', path, commit]),
  );
  try {
    return await work(path);
  } finally {
    await remove();
  }
}
