import {
  closeSync,
  constants,
  existsSync,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  readSync,
  renameSync,
  unlinkSync,
  writeSync,
  type Stats,
} from 'node:fs';
import { isAbsolute, join, posix } from 'node:path';
import { BatonError } from '../errors.ts';

/**
 * File operations on a worktree a hostile worker controls. The harness runs outside the sandbox (often
 * as root), so a path it opens is only as trustworthy as every folder on the way: a worker can turn any
 * folder into a link to the home folder, the target into a link to a private key, or a FIFO that blocks
 * a reader forever, and it can do so after every guard looked (its code runs again during checks).
 *
 * So every operation here walks from a trusted root one component at a time, opening each folder with
 * O_NOFOLLOW and holding it open; the next step goes through `/proc/self/fd/<fd>/<name>`, which names
 * the folder already opened rather than a path that could be swapped underneath. The last component is
 * opened with O_NOFOLLOW too, or renamed/unlinked, which never follow a link.
 */

export type UnsafeFileReason =
  'symbolic-link' | 'not-regular-file' | 'link-in-path' | 'not-a-directory' | 'outside-root';

const reasonText: Record<UnsafeFileReason, string> = {
  'symbolic-link': 'is a symbolic link',
  'not-regular-file': 'is not a regular file',
  'link-in-path': 'has a symbolic link among its folders',
  'not-a-directory': 'has a folder on its way that is not a directory',
  'outside-root': 'is outside the workspace',
};

/** The sentence for a reason, e.g. "is a symbolic link". */
export function describeUnsafeReason(reason: UnsafeFileReason): string {
  return reasonText[reason];
}

/** A refusal to touch a worktree path; `reason` is the typed value, the message its sentence. */
export class UnsafeFileError extends BatonError {
  readonly reason: UnsafeFileReason;
  readonly path: string;

  constructor(path: string, reason: UnsafeFileReason) {
    super(`${path} ${reasonText[reason]}: baton does not follow links or open special files in a worktree`, {
      code: 'UNSAFE_FILE',
      fix: `replace ${path} with a regular file (or restore it: git checkout -- ${path}); the harness reads and writes worktree files only as regular files inside the worktree`,
    });
    this.name = 'UnsafeFileError';
    this.reason = reason;
    this.path = path;
  }

  static isUnsafeFile(error: unknown): error is UnsafeFileError {
    return BatonError.isInstance(error) && error.code === 'UNSAFE_FILE';
  }
}

const procFd = '/proc/self/fd';
const procAvailable = existsSync(procFd);

/** The components of a relative path; refuses absolute paths and `..` that would leave the root. */
export function pathComponents(relative: string): string[] {
  const normalized = posix.normalize(relative.replaceAll('\\', '/'));
  if (isAbsolute(relative) || normalized === '..' || normalized.startsWith('../')) {
    throw new UnsafeFileError(relative, 'outside-root');
  }
  return normalized.split('/').filter((part) => part !== '' && part !== '.');
}

function errorCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : undefined;
}

function lstatOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return undefined;
    throw error;
  }
}

/**
 * The absolute path of `relative` under `root`, after checking with lstat that no folder on the way and
 * not the target itself is a symbolic link, and every existing folder is a directory. Missing
 * components are fine (the file may not exist yet). For a path handed to another program; the
 * operations below do not rely on it, since a check-then-use path can be swapped in between.
 */
export function resolveInside(root: string, relative: string): string {
  const parts = pathComponents(relative);
  let current = root;
  for (const [index, part] of parts.entries()) {
    current = join(current, part);
    const stats = lstatOrUndefined(current);
    if (stats === undefined) return join(root, ...parts);
    const isLast = index === parts.length - 1;
    if (stats.isSymbolicLink()) {
      throw new UnsafeFileError(relative, isLast ? 'symbolic-link' : 'link-in-path');
    }
    if (!isLast && !stats.isDirectory()) throw new UnsafeFileError(relative, 'not-a-directory');
  }
  return current;
}

/** A folder held open: names under it resolve against the opened folder, not a path. */
export interface OpenDirectory {
  readonly fd: number;
  readonly path: string;
  /** A path naming `name` inside this very folder. */
  at(name: string): string;
  close(): void;
}

function openDirectoryFd(path: string, follow: boolean): number {
  return openSync(path, constants.O_RDONLY | constants.O_DIRECTORY | (follow ? 0 : constants.O_NOFOLLOW));
}

function holdDirectory(fd: number, path: string): OpenDirectory {
  let closed = false;
  return {
    fd,
    path,
    at: (name) => (procAvailable ? `${procFd}/${fd}/${name}` : join(path, name)),
    close: () => {
      if (closed) return;
      closed = true;
      closeSync(fd);
    },
  };
}

