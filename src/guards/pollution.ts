import { mkdirSync } from 'node:fs';
import { isAbsolute, relative } from 'node:path';
import { BatonError } from '../errors.ts';
import { matchesAny } from '../util/glob.ts';
import { moveInside } from '../util/safe-io.ts';
import { quoteName } from '../util/text.ts';

/** Split a worker's untracked files into scratch (matches a pollution pattern) and new work. */
export function classifyUntracked(
  paths: readonly string[],
  patterns: readonly string[],
): { scratch: string[]; work: string[] } {
  const scratch: string[] = [];
  const work: string[] = [];
  for (const path of paths) (matchesAny(path, patterns) ? scratch : work).push(path);
  return { scratch, work };
}

export interface ScratchMove {
  readonly moved: string[];
  /** Paths left in place because a folder on their way is a link (or they vanished): never followed. */
  readonly refused: { readonly path: string; readonly reason: string }[];
}

/** Where `scratchDir` is as a root and a relative folder: inside the workspace when it is under it. */
function scratchRoot(workspace: string, scratchDir: string): { root: string; folder: string } {
  const inside = relative(workspace, scratchDir);
  if (inside !== '' && !inside.startsWith('..') && !isAbsolute(inside)) {
    return { root: workspace, folder: inside };
  }
  mkdirSync(scratchDir, { recursive: true });
  return { root: scratchDir, folder: '' };
}

/**
 * Move files out of the tree into a scratch folder, keeping their relative paths: nothing is deleted. A
 * link is moved as the link, never what it points to, and a path with a link among its folders is left
 * where it is (following it would move a file from outside the worktree).
 */
export function moveToScratch(workspace: string, scratchDir: string, paths: readonly string[]): ScratchMove {
  const { root, folder } = scratchRoot(workspace, scratchDir);
  const moved: string[] = [];
  const refused: { path: string; reason: string }[] = [];
  for (const path of paths) {
    try {
      moveInside(workspace, path, root, folder === '' ? path : `${folder}/${path}`);
      moved.push(path);
    } catch (error) {
      if (!BatonError.isInstance(error)) throw error;
      refused.push({ path, reason: error.message });
    }
  }
  return { moved, refused };
}

/** Worker-chosen file names for a message or a prompt: each quoted on one line, at most `max` of them. */
export function describePaths(paths: readonly string[], max = 5): string {
  const shown = paths.slice(0, max).map(quoteName).join(', ');
  return paths.length > max ? `${shown}, … (${paths.length - max} more)` : shown;
}
