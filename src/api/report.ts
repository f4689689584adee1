import { closeSync, constants, fstatSync, ftruncateSync, openSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { BatonError, exitCodes } from '../errors.ts';
import { runGit } from '../git/git.ts';
import type { RunState } from '../log/reducer.ts';
import { renderHtml } from '../observe/receipt/html.ts';
import { renderMarkdown, summaryLines } from '../observe/receipt/markdown.ts';
import { buildReceipt, type Receipt } from '../observe/receipt/receipt.ts';
import { activeElapsedMs } from '../run/drive.ts';
import { writeFileAtomic } from '../util/atomic-write.ts';
import { ioLimits } from '../util/limits.ts';
import { UnsafeFileError, writeAll } from '../util/safe-io.ts';
import { parseFeatureList } from '../workspace/features.ts';
import { harnessDirName, stateFiles } from '../workspace/paths.ts';
import { readRun } from './inspect.ts';
import { runBranchOf } from './run-branch.ts';
import { isReceiptFormat, receiptFormats, type ReceiptFormat } from './receipt-formats.ts';

export { receiptSchemaVersion, type Receipt } from '../observe/receipt/receipt.ts';
export { renderHtml, renderMarkdown, summaryLines };

export { isReceiptFormat, receiptFormats, type ReceiptFormat } from './receipt-formats.ts';

/**
 * Feature titles as FEATURES.json had them at the last verified commit (the log records ids only). Read
 * from git, not the worktree, with a size cap; a list that does not parse gives no titles.
 */
async function featureTitles(workspace: string, state: RunState): Promise<Map<string, string>> {
  const commit = state.lastVerification?.commit ?? state.startCommit;
  const titles = new Map<string, string>();
  if (commit === null || !/^[0-9a-f]{7,64}$/.test(commit)) return titles;
  const result = await runGit(workspace, ['cat-file', 'blob', `${commit}:${stateFiles.features}`], {
    allowFailure: true,
    maxOutputBytes: ioLimits.maxFeaturesFileBytes + 1,
    onOverflow: 'truncate',
  }).catch(() => undefined);
  if (result === undefined || result.exitCode !== 0) return titles;
  const list = parseFeatureList(result.stdout);
  if (list.ok) for (const feature of list.list.features) titles.set(feature.id, feature.title);
  return titles;
}

/** The receipt of a run (the newest when no id is given), folded from its event log. */
export async function buildRunReceipt(workspace: string, runId?: string): Promise<Receipt> {
  const dir = resolve(workspace);
  const record = readRun(dir, runId);
  const { state } = record;
  const warnings = record.warnings.map((warning) => `log line ${warning.line}: ${warning.message}`);
  if (record.tornTail) {
    warnings.push('the last line of the log was cut short (a crash mid-write) and left out');
  }
  return buildReceipt({
    runId: record.runId,
    events: record.events,
    state,
    elapsedMs: activeElapsedMs(state, new Date(state.updatedAt ?? Date.now())),
    branch: await runBranchOf(state, dir).catch(() => null),
    featureTitles: await featureTitles(dir, state).catch(() => new Map<string, string>()),
    warnings,
  });
}

export function renderReceipt(receipt: Receipt, format: ReceiptFormat): string {
  if (format === 'md') return renderMarkdown(receipt);
  if (format === 'html') return renderHtml(receipt);
  return `${JSON.stringify(receipt, null, 2)}\n`;
}

export interface ReportOptions {
  readonly runId?: string;
  readonly format?: ReceiptFormat;
}

export interface ReportResult {
  readonly receipt: Receipt;
  readonly format: ReceiptFormat;
  readonly text: string;
}

/** `baton report`: the receipt of a run, rendered. */
export async function report(workspace: string, options: ReportOptions = {}): Promise<ReportResult> {
  const format = options.format ?? 'md';
  if (!isReceiptFormat(format)) {
    throw new BatonError(`there is no receipt format ${String(format)}`, {
      code: 'USAGE',
      fix: `use one of ${receiptFormats.join(', ')}`,
      exitCode: exitCodes.usage,
    });
  }
  const receipt = await buildRunReceipt(workspace, options.runId);
  return { receipt, format, text: renderReceipt(receipt, format) };
}

/** Where a run's receipt files live, relative to the workspace. */
export function receiptPaths(runId: string): { readonly markdown: string; readonly json: string } {
  const dir = join(harnessDirName, 'runs', runId);
  return { markdown: join(dir, 'receipt.md'), json: join(dir, 'receipt.json') };
}

export interface WrittenReceipt {
  readonly receipt: Receipt;
  /** Absolute paths of the files written. */
  readonly markdownPath: string;
  readonly jsonPath: string;
}

/**
 * Write a run's receipt as `.baton/runs/<id>/receipt.md` and `receipt.json`: atomically, through no
 * link (the workspace is the worker's), with the temp file in `.baton/tmp`.
 */
export async function writeRunReceipt(workspace: string, runId: string): Promise<WrittenReceipt> {
  const dir = resolve(workspace);
  const receipt = await buildRunReceipt(dir, runId);
  const paths = receiptPaths(receipt.runId);
  writeFileAtomic(dir, paths.markdown, renderMarkdown(receipt));
  writeFileAtomic(dir, paths.json, renderReceipt(receipt, 'json'));
  return { receipt, markdownPath: join(dir, paths.markdown), jsonPath: join(dir, paths.json) };
}

/**
 * Write a rendered receipt where the person asked (`baton report --out`): created or replaced, but never
 * through a link or into a FIFO or device at that name (the folder may be the worker's worktree).
 */
export function writeReportFile(path: string, text: string): void {
  let fd: number;
  try {
    fd = openSync(
      path,
      constants.O_WRONLY | constants.O_CREAT | constants.O_NOFOLLOW | constants.O_NONBLOCK,
      0o644,
    );
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') throw new UnsafeFileError(path, 'symbolic-link');
    if (code === 'ENXIO') throw new UnsafeFileError(path, 'not-regular-file');
    throw error;
  }
  try {
    // Truncate only once the descriptor is known to be a regular file.
    if (!fstatSync(fd).isFile()) throw new UnsafeFileError(path, 'not-regular-file');
    ftruncateSync(fd, 0);
    writeAll(fd, text);
  } finally {
    closeSync(fd);
  }
}
