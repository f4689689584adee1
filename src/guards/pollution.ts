import { mkdirSync, renameSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { matchesAny } from '../util/glob.ts';

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

/** Move files out of the tree into a scratch folder, keeping their relative paths: nothing is deleted. */
export function moveToScratch(workspace: string, scratchDir: string, paths: readonly string[]): void {
  for (const path of paths) {
    const target = join(scratchDir, path);
    mkdirSync(dirname(target), { recursive: true });
    renameSync(join(workspace, path), target);
  }
}
