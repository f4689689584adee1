import {
  closeSync,
  constants,
  fchmodSync,
  fchownSync,
  fstatSync,
  fsyncSync,
  lstatSync,
  openSync,
  renameSync,
  unlinkSync,
} from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { openDirectoryInside, UnsafeFileError, withParent, writeAll, type OpenDirectory } from './safe-io.ts';

/** Where the harness makes its temp files: in `.baton/`, which the sandbox binds read-only. */
export const harnessTempDir = join('.baton', 'tmp');

export interface AtomicWriteOptions {
  /**
   * The workspace whose `.baton/tmp` holds the temp file; `root` by default. A parallel task's worktree
   * passes the main workspace here: it is on the same filesystem, and its `.baton` is the harness's.
   */
  readonly tempRoot?: string;
  readonly mode?: number;
}

function lstatOrUndefined(path: string): ReturnType<typeof lstatSync> | undefined {
  try {
    return lstatSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

function randomTempName(): string {
  return `${randomBytes(16).toString('hex')}.tmp`;
}

/**
 * A file renamed into a setgid folder ends up as if it had been made there: with the folder's group,
 * and group-writable when the folder is (a worktree shared with the sandbox's group: sandbox/grant.ts).
 */
function takeSharedGroup(descriptor: number, folder: number, mode: number): void {
  const folderStats = fstatSync(folder);
  if ((folderStats.mode & 0o2000) === 0) return;
  try {
    if (fstatSync(descriptor).gid !== folderStats.gid) fchownSync(descriptor, -1, folderStats.gid);
    fchmodSync(descriptor, (folderStats.mode & 0o020) === 0 ? mode : mode | 0o060);
  } catch (error) {
    // Not a member of that group (an unprivileged harness in someone's shared folder): keep its own.
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') throw error;
  }
}

/** Write `content` to a fresh temp file in `folder` (exclusively, never through a link) and rename it. */
function writeThroughTemp(
  folder: OpenDirectory,
  target: OpenDirectory,
  targetName: string,
  shownPath: string,
  content: string | Uint8Array,
  mode: number,
): void {
  const existing = lstatOrUndefined(target.at(targetName));
  if (existing?.isSymbolicLink() === true) throw new UnsafeFileError(shownPath, 'symbolic-link');
  if (existing !== undefined && !existing.isFile()) throw new UnsafeFileError(shownPath, 'not-regular-file');
  const temporary = folder.at(randomTempName());
  const descriptor = openSync(
    temporary,
    constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
    mode,
  );
  try {
    try {
      if (!fstatSync(descriptor).isFile()) throw new UnsafeFileError(shownPath, 'not-regular-file');
      takeSharedGroup(descriptor, target.fd, mode);
      writeAll(descriptor, content);
      fsyncSync(descriptor);
    } finally {
      closeSync(descriptor);
    }
    // rename replaces whatever is at the target now (even a link planted since the check above) and
    // never follows it; a folder planted there makes it fail.
    renameSync(temporary, target.at(targetName));
  } catch (error) {
    try {
      unlinkSync(temporary);
    } catch {
      // Already renamed or never created: nothing to clean.
    }
    throw error;
  }
  try {
    fsyncSync(target.fd);
  } catch {
    // Some filesystems refuse fsync on a folder; the file itself is already durable.
  }
}

/**
 * Write `relativePath` under `root` so that a crash leaves either the old or the new content, never half
 * of one, and so that a worker cannot redirect the write: no folder between `root` and the target may
 * be a link, the target must be a regular file or absent, and the temp file is created exclusively with
 * a random name in `<tempRoot>/.baton/tmp`, where the sandbox cannot write.
 */
export function writeFileAtomic(
  root: string,
  relativePath: string,
  content: string | Uint8Array,
  options: AtomicWriteOptions = {},
): void {
  const mode = options.mode ?? 0o644;
  withParent(root, relativePath, { create: true }, (target, name) => {
    if (target === undefined) throw new UnsafeFileError(relativePath, 'not-a-directory');
    const temp = openDirectoryInside(options.tempRoot ?? root, harnessTempDir, { create: true, mode: 0o700 });
    if (temp === undefined) throw new UnsafeFileError(harnessTempDir, 'not-a-directory');
    try {
      writeThroughTemp(temp, target, name, relativePath, content, mode);
    } finally {
      temp.close();
    }
  });
}
