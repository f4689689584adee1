import { execFile } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { BatonError } from '../errors.ts';
import { faultBeforeGitCommand } from '../util/fault.ts';

/**
 * The few git operations the harness needs. The harness commits under its own identity, never signs,
 * and skips the repository's hooks: its commits record what happened, they are not a developer's.
 */
const harnessIdentity = {
  GIT_AUTHOR_NAME: 'baton',
  GIT_AUTHOR_EMAIL: 'baton@localhost',
  GIT_COMMITTER_NAME: 'baton',
  GIT_COMMITTER_EMAIL: 'baton@localhost',
};

export interface GitResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly exitCode: number;
}

export function runGit(cwd: string, args: readonly string[], allowFailure = false): Promise<GitResult> {
  faultBeforeGitCommand(); // BATON_FAULT, crash tests only
  return new Promise((resolve, reject) => {
    execFile(
      'git',
      ['-c', 'commit.gpgsign=false', '-c', 'tag.gpgsign=false', '-c', 'core.quotepath=off', ...args],
      {
        cwd,
        env: { ...process.env, ...harnessIdentity, GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C' },
        maxBuffer: 256 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        const exitCode = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
        if (error !== null && (error as NodeJS.ErrnoException).code === 'ENOENT') {
          reject(
            new BatonError('git is not installed or not on PATH', {
              code: 'GIT_MISSING',
              fix: 'install git (apt-get install git) and run again',
            }),
          );
          return;
        }
        if (exitCode !== 0 && !allowFailure) {
          reject(
            new BatonError(`git ${args.join(' ')} failed in ${cwd}: ${stderr.trim() || stdout.trim()}`, {
              code: 'GIT_FAILED',
              fix: 'check the repository state with `git status`; baton changed nothing after this failure',
            }),
          );
          return;
        }
        resolve({ stdout, stderr, exitCode });
      },
    );
  });
}

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

/** Paths with uncommitted changes or untracked (not ignored) files. */
export async function changedPaths(cwd: string): Promise<string[]> {
  const result = await runGit(cwd, ['status', '--porcelain=v1', '-z', '--untracked-files=all']);
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

/** Stage everything and commit it; returns the new commit, or null when there was nothing to commit. */
export async function commitAll(cwd: string, message: string): Promise<string | null> {
  await runGit(cwd, ['add', '--all']);
  return commitStaged(cwd, message);
}

export async function commitPaths(
  cwd: string,
  paths: readonly string[],
  message: string,
): Promise<string | null> {
  await runGit(cwd, ['add', '--all', '--', ...paths]);
  return commitStaged(cwd, message);
}

async function commitStaged(cwd: string, message: string): Promise<string | null> {
  const staged = await runGit(cwd, ['diff', '--cached', '--quiet'], true);
  if (staged.exitCode === 0) return null;
  await runGit(cwd, ['commit', '--quiet', '--no-verify', '-m', message]);
  return headCommit(cwd);
}

export async function tag(cwd: string, name: string, commit: string): Promise<void> {
  await runGit(cwd, ['tag', '--force', name, commit]);
}

export async function diffBetween(cwd: string, from: string, to: string): Promise<string> {
  if (from === to) return '';
  return (await runGit(cwd, ['diff', '--stat', '--patch', from, to])).stdout;
}

/** Restore one file to its committed content (undo an agent's edit of a harness-owned file). */
export async function restorePath(cwd: string, path: string): Promise<void> {
  await runGit(cwd, ['checkout', 'HEAD', '--', path]);
}

/** Move uncommitted and untracked files into a stash so nothing is lost; returns the stash commit. */
export async function stashAll(cwd: string, message: string): Promise<string | null> {
  const result = await runGit(cwd, ['stash', 'push', '--include-untracked', '--message', message], true);
  if (result.exitCode !== 0 || result.stdout.includes('No local changes')) return null;
  const stash = await runGit(cwd, ['rev-parse', '--verify', '--quiet', 'stash@{0}'], true);
  return stash.exitCode === 0 ? stash.stdout.trim() : null;
}

/** Add a pattern to .git/info/exclude (ignored locally, without touching the tracked .gitignore). */
export async function excludeLocally(cwd: string, pattern: string): Promise<void> {
  const gitDir = (await runGit(cwd, ['rev-parse', '--git-common-dir'])).stdout.trim();
  const absolute = isAbsolute(gitDir)
    ? join(gitDir, 'info', 'exclude')
    : join(cwd, gitDir, 'info', 'exclude');
  const current = existsSync(absolute) ? readFileSync(absolute, 'utf8') : '';
  if (current.split('\n').includes(pattern)) return;
  mkdirSync(dirname(absolute), { recursive: true });
  appendFileSync(absolute, `${current === '' || current.endsWith('\n') ? '' : '\n'}${pattern}\n`);
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

/** The patch between two commits with no context lines: what the diff guards read. */
export async function unifiedDiff(cwd: string, from: string, to: string): Promise<string> {
  return (await runGit(cwd, ['diff', '--no-renames', '--unified=0', '--no-color', from, to])).stdout;
}

export async function updateRef(cwd: string, ref: string, commit: string): Promise<void> {
  await runGit(cwd, ['update-ref', ref, commit]);
}

/** Put the branch, index and tracked files back to a commit (untracked files are left alone). */
export async function resetHard(cwd: string, commit: string): Promise<void> {
  await runGit(cwd, ['reset', '--quiet', '--hard', commit]);
}

export async function fileAt(cwd: string, commit: string, path: string): Promise<string | null> {
  const result = await runGit(cwd, ['show', `${commit}:${path}`], true);
  return result.exitCode === 0 ? result.stdout : null;
}

export async function gitCommonDir(cwd: string): Promise<string> {
  const dir = (await runGit(cwd, ['rev-parse', '--git-common-dir'])).stdout.trim();
  return isAbsolute(dir) ? dir : join(cwd, dir);
}
