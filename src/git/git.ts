import { appendFileSync, existsSync, lstatSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { defaultMaxOutputBytes, runGit, type GitIdentity } from './run-git.ts';
import { GitWorkerContentError } from './worker-content.ts';

/**
 * The few git operations the harness needs, all through the hardened runGit (run-git.ts). The harness
 * commits under its own identity, never signs, and runs no hook: its commits record what happened,
 * they are not a developer's.
 */
export { runGit, type GitIdentity, type GitResult, type RunGitOptions } from './run-git.ts';
export { GitWorkerContentError, isWorkerContentError, type WorkerContentReason } from './worker-content.ts';

export async function isGitRepository(cwd: string): Promise<boolean> {
  const result = await runGit(cwd, ['rev-parse', '--is-inside-work-tree'], true).catch(() => undefined);
  return result?.exitCode === 0 && result.stdout.trim() === 'true';
}

export async function isTopLevel(cwd: string): Promise<boolean> {
  const result = await runGit(cwd, ['rev-parse', '--show-prefix'], true);
  return result.exitCode === 0 && result.stdout.trim() === '';
}

export async function initRepository(cwd: string): Promise<void> {
  await runGit(cwd, ['init', '--quiet', '--initial-branch=main']);
}

export async function headCommit(cwd: string): Promise<string | null> {
  const result = await runGit(cwd, ['rev-parse', '--verify', '--quiet', 'HEAD'], true);
  return result.exitCode === 0 ? result.stdout.trim() : null;
}

/** Paths with uncommitted changes or untracked (not ignored) files; tracked ones only with `untracked: false`. */
export async function changedPaths(
  cwd: string,
  options: { readonly untracked?: boolean } = {},
): Promise<string[]> {
  const untracked = options.untracked === false ? 'no' : 'all';
  const result = await runGit(cwd, ['status', '--porcelain=v1', '-z', `--untracked-files=${untracked}`]);
  const entries = result.stdout.split('\0').filter((entry) => entry !== '');
  const paths: string[] = [];
  for (let index = 0; index < entries.length; index += 1) {
    const entry = entries[index] ?? '';
    paths.push(entry.slice(3));
    // A rename entry is followed by its source path, which we skip.
    if (entry.startsWith('R') || entry.startsWith('C')) index += 1;
  }
  return paths;
}

export async function untrackedPaths(cwd: string): Promise<string[]> {
  const result = await runGit(cwd, ['ls-files', '--others', '--exclude-standard', '-z']);
  return result.stdout.split('\0').filter((entry) => entry !== '');
}

/**
 * What git itself shows of nested repositories, in one status call that never enters them: untracked
 * directories (with --untracked-files=all git lists a folder only when it holds a repository) and
 * index or worktree entries of mode 160000 (gitlinks). `--ignore-submodules=dirty` compares a gitlink's
 * commit without running git inside it.
 */
export interface NestedRepositoryCandidates {
  /** Every path status reports: changed, staged, deleted or untracked (folders end with `/`). */
  readonly paths: readonly string[];
  readonly untrackedDirectories: readonly string[];
  readonly gitlinks: readonly string[];
}

export async function nestedRepositoryCandidates(
  cwd: string,
  pathspecs: readonly string[] = [],
): Promise<NestedRepositoryCandidates> {
  const paths: string[] = [];
  const untrackedDirectories: string[] = [];
  const gitlinks: string[] = [];
  let skipOriginal = false;
  await runGit(
    cwd,
    [
      'status',
      '--porcelain=v2',
      '-z',
      '--untracked-files=all',
      '--ignore-submodules=dirty',
      ...(pathspecs.length > 0 ? ['--', ...pathspecs] : []),
    ],
    {
      onRecord: (record) => {
        if (record === '') return;
        if (skipOriginal) {
          skipOriginal = false; // the source path of a rename (type 2) record
          return;
        }
        const type = record[0];
        if (type === '?') {
          const path = record.slice(2);
          paths.push(path);
          if (path.endsWith('/')) untrackedDirectories.push(path.slice(0, -1));
          return;
        }
        const fieldCount = type === '1' ? 8 : type === '2' ? 9 : type === 'u' ? 10 : 0;
        if (fieldCount === 0) return;
        const fields = record.split(' ');
        const path = fields.slice(fieldCount).join(' ');
        const modes = type === 'u' ? fields.slice(3, 7) : fields.slice(3, 6);
        paths.push(path);
        if (modes.includes('160000')) gitlinks.push(path);
        if (type === '2') skipOriginal = true;
      },
    },
  );
  return { paths, untrackedDirectories, gitlinks };
}

/**
 * `git add` records a nested repository as a gitlink, and every later status or stash would run git
 * inside it with that repository's config (fsmonitor, filters: the worker's programs, on the host).
 * `git add` itself checks a populated gitlink the same way. So the harness refuses, before adding
 * anything, both a new nested repository and a recorded gitlink whose repository the worktree controls.
 */
async function refuseNestedRepositories(cwd: string, pathspecs: readonly string[] = []): Promise<void> {
  const candidates = await nestedRepositoryCandidates(cwd, pathspecs);
  const found = [...candidates.untrackedDirectories, ...candidates.gitlinks];
  if (found.length === 0) found.push(...(await untrustedPopulatedGitlinks(cwd)));
  if (found.length > 0) {
    throw new GitWorkerContentError(
      'embedded-repository',
      `the worktree holds ${found.length === 1 ? 'a nested git repository' : `${found.length} nested git repositories`}: ${found.slice(0, 5).join(', ')}`,
      found[0],
    );
  }
}

/** Stage everything and commit it; returns the new commit, or null when there was nothing to commit. */
export async function commitAll(
  cwd: string,
  message: string,
  identity?: GitIdentity,
  /** Runs once everything is staged, before the commit: where the project's pre-commit checks run. */
  staged?: () => Promise<void>,
): Promise<string | null> {
  await refuseNestedRepositories(cwd);
  await runGit(cwd, ['add', '--all']);
  await staged?.();
  return commitStaged(cwd, message, identity);
}

export async function commitPaths(
  cwd: string,
  paths: readonly string[],
  message: string,
  identity?: GitIdentity,
): Promise<string | null> {
  await refuseNestedRepositories(cwd, paths);
  await runGit(cwd, ['add', '--all', '--', ...paths]);
  return commitStaged(cwd, message, identity);
}

/**
 * Fold `paths` into the commit at HEAD and give it a new message and author: one commit where there
 * were two (the worker's change, then the harness's record of it). Returns the new commit.
 */
export async function amendWithPaths(
  cwd: string,
  paths: readonly string[],
  message: string,
  identity?: GitIdentity,
): Promise<string> {
  await refuseNestedRepositories(cwd, paths);
  await runGit(cwd, ['add', '--all', '--', ...paths]);
  await runGit(cwd, ['commit', '--quiet', '--no-verify', '--amend', '--reset-author', '-m', message], {
    identity,
  });
  return (await headCommit(cwd)) ?? '';
}

/** The tree a commit records. */
export async function treeOf(cwd: string, commit: string): Promise<string | null> {
  const result = await runGit(cwd, ['rev-parse', '--verify', '--quiet', `${commit}^{tree}`], true);
  return result.exitCode === 0 ? result.stdout.trim() : null;
}

async function commitStaged(cwd: string, message: string, identity?: GitIdentity): Promise<string | null> {
  const staged = await runGit(cwd, ['diff', '--cached', '--quiet'], true);
  if (staged.exitCode === 0) return null;
  await runGit(cwd, ['commit', '--quiet', '--no-verify', '-m', message], { identity });
  return headCommit(cwd);
}

/**
 * A diff is worker-sized: it is read up to a cap, and a cut one ends with a marker line no diff line
 * can look like (patch lines start with a space, +, -, @, \\ or a header word; stat lines with a space).
 */
export const diffTruncationMarker = '[baton: diff truncated';

export interface BoundedDiff {
  readonly text: string;
  readonly truncated: boolean;
}

export interface DiffOptions {
  /** Most bytes of diff read into memory (default 16 MiB). */
  readonly maxBytes?: number;
}

export function isTruncatedDiff(text: string): boolean {
  return text.startsWith(diffTruncationMarker) || text.includes(`\n${diffTruncationMarker}`);
}

async function boundedDiffOutput(
  cwd: string,
  args: readonly string[],
  options: DiffOptions,
): Promise<BoundedDiff> {
  const result = await runGit(cwd, args, { maxOutputBytes: options.maxBytes, onOverflow: 'truncate' });
  if (!result.truncated) return { text: result.stdout, truncated: false };
  const limit = options.maxBytes ?? defaultMaxOutputBytes;
  const separator = result.stdout === '' || result.stdout.endsWith('\n') ? '' : '\n';
  return {
    text: `${result.stdout}${separator}${diffTruncationMarker} at ${limit} bytes: the rest of the diff was not read]\n`,
    truncated: true,
  };
}

export async function boundedDiffBetween(
  cwd: string,
  from: string,
  to: string,
  options: DiffOptions = {},
): Promise<BoundedDiff> {
  if (from === to) return { text: '', truncated: false };
  return boundedDiffOutput(cwd, ['diff', '--stat', '--patch', from, to], options);
}

export async function diffBetween(
  cwd: string,
  from: string,
  to: string,
  options: DiffOptions = {},
): Promise<string> {
  return (await boundedDiffBetween(cwd, from, to, options)).text;
}

/** Restore one file to its committed content (undo an agent's edit of a harness-owned file). */
export async function restorePath(cwd: string, path: string): Promise<void> {
  await runGit(cwd, ['checkout', 'HEAD', '--', path]);
}

/** Move uncommitted and untracked files into a stash so nothing is lost; returns the stash commit. */
export async function stashAll(cwd: string, message: string): Promise<string | null> {
  // git stash checks a populated gitlink by running git inside it, which no setting of ours prevents.
  const untrusted = await untrustedPopulatedGitlinks(cwd);
  if (untrusted.length > 0) {
    throw new GitWorkerContentError(
      'embedded-repository',
      `cannot stash: the index records nested repositories the worktree controls: ${untrusted.slice(0, 5).join(', ')}`,
      untrusted[0],
    );
  }
  const result = await runGit(cwd, ['stash', 'push', '--include-untracked', '--message', message], true);
  if (result.exitCode !== 0 || result.stdout.includes('No local changes')) return null;
  const stash = await runGit(cwd, ['rev-parse', '--verify', '--quiet', 'stash@{0}'], true);
  return stash.exitCode === 0 ? stash.stdout.trim() : null;
}

/**
 * Add patterns to .git/info/exclude (ignored locally, without touching the tracked .gitignore); a
 * comment, when given, goes once above the patterns that were not there yet.
 */
export async function excludeLocally(
  cwd: string,
  patterns: string | readonly string[],
  comment?: string,
): Promise<void> {
  const gitDir = (await runGit(cwd, ['rev-parse', '--git-common-dir'])).stdout.trim();
  const absolute = isAbsolute(gitDir)
    ? join(gitDir, 'info', 'exclude')
    : join(cwd, gitDir, 'info', 'exclude');
  const current = existsSync(absolute) ? readFileSync(absolute, 'utf8') : '';
  const lines = new Set(current.split('\n'));
  const missing = [...new Set(typeof patterns === 'string' ? [patterns] : patterns)].filter(
    (pattern) => !lines.has(pattern),
  );
  if (missing.length === 0) return;
  mkdirSync(dirname(absolute), { recursive: true });
  const header = comment === undefined ? [] : [`# ${comment}`];
  appendFileSync(
    absolute,
    `${current === '' || current.endsWith('\n') ? '' : '\n'}${[...header, ...missing].join('\n')}\n`,
  );
}

/** Path -> blob id of every file in a commit (one call, however many files). */
export async function listTree(cwd: string, commit: string): Promise<Map<string, string>> {
  const result = await runGit(cwd, ['ls-tree', '-r', '-z', '--full-tree', commit]);
  const files = new Map<string, string>();
  for (const entry of result.stdout.split('\0')) {
    if (entry === '') continue;
    const tab = entry.indexOf('\t');
    const [, , blob] = entry.slice(0, tab).split(' ');
    if (blob !== undefined) files.set(entry.slice(tab + 1), blob);
  }
  return files;
}

export interface ChangedFile {
  readonly status: 'added' | 'modified' | 'deleted' | 'type-changed';
  readonly path: string;
}

export async function changedFiles(cwd: string, from: string, to: string): Promise<ChangedFile[]> {
  const result = await runGit(cwd, ['diff', '--name-status', '--no-renames', '-z', from, to]);
  const parts = result.stdout.split('\0').filter((part) => part !== '');
  const files: ChangedFile[] = [];
  for (let index = 0; index + 1 < parts.length; index += 2) {
    const code = parts[index] ?? '';
    const path = parts[index + 1] ?? '';
    const status = code.startsWith('A')
      ? 'added'
      : code.startsWith('D')
        ? 'deleted'
        : code.startsWith('T')
          ? 'type-changed'
          : 'modified';
    files.push({ status, path });
  }
  return files;
}

export async function boundedUnifiedDiff(
  cwd: string,
  from: string,
  to: string,
  options: DiffOptions = {},
): Promise<BoundedDiff> {
  return boundedDiffOutput(cwd, ['diff', '--no-renames', '--unified=0', '--no-color', from, to], options);
}

/** The patch between two commits with no context lines: what the diff guards read (marked if cut). */
export async function unifiedDiff(
  cwd: string,
  from: string,
  to: string,
  options: DiffOptions = {},
): Promise<string> {
  return (await boundedUnifiedDiff(cwd, from, to, options)).text;
}

export async function updateRef(cwd: string, ref: string, commit: string): Promise<void> {
  await runGit(cwd, ['update-ref', ref, commit]);
}

/** Put the branch, index and tracked files back to a commit (untracked files are left alone). */
export async function resetHard(cwd: string, commit: string): Promise<void> {
  await runGit(cwd, ['reset', '--quiet', '--hard', commit]);
}

/** A blob's bytes as text (plumbing: no textconv, whatever the attributes say). */
export async function fileAt(cwd: string, commit: string, path: string): Promise<string | null> {
  const result = await runGit(cwd, ['cat-file', 'blob', `${commit}:${path}`], true);
  return result.exitCode === 0 ? result.stdout : null;
}

/** Paths added or changed to a gitlink (mode 160000) between two commits. */
export async function gitlinksBetween(cwd: string, from: string, to: string): Promise<string[]> {
  return gitlinksOfRawDiff(cwd, ['diff-tree', '-r', '-z', '--raw', '--no-renames', from, to]);
}

/** Paths the index records as gitlinks that HEAD (or, before the first commit, nothing) does not. */
export async function stagedGitlinks(cwd: string): Promise<string[]> {
  const base = (await headCommit(cwd)) ?? (await emptyTree(cwd));
  return gitlinksOfRawDiff(cwd, ['diff-index', '--cached', '-r', '-z', '--raw', '--no-renames', base]);
}

/** Every gitlink in the index, streamed (the listing is as long as the repository). */
export async function indexGitlinks(cwd: string): Promise<string[]> {
  const gitlinks: string[] = [];
  await runGit(cwd, ['ls-files', '--stage', '-z'], {
    onRecord: (record) => {
      if (record.startsWith('160000 ')) gitlinks.push(record.slice(record.indexOf('\t') + 1));
    },
  });
  return gitlinks;
}

async function emptyTree(cwd: string): Promise<string> {
  return (await runGit(cwd, ['hash-object', '-t', 'tree', '/dev/null'])).stdout.trim();
}

async function gitlinksOfRawDiff(cwd: string, args: readonly string[]): Promise<string[]> {
  // -z raw output: ":oldmode newmode old new status" NUL path NUL.
  const gitlinks: string[] = [];
  let newMode: string | null = null;
  await runGit(cwd, args, {
    onRecord: (record) => {
      if (record.startsWith(':')) {
        newMode = record.slice(1).split(' ')[1] ?? '';
        return;
      }
      if (newMode === '160000') gitlinks.push(record);
      newMode = null;
    },
  });
  return gitlinks;
}

/**
 * Gitlinks whose folder holds a repository the worktree controls: a `.git` folder or link, or a
 * `.git` file pointing anywhere but the main repository's own modules folder (a real submodule's).
 */
export async function untrustedPopulatedGitlinks(cwd: string): Promise<string[]> {
  const gitlinks = await indexGitlinks(cwd);
  if (gitlinks.length === 0) return [];
  const commonDir = resolve(await gitCommonDir(cwd));
  return gitlinks.filter((path) => {
    const entry = join(cwd, path, '.git');
    let stats;
    try {
      stats = lstatSync(entry);
    } catch {
      return false; // not populated: git has nothing to run inside
    }
    if (!stats.isFile() || stats.size > 4096) return true;
    const target = /^gitdir: (.+)$/m.exec(readFileSync(entry, 'utf8').slice(0, 4096))?.[1]?.trim();
    if (target === undefined) return true;
    return !isWithin(commonDir, resolve(join(cwd, path), target));
  });
}

export async function gitCommonDir(cwd: string): Promise<string> {
  const dir = (await runGit(cwd, ['rev-parse', '--git-common-dir'])).stdout.trim();
  return isAbsolute(dir) ? dir : join(cwd, dir);
}

export interface WorktreeConfigFile {
  /** Relative to the worktree. */
  readonly file: string;
  readonly keys: readonly string[];
}

/**
 * Config files git reads that lie in the worktree, outside the git folder: a `.git/config` that
 * includes a shared file from the project (`include.path = ../.gitconfig`). The worker can write those,
 * and a filter driver defined there runs on `git add`, so the caller refuses to run with any (the
 * person's config does not change during a run: checking once at the start is enough).
 */
export async function worktreeConfigFiles(cwd: string): Promise<WorktreeConfigFile[]> {
  const root = resolve(cwd);
  const commonDir = resolve(await gitCommonDir(cwd));
  const gitDir = resolve(root, (await runGit(cwd, ['rev-parse', '--git-dir'])).stdout.trim());
  const files = new Map<string, string[]>();
  const fields: string[] = [];
  await runGit(cwd, ['config', '--list', '--show-origin', '--show-scope', '-z'], {
    onRecord: (record) => {
      fields.push(record);
      if (fields.length < 3) return;
      const [, origin = '', entry = ''] = fields.splice(0, 3);
      if (!origin.startsWith('file:')) return;
      const file = resolve(root, origin.slice('file:'.length));
      const inGitDirectory = [commonDir, gitDir].some((dir) => isWithin(dir, file));
      if (!isWithin(root, file) || inGitDirectory) return;
      const key = entry.split('\n')[0] ?? '';
      files.set(file, [...(files.get(file) ?? []), key]);
    },
  });
  return [...files].map(([file, keys]) => ({ file: relative(root, file), keys }));
}

function isWithin(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (!isAbsolute(rel) && rel !== '..' && !rel.startsWith(`..${sep}`));
}