export interface OpenDirectoryOptions {
  /** Create missing folders (mode `mode`), each inside the folder already opened. */
  readonly create?: boolean;
  readonly mode?: number;
}

/**
 * Open the folder `relative` under `root` (trusted as given), refusing any link on the way. Returns
 * undefined when a folder is missing and `create` is off.
 */
export function openDirectoryInside(
  root: string,
  relative: string,
  options: OpenDirectoryOptions = {},
): OpenDirectory | undefined {
  const parts = pathComponents(relative);
  let directory = holdDirectory(openDirectoryFd(root, true), root);
  for (const [index, part] of parts.entries()) {
    const child = directory.at(part);
    const childPath = join(directory.path, part);
    try {
      if (options.create === true) {
        try {
          mkdirSync(child, { mode: options.mode ?? 0o755 });
        } catch (error) {
          if (errorCode(error) !== 'EEXIST') throw error;
        }
      }
      let fd: number;
      try {
        fd = openDirectoryFd(child, false);
      } catch (error) {
        const code = errorCode(error);
        if (code === 'ENOENT') return undefined;
        if (code === 'ELOOP' || code === 'ENOTDIR') {
          const shown = parts.slice(0, index + 1).join('/');
          throw new UnsafeFileError(
            shown,
            lstatOrUndefined(child)?.isSymbolicLink() === true ? 'link-in-path' : 'not-a-directory',
          );
        }
        throw error;
      }
      directory.close();
      directory = holdDirectory(fd, childPath);
    } catch (error) {
      directory.close();
      throw error;
    }
  }
  return directory;
}

function splitParent(relative: string): { parent: string; name: string } {
  const parts = pathComponents(relative);
  const name = parts.pop();
  if (name === undefined) throw new UnsafeFileError(relative, 'not-regular-file');
  return { parent: parts.join('/'), name };
}

/** Run `work` with the parent folder of `relative` open (undefined when it does not exist). */
export function withParent<T>(
  root: string,
  relative: string,
  options: OpenDirectoryOptions,
  work: (parent: OpenDirectory | undefined, name: string) => T,
): T {
  const { parent, name } = splitParent(relative);
  const directory = openDirectoryInside(root, parent, options);
  try {
    return work(directory, name);
  } finally {
    directory?.close();
  }
}

export interface RegularFileContent {
  /** Decoded as UTF-8; invalid sequences become U+FFFD. */
  readonly text: string;
  readonly bytes: Buffer;
  /** The file had more than `maxBytes`; only the first `maxBytes` were read. */
  readonly truncated: boolean;
  /** The size fstat reported. */
  readonly sizeBytes: number;
}

export interface ReadOptions {
  readonly maxBytes: number;
  /** Read the last `maxBytes` instead of the first. */
  readonly fromEnd?: boolean;
}

const readFlags = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY;

function readDescriptor(fd: number, shownPath: string, options: ReadOptions): RegularFileContent {
  const stats = fstatSync(fd);
  if (!stats.isFile()) throw new UnsafeFileError(shownPath, 'not-regular-file');
  const limit = Math.max(0, options.maxBytes);
  if (options.fromEnd === true) {
    const length = Math.min(stats.size, limit);
    const buffer = Buffer.alloc(length);
    let read = 0;
    while (read < length) {
      const count = readSync(fd, buffer, read, length - read, stats.size - length + read);
      if (count === 0) break;
      read += count;
    }
    const bytes = buffer.subarray(0, read);
    return { text: bytes.toString('utf8'), bytes, truncated: stats.size > length, sizeBytes: stats.size };
  }
  // One byte more than allowed tells a file at the limit from a longer one, whatever fstat says.
  const buffer = Buffer.alloc(Math.min(limit + 1, Math.max(stats.size + 1, 64 * 1024)));
  const chunks: Buffer[] = [];
  let total = 0;
  for (;;) {
    const count = readSync(fd, buffer, 0, Math.min(buffer.length, limit + 1 - total), null);
    if (count === 0) break;
    chunks.push(Buffer.from(buffer.subarray(0, count)));
    total += count;
    if (total > limit) break;
  }
  let bytes = Buffer.concat(chunks, total);
  const truncated = bytes.length > limit;
  if (truncated) bytes = bytes.subarray(0, limit);
  return { text: bytes.toString('utf8'), bytes, truncated, sizeBytes: stats.size };
}

