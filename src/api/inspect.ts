import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BatonError, exitCodes } from '../errors.ts';
import { readEventLog } from '../log/event-log.ts';
import type { RunEvent } from '../log/events.ts';
import { allIterations, foldEvents, type IterationSummary, type RunState } from '../log/reducer.ts';
import { readFeatureList, type Feature } from '../workspace/features.ts';
import { eventLogPath, iterationDir, runsDir } from '../workspace/paths.ts';

export interface RunRecord {
  readonly runId: string;
  readonly events: readonly RunEvent[];
  readonly state: RunState;
  readonly tornTail: boolean;
}

/** Run ids of a workspace, oldest first (ids start with their UTC start time). */
export function listRuns(workspace: string): string[] {
  const dir = runsDir(workspace);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => existsSync(eventLogPath(workspace, name)))
    .sort();
}

/** Replay one run's log (the newest when no id is given). */
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
  const { events, tornTail } = readEventLog(eventLogPath(workspace, id));
  return { runId: id, events, state: foldEvents(events), tornTail };
}

export interface StatusReport {
  readonly runId: string | null;
  readonly state: RunState | null;
  readonly features: readonly Pick<Feature, 'id' | 'title' | 'status'>[];
  readonly featureProblems: readonly string[];
}

export function status(workspace: string): StatusReport {
  const runs = listRuns(workspace);
  const record = runs.length === 0 ? null : readRun(workspace);
  const features = readFeatureList(workspace);
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

function readIfExists(path: string): string {
  return existsSync(path) ? readFileSync(path, 'utf8') : '';
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
  const directory = iterationDir(workspace, record.runId, iteration);
  const checksDir = join(directory, 'checks');
  const checks = existsSync(checksDir)
    ? readdirSync(checksDir)
        .sort()
        .map((file) => ({ file, output: readFileSync(join(checksDir, file), 'utf8') }))
    : [];
  const judgeText = readIfExists(join(directory, 'judge.json'));
  return {
    runId: record.runId,
    summary,
    directory,
    prompt: readIfExists(join(directory, 'prompt.md')),
    transcript: readIfExists(join(directory, 'transcript.log')),
    handoff: readIfExists(join(directory, 'handoff.md')),
    diff: readIfExists(join(directory, 'diff.patch')),
    judge: judgeText === '' ? null : (JSON.parse(judgeText) as unknown),
    checks,
  };
}
