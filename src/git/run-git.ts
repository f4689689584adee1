import { spawn } from 'node:child_process';
import { closeSync, lstatSync, openSync, readSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { BatonError } from '../errors.ts';
import { classifyGitFailure, GitWorkerContentError, quotedPath, sanitizeMessage } from './worker-content.ts';
import { faultBeforeGitCommand } from '../util/fault.ts';

/**
 * Every git process of the harness starts here. The harness runs git outside the sandbox, on a
 * worktree a hostile worker controlled a moment ago, so nothing in that worktree may choose a program
 * for git to run, and nothing the harness holds (API keys) may reach git or what git spawns.
 */

/** The harness commits under its own identity; its commits record what happened. */
export const harnessIdentity = {
  GIT_AUTHOR_NAME: 'baton',
  GIT_AUTHOR_EMAIL: 'baton@localhost',
  GIT_COMMITTER_NAME: 'baton',
  GIT_COMMITTER_EMAIL: 'baton@localhost',
};

/** What git needs from the harness's environment; everything else (credentials first) stays out. */
const passedThrough = ['PATH', 'HOME', 'TMPDIR', 'TZ', 'XDG_CONFIG_HOME', 'LANG'] as const;
/** Only a transport to a remote the person named needs these (ssh agent, proxies). */
const passedThroughForRemotes = [
  'SSH_AUTH_SOCK',
  'http_proxy',
  'https_proxy',
  'HTTP_PROXY',
  'HTTPS_PROXY',
  'no_proxy',
  'NO_PROXY',
] as const;

/**
 * Settings given on the command line win over every config file git reads, and git passes them on to
 * the git processes it starts (submodule children included). Each neutralises a way git could run a
 * program or walk into a repository the worker made. Drivers (filter, diff, merge) can only be
 * defined in config: system and global are cut, the repository's own .git/config is the person's, and
 * nested repositories' configs are never entered (submodules are ignored).
 */
const commonConfig: readonly string[] = [
  'core.fsmonitor=false',
  'core.hooksPath=/dev/null',
  'core.untrackedCache=false',
  'core.pager=cat',
  'core.editor=:',
  'sequence.editor=:',
  'core.quotepath=off',
  'color.ui=false',
  'commit.gpgSign=false',
  'tag.gpgSign=false',
  'tag.forceSignAnnotated=false',
  'push.gpgSign=false',
  'log.showSignature=false',
  'merge.verifySignatures=false',
  'gpg.program=false',
  'gpg.ssh.program=false',
  'gpg.x509.program=false',
  'gpg.ssh.defaultKeyCommand=',
  'diff.external=',
  'diff.ignoreSubmodules=all',
  'diff.submodule=short',
  'status.submoduleSummary=false',
  'submodule.recurse=false',
  'fetch.recurseSubmodules=false',
  'push.recurseSubmodules=no',
  // A bare repository the worker lays out in a folder is never picked up by discovery.
  'safe.bareRepository=explicit',
  'protocol.allow=user',
  'protocol.file.allow=user',
  'protocol.ext.allow=never',
];

/** Local operations need no credentials and no prompts. */
const localOnlyConfig: readonly string[] = ['credential.helper=', 'core.askPass=', 'core.sshCommand=false'];

const remoteSubcommands = new Set(['clone', 'fetch', 'push', 'ls-remote', 'pull', 'remote']);

/** Options added right after the subcommand; an explicit option later in the caller's args wins. */
const subcommandOptions: Readonly<Record<string, readonly string[]>> = {
  diff: ['--no-ext-diff', '--no-textconv'],
  log: ['--no-ext-diff', '--no-textconv'],
  show: ['--no-ext-diff', '--no-textconv'],
  status: ['--ignore-submodules=all'],
};

export const defaultMaxOutputBytes = 16 * 1024 * 1024;
const maxStderrBytes = 1024 * 1024;
export const defaultGitTimeoutMs = 15 * 60 * 1000;

export interface RunGitOptions {
  /** Resolve with the exit code instead of throwing when git fails. */
  readonly allowFailure?: boolean;
  /** Most bytes of stdout read into memory (default 16 MiB). */
  readonly maxOutputBytes?: number;
  /**
   * What happens past maxOutputBytes: 'fail' (default) throws a worker-content error, since a partial
   * listing read as complete would let paths slip past the guards; 'truncate' returns what fits.
   */
  readonly onOverflow?: 'fail' | 'truncate';
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
  /**
   * Stream stdout as NUL-terminated records instead of buffering it (for `-z` listings of any size):
   * each record goes to the callback, stdout in the result is empty, and maxOutputBytes bounds one
   * record only.
   */
  readonly onRecord?: (record: string) => void;
  /** Who a commit is by (a person's changes are theirs); the harness's own identity otherwise. */
  readonly identity?: GitIdentity;
  /** A private index file (GIT_INDEX_FILE), for building trees without touching the worktree's index. */
  readonly indexFile?: string;
}

export interface GitIdentity {
  readonly name: string;
  readonly email: string;
}

export interface GitResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly exitCode: number;
  /** stdout was cut at maxOutputBytes (only with onOverflow: 'truncate'). */
  readonly truncated: boolean;
}

