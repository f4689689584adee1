import { join } from 'node:path';
import type { AtomicWriteOptions } from '../util/atomic-write.ts';
import { ioLimits } from '../util/limits.ts';
import { describeUnsafeReason, removeInside, UnsafeFileError } from '../util/safe-io.ts';
import { formatBytes, sanitizeText } from '../util/text.ts';
import { stateFiles } from './paths.ts';
import { readStateFile, writeStateFile } from './state-file.ts';

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

/** Worker-influenced text on one line of an entry: no control characters, no line breaks. */
function oneLine(text: string): string {
  return sanitizeText(text).replace(/\s+/g, ' ').trim();
}

/**
 * One entry. The handoff is the worker's text: sanitised, and every line quoted (`  > `), so that no
 * line of it can start a heading of its own (a fake "## Iteration" or "Instructions from baton").
 */
export function renderEntry(entry: ProgressEntry): string {
  const note = sanitizeText(entry.handoff).trim();
  const handoff = note === '' ? '(no handoff note)' : note.slice(0, 800);
  return `${entryStart}${entry.iteration} (${oneLine(entry.at)})
- outcome: ${oneLine(entry.outcome)}
- features passing: ${entry.featuresPassing}/${entry.featuresTotal}
- commits: ${entry.commits.length === 0 ? 'none' : entry.commits.map((commit) => oneLine(commit).slice(0, 10)).join(', ')}
- judge: ${oneLine(entry.verdict).slice(0, 600)}
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

export interface ProgressWriteResult {
  /** Set when the PROGRESS.md found was not usable (a link, a special file, far too large) and was replaced. */
  readonly replaced: string | undefined;
}

/**
 * Append an entry to PROGRESS.md. The current file is read as a bounded regular file only; one that is
 * a link or a special file (planted while a check ran) is removed as itself, never followed, and the
 * notebook starts over: the history is in the event log and git.
 */
export function recordProgress(
  workspace: string,
  entry: ProgressEntry,
  keep: number,
  options?: AtomicWriteOptions,
): ProgressWriteResult {
  let current = '';
  let replaced: string | undefined;
  try {
    const content = readStateFile(workspace, stateFiles.progress);
    if (content?.truncated === true) {
      replaced = `PROGRESS.md was ${formatBytes(content.sizeBytes)}, over the limit of ${formatBytes(ioLimits.maxStateFileBytes)} (maxStateFileBytes)`;
    } else current = content?.text ?? '';
  } catch (error) {
    if (!UnsafeFileError.isUnsafeFile(error) || error.reason === 'link-in-path') throw error;
    replaced = `PROGRESS.md ${describeUnsafeReason(error.reason)}`;
    removeInside(workspace, stateFiles.progress);
  }
  writeStateFile(workspace, stateFiles.progress, appendProgress(current, entry, keep), options);
  return { replaced };
}
