import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BatonError, exitCodes } from '../errors.ts';
import { readEventLog, type LogWarning } from '../log/event-log.ts';
import type { RunEvent } from '../log/events.ts';
import { allIterations, foldEvents, type IterationSummary, type RunState } from '../log/reducer.ts';
import { fileAt } from '../git/git.ts';
import { currentBranch } from '../git/run-branch.ts';
import {
  parseFeatureList,
  readFeatureList,
  type Feature,
  type FeatureListResult,
} from '../workspace/features.ts';
import { eventLogPath, iterationDir, runsDir } from '../workspace/paths.ts';

export interface RunRecord {
  readonly runId: string;
  readonly events: readonly RunEvent[];
  readonly state: RunState;
  readonly tornTail: boolean;
  /** Lines left out because this baton does not understand them (unknown type, newer version). */
  readonly warnings: readonly LogWarning[];
}

/** Run ids of a workspace, oldest first (ids start with their UTC start time). */
export function listRuns(workspace: string): string[] {
  const dir = runsDir(workspace);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => existsSync(eventLogPath(workspace, name)))
    .sort();
}

/**
 * The newest run, which the control commands act on; with none recorded, a refusal that says `why` it is
 * needed and how to start one.
 */
export function newestRunId(workspace: string, why: string, fix = 'start one with `baton run`'): string {
  const runId = listRuns(workspace).at(-1);
  if (runId === undefined) {
    throw new BatonError(why, { code: 'RUN_NOT_FOUND', fix, exitCode: exitCodes.usage });
  }
  return runId;
}

/**
 * Replay one run's log (the newest when no id is given), for reading: a line this baton does not
 * understand is left out with a warning instead of failing the command (resume reads strictly).
 */
export function readRun(workspace: string, runId?: string): RunRecord {
  const runs = listRuns(workspace);
  const id = runId ?? runs.at(-1);
  if (id === undefined || !runs.includes(id)) {
    throw new BatonError(
      runId === undefined
        ? `no baton run has been recorded in ${workspace}`
        : `there is no run ${runId} in ${workspace}`,
      {
        code: 'RUN_NOT_FOUND',
        fix: runId === undefined ? 'start one with `baton run`' : `known runs: ${runs.join(', ') || 'none'}`,
        exitCode: exitCodes.usage,
      },
    );
  }
  const { events, tornTail, warnings } = readEventLog(eventLogPath(workspace, id), { tolerant: true });
  return { runId: id, events, state: foldEvents(events), tornTail, warnings };
}

export interface StatusReport {
  readonly runId: string | null;
  readonly state: RunState | null;
  readonly features: readonly Pick<Feature, 'id' | 'title' | 'status'>[];
  readonly featureProblems: readonly string[];
  /** Lines of the run's log that were left out (see `readRun`); absent in reports built by hand. */
  readonly warnings?: readonly LogWarning[];
}

/**
 * The run's FEATURES.json: on its branch. Once a run has stopped, the person's own branch is checked
 * out again and the working tree's copy is theirs, not the run's: the run's is read from its branch.
 */
export async function runFeatureList(workspace: string, state: RunState | null): Promise<FeatureListResult> {
  const branch = state?.branch ?? null;
  if (branch === null || state?.baseBranch === null || (await currentBranch(workspace)) === branch) {
    return readFeatureList(workspace);
  }
  const text = await fileAt(workspace, `refs/heads/${branch}`, 'FEATURES.json');
  return text === null
    ? { ok: false, problems: [`the run's branch ${branch} has no FEATURES.json (was the branch deleted?)`] }
    : parseFeatureList(text);
}

export async function status(workspace: string): Promise<StatusReport> {
  const runs = listRuns(workspace);
  const record = runs.length === 0 ? null : readRun(workspace);
  const features = await runFeatureList(workspace, record?.state ?? null);
  return {
    runId: record?.runId ?? null,
    state: record?.state ?? null,
    features: features.ok
      ? features.list.features.map(({ id, title, status: featureStatus }) => ({
          id,
          title,
          status: featureStatus,
        }))
      : [],
    featureProblems: features.ok ? [] : features.problems,
    warnings: record?.warnings ?? [],
  };
}

export interface IterationEvidence {
  readonly runId: string;
  readonly summary: IterationSummary;
  readonly directory: string;
  readonly prompt: string;
  readonly transcript: string;
  readonly handoff: string;
  readonly diff: string;
  readonly judge: unknown;
  readonly checks: readonly { readonly file: string; readonly output: string }[];
}

/** A file's text, or its last `maxChars` when it is longer (transcripts can be large). */
function readIfExists(path: string, maxChars = Number.POSITIVE_INFINITY): string {
  if (!existsSync(path)) return '';
  const text = readFileSync(path, 'utf8');
  return text.length <= maxChars
    ? text
    : `… (${text.length - maxChars} characters before)\n${text.slice(-maxChars)}`;
}

/** The evidence files of one iteration whose summary is known (each capped at `maxChars`). */
export function iterationEvidence(
  workspace: string,
  runId: string,
  summary: IterationSummary,
  maxChars = Number.POSITIVE_INFINITY,
): IterationEvidence {
  const directory = iterationDir(workspace, runId, summary.iteration);
  const checksDir = join(directory, 'checks');
  const checks = existsSync(checksDir)
    ? readdirSync(checksDir)
        .sort()
        .map((file) => ({ file, output: readIfExists(join(checksDir, file), maxChars) }))
    : [];
  const judgeText = readIfExists(join(directory, 'judge.json'));
  return {
    runId,
    summary,
    directory,
    prompt: readIfExists(join(directory, 'prompt.md'), maxChars),
    transcript: readIfExists(join(directory, 'transcript.log'), maxChars),
    handoff: readIfExists(join(directory, 'handoff.md'), maxChars),
    diff: readIfExists(join(directory, 'diff.patch'), maxChars),
    judge: judgeText === '' ? null : (JSON.parse(judgeText) as unknown),
    checks,
  };
}

/** Everything the harness kept about one iteration. */
export function showIteration(workspace: string, iteration: number, runId?: string): IterationEvidence {
  const record = readRun(workspace, runId);
  const summary = allIterations(record.state).find((entry) => entry.iteration === iteration);
  if (summary === undefined) {
    throw new BatonError(`run ${record.runId} has no iteration ${iteration}`, {
      code: 'ITERATION_NOT_FOUND',
      fix: `pick one of 1..${record.state.lastIteration} (see \`baton log\`)`,
      exitCode: exitCodes.usage,
    });
  }
  return iterationEvidence(workspace, record.runId, summary);
}