function subcommandIndex(args: readonly string[]): number {
  for (let index = 0; index < args.length; index += 1) {
    const arg = args[index] ?? '';
    if (arg === '-c' || arg === '-C') index += 1;
    else if (!arg.startsWith('-')) return index;
  }
  return -1;
}

/** The git subcommand in an argument list, skipping global options such as `-c key=value`. */
export function subcommandOf(args: readonly string[]): string {
  return args[subcommandIndex(args)] ?? '';
}

function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (!isAbsolute(rel) && rel !== '..' && !rel.startsWith(`..${sep}`));
}

/** The environment of every git process: built from nothing, never from process.env as a whole. */
export function gitEnvironment(
  cwd: string,
  remote: boolean,
  source: NodeJS.ProcessEnv = process.env,
  identity?: GitIdentity,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of [...passedThrough, ...(remote ? passedThroughForRemotes : [])]) {
    const value = source[name];
    if (value !== undefined) env[name] = value;
  }
  return {
    ...env,
    ...harnessIdentity,
    ...(identity === undefined
      ? {}
      : {
          GIT_AUTHOR_NAME: identity.name,
          GIT_AUTHOR_EMAIL: identity.email,
          GIT_COMMITTER_NAME: identity.name,
          GIT_COMMITTER_EMAIL: identity.email,
        }),
    LC_ALL: 'C',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_ATTR_NOSYSTEM: '1',
    GIT_TERMINAL_PROMPT: '0',
    GIT_PAGER: 'cat',
    GIT_EDITOR: ':',
    GIT_SEQUENCE_EDITOR: ':',
    // Discovery stops at the folder the harness named: a task worktree whose .git file the worker
    // removed must not resolve to the repository above it.
    GIT_CEILING_DIRECTORIES: dirname(resolve(cwd)),
  };
}

/** The full argument list git is started with. */
export function hardenedArguments(args: readonly string[]): string[] {
  const subcommand = subcommandOf(args);
  const config = [...commonConfig, ...(remoteSubcommands.has(subcommand) ? [] : localOnlyConfig)];
  const position = subcommandIndex(args);
  const extra = subcommandOptions[subcommand] ?? [];
  const withOptions =
    position < 0 ? [...args] : [...args.slice(0, position + 1), ...extra, ...args.slice(position + 1)];
  return [...config.flatMap((setting) => ['-c', setting]), ...withOptions];
}

/**
 * Refuse a repository whose own `.git` the worker could have reshaped: a link, or a `.git` file (a
 * linked worktree's) pointing inside the worktree, where the worker can write a config of its choosing.
 */
export function checkOwnGitEntry(cwd: string): void {
  const entry = resolve(cwd, '.git');
  let stats;
  try {
    stats = lstatSync(entry);
  } catch {
    return; // not a repository top level (yet): git itself decides, discovery is fenced by the ceiling
  }
  if (stats.isDirectory()) return;
  if (stats.isSymbolicLink() || !stats.isFile() || stats.size > 4096) {
    throw new GitWorkerContentError(
      'git-directory-tampered',
      `${entry} is not a directory or a gitdir file`,
      '.git',
    );
  }
  const buffer = Buffer.alloc(stats.size);
  const fd = openSync(entry, 'r');
  try {
    readSync(fd, buffer, 0, buffer.length, 0);
  } finally {
    closeSync(fd);
  }
  const match = /^gitdir: (.+)$/m.exec(buffer.toString('utf8'));
  const target = match?.[1]?.trim();
  if (target === undefined || isInside(resolve(cwd), resolve(cwd, target))) {
    throw new GitWorkerContentError(
      'git-directory-tampered',
      `${entry} points inside the worktree (${sanitizeMessage(target ?? '', 200)})`,
      '.git',
    );
  }
}

function failureFor(cwd: string, args: readonly string[], stdout: string, stderr: string): BatonError {
  const subcommand = subcommandOf(args);
  const detail = sanitizeMessage(stderr.trim() === '' ? stdout : stderr);
  const reason = classifyGitFailure(subcommand, stderr);
  if (reason !== null) {
    return new GitWorkerContentError(
      reason,
      `git ${subcommand} refused the worktree's content: ${detail}`,
      quotedPath(stderr),
    );
  }
  return new BatonError(`git ${sanitizeMessage(args.join(' '), 500)} failed in ${cwd}: ${detail}`, {
    code: 'GIT_FAILED',
    fix: 'check the repository state with `git status`; baton changed nothing after this failure',
  });
}

