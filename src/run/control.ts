import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ProposalDecision as Decision } from '../loop/proposal-decisions.ts';
import { harnessDir } from '../workspace/paths.ts';

/**
 * How a person reaches a running harness: small files in .baton/control/, read between iterations
 * (and, for `stop --now`, every half second during one). Files survive a crash, so a request made while
 * nothing runs is honoured by the next harness that drives the workspace.
 */
function controlDir(workspace: string): string {
  return join(harnessDir(workspace), 'control');
}

function controlFile(workspace: string, name: string): string {
  mkdirSync(controlDir(workspace), { recursive: true });
  return join(controlDir(workspace), name);
}

export interface StopRequest {
  readonly now: boolean;
  readonly by: string;
  readonly at: string;
}

export function requestPause(workspace: string, by = 'a person'): void {
  writeFileSync(controlFile(workspace, 'pause'), JSON.stringify({ by, at: new Date().toISOString() }));
}

export function pauseRequested(workspace: string): boolean {
  return existsSync(join(controlDir(workspace), 'pause'));
}

export function clearPause(workspace: string): boolean {
  const path = join(controlDir(workspace), 'pause');
  const existed = existsSync(path);
  rmSync(path, { force: true });
  return existed;
}

export function requestStop(workspace: string, now: boolean, by = 'a person'): void {
  writeFileSync(
    controlFile(workspace, 'stop'),
    JSON.stringify({ now, by, at: new Date().toISOString() } satisfies StopRequest),
  );
}

export function stopRequested(workspace: string): StopRequest | null {
  const path = join(controlDir(workspace), 'stop');
  if (!existsSync(path)) return null;
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as StopRequest;
  } catch {
    return { now: false, by: 'a person', at: '' };
  }
}

export function clearStop(workspace: string): void {
  rmSync(join(controlDir(workspace), 'stop'), { force: true });
}

export interface SteerMessage {
  /** The run the message is for (absent in lines written before steering belonged to a run). */
  readonly runId?: string;
  readonly message: string;
  readonly unpark: readonly string[];
  readonly at: string;
}

export function appendSteer(
  workspace: string,
  runId: string,
  message: string,
  unpark: readonly string[] = [],
): void {
  appendFileSync(
    controlFile(workspace, 'steer.jsonl'),
    `${JSON.stringify({ runId, message, unpark, at: new Date().toISOString() } satisfies SteerMessage)}\n`,
  );
}

/**
 * The run's steering messages after the first `skip` (the ones it already received). A message belongs
 * to the run it was sent to: a later run never hears an earlier run's steering again.
 */
export function readSteer(workspace: string, runId: string, skip: number): SteerMessage[] {
  return readControlLines<SteerMessage>(workspace, 'steer.jsonl')
    .filter((entry) => entry.runId === undefined || entry.runId === runId)
    .slice(skip);
}

/** The lines of a control file of JSON lines, oldest first; a line torn by a crash of the command is skipped. */
function readControlLines<T>(workspace: string, name: string): T[] {
  const path = join(controlDir(workspace), name);
  if (!existsSync(path)) return [];
  const entries: T[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    try {
      entries.push(JSON.parse(line) as T);
    } catch {
      // torn: the person can send it again
    }
  }
  return entries;
}

/** A decision as the control file keeps it: for one run, with when it was made. */
export interface ProposalDecision extends Decision {
  readonly runId: string;
  readonly at: string;
}

/** A person's decision on a proposal (`baton accept` / `baton reject`), read by the run between iterations. */
export function appendDecision(workspace: string, decision: Omit<ProposalDecision, 'at'>): void {
  appendFileSync(
    controlFile(workspace, 'decisions.jsonl'),
    `${JSON.stringify({ ...decision, at: new Date().toISOString() } satisfies ProposalDecision)}\n`,
  );
}

/** The decisions made for a run, oldest first. */
export function readDecisions(workspace: string, runId: string): ProposalDecision[] {
  return readControlLines<ProposalDecision>(workspace, 'decisions.jsonl').filter(
    (entry) => entry.runId === runId,
  );
}
