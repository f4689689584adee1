import { execFileSync, spawn } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { listRuns, readRun } from '../src/api/inspect.ts';
import { readEventLog } from '../src/log/event-log.ts';
import type { RunEvent } from '../src/log/events.ts';
import { findRunProcesses } from '../src/run/orphans.ts';
import { taskPlan } from '../src/testing/task-plan.ts';
import { readFeatureList } from '../src/workspace/features.ts';
import { eventLogPath } from '../src/workspace/paths.ts';
import { checkOutRunBranch, feature, git, makeWorkspace, tempDir } from './helpers.ts';

/**
 * Crash testing without a clock: the harness runs as a real CLI process and kills itself through the
 * BATON_FAULT seam (src/util/fault.ts) at an exact event or git command, then a second process resumes.
 */
export const bin = fileURLToPath(new URL('../bin/baton.js', import.meta.url));

export interface CliResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** The tail of what it printed (stdout and stderr), for failure messages. */
  readonly output: string;
}

/** Run the CLI to its end; `fault` is the BATON_FAULT value for this process only. */
export function runCli(args: readonly string[], fault?: string): Promise<CliResult> {
  const env = { ...process.env };
  delete env.BATON_FAULT;
  if (fault !== undefined) env.BATON_FAULT = fault;
  return new Promise((resolve) => {
    // process.execPath is Node 24 under npx: the harness is this child itself, not a re-exec wrapper,
    // so a SIGKILL it sends itself is the signal this child ends with.
    const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
    let output = '';
    const keep = (chunk: Buffer): void => {
      output = `${output}${chunk.toString()}`.slice(-4_000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    // 'close', not 'exit': only then has everything it printed been read.
    child.on('close', (code, signal) => {
      resolve({ code, signal, output });
    });
  });
}

/** A copy of a prepared workspace (`cp -a`: the repository, .baton and all), removed when the test ends. */
export function copyWorkspace(base: string): string {
  const copy = join(tempDir('baton-crash-'), 'ws');
  execFileSync('cp', ['-a', base, copy]);
  return copy;
}

/** The newest run's events, as a reader replays them. */
export function latestEvents(workspace: string): RunEvent[] {
  const runId = listRuns(workspace).at(-1);
  return runId === undefined || !existsSync(eventLogPath(workspace, runId))
    ? []
    : readEventLog(eventLogPath(workspace, runId)).events;
}

/** Run `work` over `items`, `concurrency` at a time, keeping the order of the results. */
export async function inBatches<T, R>(
  items: readonly T[],
  concurrency: number,
  work: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = [];
  for (let start = 0; start < items.length; start += concurrency) {
    results.push(...(await Promise.all(items.slice(start, start + concurrency).map(work))));
  }
  return results;
}

/** `count` boundaries spread evenly over 1..total, first and last included. */
export function spread(total: number, count: number): number[] {
  if (total <= count) return Array.from({ length: total }, (_, index) => index + 1);
  return [
    ...new Set(
      Array.from({ length: count }, (_, index) => 1 + Math.round((index * (total - 1)) / (count - 1))),
    ),
  ];
}

/** The crashed process must have died of its own fault, not ended some other way: else the trial tests nothing. */
export function expectKilledByFault(result: CliResult, context: string): void {
  expect(
    result.signal,
    `${context}: expected the fault to SIGKILL the harness; it printed ${result.output}`,
  ).toBe('SIGKILL');
}

/**
 * Resume after a crash. A crash before the run was recorded leaves nothing to resume: `baton run`
 * starts it; a crash after its last event leaves it done: resume says so.
 */
export async function resumeAfterCrash(workspace: string, context: string): Promise<CliResult> {
  let second = await runCli(['resume', '-C', workspace]);
  if (second.code === 2 && second.output.includes('no run to resume')) {
    second = await runCli(['run', '-C', workspace]);
  }
  if (second.code === 2) expect(second.output, context).toMatch(/is done/);
  else expect(second.code, `${context}: ${second.output}`).toBe(0);
  return second;
}

/** What every run of the workspace must show after any crash and resume: the harness's invariants. */
export function expectRunsRecoverable(workspace: string, context: string): void {
  expect(git(workspace, 'status', '--porcelain'), context).toBe('');
  for (const runId of listRuns(workspace)) {
    // Every log replays, numbered without gaps.
    const record = readRun(workspace, runId);
    expect(
      record.events.map((event) => event.seq),
      context,
    ).toEqual(record.events.map((_event, position) => position + 1));
    // No lost commit: every commit of every finished iteration is in the branch's history.
    const ended = new Set(
      record.events.filter((event) => event.type === 'iteration.ended').map((event) => event.iteration),
    );
    // An iteration's last commit is what it left (with git.commit: one its work commit is folded into
    // it); the run's commits are on the run's branch.
    const last = new Map<number, string>();
    for (const event of record.events) {
      if (event.type === 'commit.created' && ended.has(event.iteration)) {
        last.set(event.iteration, event.commit);
      }
    }
    const branch = record.state.branch ?? 'HEAD';
    for (const commit of last.values()) git(workspace, 'merge-base', '--is-ancestor', commit, branch);
    // No orphaned process.
    expect(findRunProcesses(runId), context).toEqual([]);
  }
}

/** Tracked files the harness rewrites with run-specific evidence (commits, times): compared by status only. */
const evidenceFiles = new Set(['FEATURES.json', 'PROGRESS.md']);

export interface FinalState {
  readonly featureStatus: Record<string, string>;
  /** Tracked path -> content, evidence files left out. */
  readonly files: Record<string, string>;
  readonly paths: readonly string[];
}

export function finalState(workspace: string): FinalState {
  // The newest run's work, as a person looks at it: on its branch.
  const newest = listRuns(workspace).at(-1);
  if (newest !== undefined) checkOutRunBranch(workspace, readRun(workspace, newest).state);
  const list = readFeatureList(workspace);
  const featureStatus = Object.fromEntries(
    list.ok ? list.list.features.map((entry) => [entry.id, entry.status]) : [],
  );
  const paths = git(workspace, 'ls-tree', '-r', '--name-only', 'HEAD').split('\n').filter(Boolean);
  const files = Object.fromEntries(
    paths
      .filter((path) => !evidenceFiles.has(path))
      .map((path) => [path, readFileSync(join(workspace, path), 'utf8')]),
  );
  return { featureStatus, files, paths };
}

/** Ends like the uninterrupted reference run: done, the same features passing, the same files. */
export function expectEndsLike(reference: FinalState, workspace: string, context: string): void {
  expect(readRun(workspace).state.stop?.reason, context).toBe('done');
  const actual = finalState(workspace);
  expect(actual.featureStatus, context).toEqual(reference.featureStatus);
  expect(actual.paths, context).toEqual(reference.paths);
  expect(actual.files, context).toEqual(reference.files);
}

/**
 * The serial workload: one iteration per feature, each creating the next missing file (the agent sleeps
 * a little, so that a crash right after agent.started finds it at work), and a done oracle.
 */
export async function serialWorkspace(featureCount = 4): Promise<string> {
  const indexes = Array.from({ length: featureCount }, (_, index) => index + 1);
  const files = indexes.map((index) => `f${index}`);
  return makeWorkspace({
    features: indexes.map((index) =>
      feature(`F${index}`, `sleep 0.02; grep -q content-of-f${index} f${index}.txt`),
    ),
    agentYaml: `agent:\n  type: command\n  command: "for f in ${files.join(' ')}; do if [ ! -f $f.txt ]; then sleep 0.2; echo content-of-$f > $f.txt; echo made $f; exit 0; fi; done; echo nothing left"\n  timeout: 1m`,
    oracles: [{ name: 'all', command: `cat ${files.map((file) => `${file}.txt`).join(' ')}` }],
    doneOracles: ['all'],
  });
}

export const parallelTaskIds = ['a', 'b', 'c', 'd', 'e', 'f'];
const dependsOn: Record<string, string[]> = { d: ['a'], f: ['d', 'e'] };

/** The plan the scripted planner copies: six tasks, one file each, d after a, f after d and e. */
export function parallelPlanJson(): string {
  return JSON.stringify(
    taskPlan(
      parallelTaskIds.map((id) => ({
        id,
        features: [`F-${id}`],
        scope: [`src/${id}.txt`],
        dependsOn: dependsOn[id] ?? [],
        verify: [`grep -q '${id} ok' src/${id}.txt`],
      })),
    ),
  );
}

/**
 * The parallel workload: the planner copies plan.json; a worker writes its task's file after
 * `workerSleep` seconds (as a model would take a while).
 */
export async function parallelWorkspace(workers: number, workerSleep = '0.25'): Promise<string> {
  const workspace = await makeWorkspace({
    features: parallelTaskIds.map((id) => feature(`F-${id}`, `grep -q '${id} ok' src/${id}.txt`)),
    agentYaml: `agent:\n  type: command\n  command: "if [ \\"$BATON_ROLE\\" = planner ]; then cp plan.json TASKS.json; else sleep ${workerSleep}; mkdir -p src; echo \\"$BATON_TASK_ID ok\\" > src/$BATON_TASK_ID.txt; fi"\n  timeout: 1m`,
  });
  writeFileSync(join(workspace, 'plan.json'), parallelPlanJson());
  appendFileSync(join(workspace, 'baton.yaml'), `parallel:\n  workers: ${workers}\n  replans: 0\n`);
  git(workspace, 'add', '-A');
  git(workspace, 'commit', '-qm', 'parallel crash test setup');
  return workspace;
}

/** A parallel run's end state: done, every task landed exactly once, no worktree, branch or process left. */
export function expectEveryTaskLandedOnce(workspace: string, context: string): void {
  const record = readRun(workspace);
  expect(record.state.stop?.reason, context).toBe('done');
  // The run stopped with main checked out again; its work is on its branch.
  expect(git(workspace, 'symbolic-ref', '--short', 'HEAD').trim(), context).toBe('main');
  checkOutRunBranch(workspace, record.state);
  const merged = record.events.flatMap((event) => (event.type === 'task.merged' ? [event.task] : []));
  expect(merged.slice().sort(), context).toEqual(parallelTaskIds);
  const history = git(workspace, 'log', '--format=%B', 'HEAD');
  for (const id of parallelTaskIds) {
    expect(readFileSync(join(workspace, `src/${id}.txt`), 'utf8'), context).toBe(`${id} ok\n`);
    // Landed once: one commit on the branch carries the task's trailer.
    expect(history.match(new RegExp(`Baton-Task: [^/]+/${id}/`, 'g'))?.length, context).toBe(1);
  }
  const list = readFeatureList(workspace);
  expect(list.ok && list.list.features.every((entry) => entry.status === 'passing'), context).toBe(true);
  expect(git(workspace, 'status', '--porcelain'), context).toBe('');
  expect(git(workspace, 'branch', '--list', 'baton-tasks/*').trim(), context).toBe('');
  expect(git(workspace, 'worktree', 'list').trim().split('\n'), context).toHaveLength(1);
  for (const runId of listRuns(workspace)) expect(findRunProcesses(runId), context).toEqual([]);
}