/** Cut at the last newline that fits, so a diff ends on a whole line. */
function cutAtLine(buffer: Buffer): Buffer {
  const newline = buffer.lastIndexOf(0x0a);
  return newline < 0 ? buffer : buffer.subarray(0, newline + 1);
}

export function runGit(
  cwd: string,
  args: readonly string[],
  options: boolean | RunGitOptions = false,
): Promise<GitResult> {
  faultBeforeGitCommand(); // BATON_FAULT, crash tests only
  const settings: RunGitOptions = typeof options === 'boolean' ? { allowFailure: options } : options;
  const maxOutputBytes = settings.maxOutputBytes ?? defaultMaxOutputBytes;
  try {
    checkOwnGitEntry(cwd);
  } catch (error) {
    return Promise.reject(error instanceof Error ? error : new Error(String(error)));
  }
  return new Promise((resolvePromise, reject) => {
    const child = spawn('git', hardenedArguments(args), {
      cwd,
      env: {
        ...gitEnvironment(cwd, remoteSubcommands.has(subcommandOf(args)), process.env, settings.identity),
        ...(settings.indexFile === undefined ? {} : { GIT_INDEX_FILE: settings.indexFile }),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true, // its own process group, so a timeout kills whatever git started too
    });
    const stdoutChunks: Buffer[] = [];
    const stderrChunks: Buffer[] = [];
    let stdoutBytes = 0;
    let stderrBytes = 0;
    let overflowed = false;
    let timedOut = false;
    let spawnError: NodeJS.ErrnoException | undefined;

    const killGroup = (): void => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup();
    }, settings.timeoutMs ?? defaultGitTimeoutMs);
    const onAbort = (): void => {
      killGroup();
    };
    settings.signal?.addEventListener('abort', onAbort, { once: true });

    let pending = Buffer.alloc(0);
    const streamRecords = (chunk: Buffer, onRecord: (record: string) => void): void => {
      let data = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      let end = data.indexOf(0);
      while (end >= 0) {
        onRecord(data.subarray(0, end).toString('utf8'));
        data = data.subarray(end + 1);
        end = data.indexOf(0);
      }
      pending = Buffer.from(data);
      if (pending.length > maxOutputBytes) {
        overflowed = true;
        killGroup();
      }
    };
    child.stdout.on('data', (chunk: Buffer) => {
      if (overflowed) return;
      if (settings.onRecord !== undefined) {
        streamRecords(chunk, settings.onRecord);
        return;
      }
      const room = maxOutputBytes - stdoutBytes;
      if (chunk.length > room) {
        stdoutChunks.push(chunk.subarray(0, room));
        stdoutBytes += room;
        overflowed = true;
        killGroup(); // stop git producing what nobody will read
        return;
      }
      stdoutChunks.push(chunk);
      stdoutBytes += chunk.length;
    });
    child.stderr.on('data', (chunk: Buffer) => {
      const room = maxStderrBytes - stderrBytes;
      if (room <= 0) return;
      stderrChunks.push(chunk.subarray(0, room));
      stderrBytes += Math.min(room, chunk.length);
    });
    child.on('error', (error: NodeJS.ErrnoException) => {
      spawnError = error;
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      settings.signal?.removeEventListener('abort', onAbort);
      if (spawnError?.code === 'ENOENT') {
        reject(
          new BatonError('git is not installed or not on PATH', {
            code: 'GIT_MISSING',
            fix: 'install git (apt-get install git) and run again',
          }),
        );
        return;
      }
      const stderr = Buffer.concat(stderrChunks).toString('utf8');
      if (overflowed) {
        if (settings.onOverflow !== 'truncate' || settings.onRecord !== undefined) {
          reject(
            new GitWorkerContentError(
              'output-too-large',
              `git ${subcommandOf(args)} printed more than ${maxOutputBytes} bytes; the worktree holds more than the harness reads`,
            ),
          );
          return;
        }
        const stdout = cutAtLine(Buffer.concat(stdoutChunks)).toString('utf8');
        resolvePromise({ stdout, stderr, exitCode: 0, truncated: true });
        return;
      }
      if (settings.onRecord !== undefined && pending.length > 0) settings.onRecord(pending.toString('utf8'));
      const stdout = Buffer.concat(stdoutChunks).toString('utf8');
      if (timedOut || settings.signal?.aborted === true) {
        reject(
          new BatonError(`git ${subcommandOf(args)} ${timedOut ? 'timed out' : 'was aborted'} in ${cwd}`, {
            code: timedOut ? 'GIT_TIMEOUT' : 'ABORTED',
            isRetryable: timedOut,
          }),
        );
        return;
      }
      const exitCode = code ?? 1;
      if (exitCode !== 0 && settings.allowFailure !== true) {
        reject(failureFor(cwd, args, stdout, stderr));
        return;
      }
      resolvePromise({ stdout, stderr, exitCode, truncated: false });
    });
  });
}
