import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../util/atomic-write.ts';
import { stateFiles } from './paths.ts';

/**
 * PROGRESS.md: the lab notebook the next worker reads. It stays bounded: the newest entries are kept
 * whole, older ones are folded into one summary line (the full history is in the event log and git).
 */
export interface ProgressEntry {
  readonly iteration: number;
  readonly at: string;
  readonly outcome: string;
  readonly featuresPassing: number;
  readonly featuresTotal: number;
  readonly commits: readonly string[];
  readonly handoff: string;
  readonly verdict: string;
}

const header =
  '# Progress\n\nAppend-only lab notebook of this workspace, written by the baton harness after every iteration.\n';
const entryStart = '\n## Iteration ';
const foldedPattern = /<!-- baton:folded (\d+) -->/;

export function renderEntry(entry: ProgressEntry): string {
  const handoff = entry.handoff.trim() === '' ? '(no handoff note)' : entry.handoff.trim().slice(0, 800);
  return `${entryStart}${entry.iteration} (${entry.at})
- outcome: ${entry.outcome}
- features passing: ${entry.featuresPassing}/${entry.featuresTotal}
- commits: ${entry.commits.length === 0 ? 'none' : entry.commits.map((commit) => commit.slice(0, 10)).join(', ')}
- judge: ${entry.verdict.slice(0, 600)}
- handoff:
${handoff
  .split('\n')
  .map((line) => `  > ${line}`)
  .join('\n')}
`;
}

/** Append one entry and fold the oldest ones so that at most `keep` remain. Pure: text in, text out. */
export function appendProgress(current: string, entry: ProgressEntry, keep: number): string {
  const start = current.indexOf(entryStart);
  const preamble = start < 0 ? (current.trim() === '' ? header : current) : current.slice(0, start);
  const entries =
    start < 0
      ? []
      : current
          .slice(start)
          .split(entryStart)
          .filter((part) => part !== '')
          .map((part) => `${entryStart}${part}`);
  entries.push(renderEntry(entry));
  const surplus = Math.max(0, entries.length - keep);
  if (surplus === 0) return `${preamble}${entries.join('')}`;
  const foldedBefore = Number(foldedPattern.exec(preamble)?.[1] ?? '0');
  const folded = foldedBefore + surplus;
  const note = `<!-- baton:folded ${folded} -->\n_${folded} earlier entries are folded away; \`baton log\` and \`git log\` have them all._\n`;
  const cleanPreamble = foldedPattern.test(preamble)
    ? preamble.replace(/<!-- baton:folded \d+ -->\n_.*_\n/, note)
    : `${preamble.trimEnd()}\n\n${note}`;
  return `${cleanPreamble}${entries.slice(surplus).join('')}`;
}

export function progressPath(workspace: string): string {
  return join(workspace, stateFiles.progress);
}

export function recordProgress(workspace: string, entry: ProgressEntry, keep: number): void {
  const path = progressPath(workspace);
  const current = existsSync(path) ? readFileSync(path, 'utf8') : '';
  writeFileAtomic(path, appendProgress(current, entry, keep));
}