function openForReading(path: string, shownPath: string): number | undefined {
  try {
    return openSync(path, readFlags);
  } catch (error) {
    const code = errorCode(error);
    if (code === 'ENOENT') return undefined;
    if (code === 'ELOOP') throw new UnsafeFileError(shownPath, 'symbolic-link');
    if (code === 'ENXIO' || code === 'EOPNOTSUPP') throw new UnsafeFileError(shownPath, 'not-regular-file');
    throw error;
  }
}

/**
 * Read a worker-written file without following a link at its last component, without blocking on a
 * FIFO, and at most `maxBytes` of it. Undefined when there is no file; an UnsafeFileError when it is a
 * link or not a regular file. The folders on the way are trusted: use `readInside` for worktree paths.
 */
export function readRegularFile(path: string, options: ReadOptions): RegularFileContent | undefined {
  const fd = openForReading(path, path);
  if (fd === undefined) return undefined;
  try {
    return readDescriptor(fd, path, options);
  } finally {
    closeSync(fd);
  }
}

/** `readRegularFile` for `relative` under `root`, refusing a link at any component. */
export function readInside(
  root: string,
  relative: string,
  options: ReadOptions,
): RegularFileContent | undefined {
  return withParent(root, relative, {}, (parent, name) => {
    if (parent === undefined) return undefined;
    const fd = openForReading(parent.at(name), relative);
    if (fd === undefined) return undefined;
    try {
      return readDescriptor(fd, relative, options);
    } finally {
      closeSync(fd);
    }
  });
}

/** What is at `relative` under `root`, without following a link: undefined when nothing is. */
export function lstatInside(root: string, relative: string): Stats | undefined {
  return withParent(root, relative, {}, (parent, name) =>
    parent === undefined ? undefined : lstatOrUndefined(parent.at(name)),
  );
}

/**
 * Remove the entry at `relative` (a file, a link itself, a FIFO: never what a link points to). Folders
 * are refused: nothing here deletes a tree. Returns whether something was removed.
 */
export function removeInside(root: string, relative: string): boolean {
  return withParent(root, relative, {}, (parent, name) => {
    if (parent === undefined) return false;
    const stats = lstatOrUndefined(parent.at(name));
    if (stats === undefined) return false;
    if (stats.isDirectory()) throw new UnsafeFileError(relative, 'not-regular-file');
    unlinkSync(parent.at(name));
    return true;
  });
}

/**
 * Move the entry at `fromRelative` under `fromRoot` to `toRelative` under `toRoot` (same filesystem),
 * creating the target's folders. A link is moved as the link, never its target; a link among the source
 * folders is refused. An existing target is refused rather than replaced.
 */
export function moveInside(fromRoot: string, fromRelative: string, toRoot: string, toRelative: string): void {
  withParent(fromRoot, fromRelative, {}, (source, sourceName) => {
    if (source === undefined || lstatOrUndefined(source.at(sourceName)) === undefined) {
      throw new BatonError(`${fromRelative} is gone: nothing to move`, {
        code: 'FILE_MISSING',
        fix: 'nothing to do: the file was removed before the harness moved it',
      });
    }
    withParent(toRoot, toRelative, { create: true }, (target, targetName) => {
      if (target === undefined) throw new UnsafeFileError(toRelative, 'not-a-directory');
      if (lstatOrUndefined(target.at(targetName)) !== undefined) {
        throw new BatonError(`${toRelative} already exists: baton does not move over it`, {
          code: 'TARGET_EXISTS',
          fix: `remove ${join(toRoot, toRelative)} first`,
        });
      }
      renameSync(source.at(sourceName), target.at(targetName));
    });
  });
}

/** Create a new file exclusively (never through a link, never over anything) and write `content`. */
export function writeNewFile(path: string, content: string | Uint8Array, mode = 0o600): void {
  let fd: number;
  try {
    fd = openSync(
      path,
      constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
      mode,
    );
  } catch (error) {
    if (errorCode(error) === 'EEXIST') {
      const stats = lstatOrUndefined(path);
      if (stats?.isSymbolicLink() === true) throw new UnsafeFileError(path, 'symbolic-link');
      if (stats !== undefined && !stats.isFile()) throw new UnsafeFileError(path, 'not-regular-file');
      throw new BatonError(`${path} already exists: baton creates it fresh and does not write over it`, {
        code: 'TARGET_EXISTS',
        fix: `remove ${path} first`,
      });
    }
    throw error;
  }
  try {
    writeAll(fd, content);
  } finally {
    closeSync(fd);
  }
}

export function writeAll(fd: number, content: string | Uint8Array): void {
  const bytes = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
  let written = 0;
  while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written);
}
