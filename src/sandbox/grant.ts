import {
  closeSync,
  constants,
  fchmodSync,
  fchownSync,
  fstatSync,
  lstatSync,
  openSync,
  readdirSync,
  type Stats,
} from 'node:fs';
import { BatonError } from '../errors.ts';

/**
 * Give the sandbox's group write access to a worktree the harness (root) owns, so a worker running as
 * an unprivileged uid can do its work there: every folder and regular file gets the group, group
 * read/write (and execute where the owner has it), folders the setgid bit, so what is created in them
 * later (by git, by the harness, by a person) takes the group too. The harness's own folders at the top
 * (`.git`, `.baton`) are left alone: the sandbox binds them read-only, and others may read them already.
 *
 * It runs between sessions, when no sandboxed process is alive, and still opens every entry without
 * following links (`O_NOFOLLOW`, through the folder already opened: /proc/self/fd/N/name), so a link
 * planted in the tree can never turn a grant onto a host file. Links, FIFOs, sockets and devices are
 * skipped: a worker needs none of them to be group-owned.
 */

const skippedAtTop = new Set(['.git', '.baton']);

/** How deep the walk goes below the root (a real tree is far shallower; see `grantTreeToGroup`). */
export const maxGrantDepth = 100;

export interface GrantResult {
  /** Entries whose group or mode changed. */
  readonly changed: number;
  readonly visited: number;
}

/**
 * A folder: group rwx and setgid. A file: group rw (x where the owner has it), and never setuid or
 * setgid: a file the worker made setgid would, with the sandbox's group, hand whoever runs it write
 * access to the worktree (the kernel clears those bits when the group changes; they are not put back).
 */
function wantedMode(mode: number, isDirectory: boolean): number {
  const permissions = mode & 0o7777;
  if (isDirectory) return permissions | 0o2070;
  const ownerExecute = (permissions & 0o100) !== 0;
  return (permissions & ~0o6000) | 0o060 | (ownerExecute ? 0o010 : 0);
}

function grantDescriptor(fd: number, gid: number, isDirectory: boolean): boolean {
  const stats = fstatSync(fd);
  const mode = wantedMode(stats.mode, isDirectory);
  let changed = false;
  if (stats.gid !== gid) {
    fchownSync(fd, -1, gid); // the kernel clears setuid/setgid on a file here
    changed = true;
  }
  if (changed || (stats.mode & 0o7777) !== mode) {
    fchmodSync(fd, mode);
    changed = true;
  }
  return changed;
}

function needsGrant(stats: Stats | undefined, gid: number, isDirectory: boolean): boolean {
  if (stats === undefined) return false;
  return stats.gid !== gid || (stats.mode & 0o7777) !== wantedMode(stats.mode, isDirectory);
}

function openNoFollow(path: string, directory: boolean): number | undefined {
  try {
    return openSync(
      path,
      constants.O_RDONLY |
        constants.O_NOFOLLOW |
        constants.O_NONBLOCK |
        (directory ? constants.O_DIRECTORY : 0),
    );
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // Gone, or swapped for something else meanwhile: nothing to grant.
    if (code === 'ENOENT' || code === 'ELOOP' || code === 'ENOTDIR' || code === 'ENXIO') return undefined;
    throw error;
  }
}

/** Grant the group on `root` and everything under it (see above). */
export function grantTreeToGroup(root: string, gid: number): GrantResult {
  let changed = 0;
  let visited = 0;
  const walk = (fd: number, depth: number): void => {
    const top = depth === 0;
    const folder = `/proc/self/fd/${fd}`;
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      if (top && skippedAtTop.has(entry.name)) continue;
      const isDirectory = entry.isDirectory();
      if (!isDirectory && !entry.isFile()) continue;
      visited += 1;
      const path = `${folder}/${entry.name}`;
      if (!isDirectory && !needsGrant(lstatSync(path, { throwIfNoEntry: false }), gid, false)) continue;
      const child = openNoFollow(path, isDirectory);
      if (child === undefined) continue;
      try {
        const stats = fstatSync(child);
        if (stats.isDirectory() !== isDirectory || (!isDirectory && !stats.isFile())) continue;
        if (grantDescriptor(child, gid, isDirectory)) changed += 1;
        // One descriptor is held per level: a worker's folders nested thousands deep must not exhaust
        // them. Below the cap nothing is granted (what the worker made there is its own uid's anyway).
        if (isDirectory && depth + 1 < maxGrantDepth) walk(child, depth + 1);
      } finally {
        closeSync(child);
      }
    }
  };
  const top = openNoFollow(root, true);
  if (top === undefined) {
    throw new BatonError(`the sandbox cannot be given ${root}: it is not a folder`, {
      code: 'SANDBOX_UNAVAILABLE',
      fix: `check that ${root} exists and is a folder, not a link`,
    });
  }
  try {
    visited += 1;
    if (grantDescriptor(top, gid, true)) changed += 1;
    walk(top, 0);
  } finally {
    closeSync(top);
  }
  return { changed, visited };
}
