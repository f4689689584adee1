import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';
import type { Agent } from '../agents/agent.ts';
import { loadConfig } from '../config/load.ts';
import type { Config } from '../config/resolve.ts';
import { BatonError, exitCodes } from '../errors.ts';
import { applyLeaveOut, planUntracked } from '../core/leave-out.ts';
import { changedPaths, excludeLocally, gitCommonDir, headCommit, isGitRepository } from '../git/git.ts';
import { EventLog } from '../log/event-log.ts';
import type { RunEvent } from '../log/events.ts';
import { foldEvents, initialRunState, type RunState } from '../log/reducer.ts';
import type { LoopContext } from '../loop/context.ts';
import type { StopDecision } from '../core/budgets.ts';
import {
  branchOrRefuse,
  chooseRunBranch,
  enterRunBranch,
  returnToBaseBranch,
  returnToRunBranch,
  stoppedBeforeReturning,
  type RunBranchChoice,
} from '../run/branch.ts';
import { buildLoopContext } from '../run/context.ts';
import { clearPause } from '../run/control.ts';
import { abandonIteration, driveRun, refuseToTakePersonsCommits } from '../run/drive.ts';
import { acquireRunLock, type RunLock } from '../run/lock.ts';
import { reapRunProcesses } from '../run/orphans.ts';
import { countPassing, readFeatureList } from '../workspace/features.ts';
import { eventLogPath, harnessDirName, runDir } from '../workspace/paths.ts';
import { readGoal } from '../workspace/spec.ts';
import type { TaskTransport } from '../parallel/transport.ts';
import { createNotifier } from '../observe/notify.ts';
import { combineObservers, type RunObserver } from '../observe/observer.ts';
import { createTelemetry } from '../observe/telemetry.ts';
import { listRuns, readRun } from './inspect.ts';
import { writeRunReceipt, type WrittenReceipt } from './report.ts';

export interface RunLoopOptions {
  readonly workspace: string;
  /** Use this agent instead of the one in baton.yaml (tests, embedding). */
  readonly agent?: Agent;
  /** Use this agent for planning passes instead of the one baton.yaml implies. */
  readonly planner?: Agent;
  /** Base environment for the agent and the checks (default: this process's). */
  readonly env?: NodeJS.ProcessEnv;
  readonly signal?: AbortSignal;
  /** Called after every event with the state it produced: reporters hang here. */
  readonly onEvent?: (event: RunEvent, state: RunState) => void;
  readonly now?: () => Date;
  /** How often a waiting harness looks at the control files (pause, stop --now). */
  readonly controlPollMs?: number;
  /**
   * Parallel workers for a new run (default: parallel.workers in baton.yaml; absent: the serial loop).
   * A planner cuts the work into tasks, workers run them in their own worktrees, a merge queue lands them.
   */
  readonly workers?: number;
  /** Where parallel attempts run (default: on this machine; `runCoordinator` queues them to workers). */
  readonly transport?: TaskTransport;
  /** The new run's branch (default: `baton/<run-id>`, unless baton.yaml says `git.branch: in-place`). */
  readonly branch?: string;
  /** Commit onto the current branch instead of a run branch (`baton run --in-place`). */
  readonly inPlace?: boolean;
  /** Start a new run even when the newest one is unfinished (`baton run --new`). */
  readonly newRun?: boolean;
  /** Told once, before the first event: which run this call drives, and why. */
  readonly onBegin?: (begin: RunBegin) => void;
}

/** What `runLoop` decided before its first event: the run, whether it continues one, and where it commits. */
export interface RunBegin {
  readonly runId: string;
  /** An unfinished run is continued (budgets kept) rather than a new one started. */
  readonly continued: boolean;
  /** Why: e.g. `run 2026…-ab12cd stopped (budget: …); \`baton run --new\` starts a new one`. */
  readonly message: string;
}

export interface ResumeOptions extends RunLoopOptions {
  /** The run to resume (default: the newest). */
  readonly runId?: string;
}

export interface RunLoopResult {
  readonly runId: string;
  readonly state: RunState;
  readonly stop: StopDecision;
  /** Set when this call resumed an earlier run instead of starting one. */
  readonly resumed: boolean;
  /**
   * The run's receipt, written to `.baton/runs/<id>/receipt.md` and `.json` when the run stopped (null:
   * it could not be written; the run's outcome stands, and `baton report` builds it again from the log).
   */
  readonly receipt: WrittenReceipt | null;
}

/**
 * Run ids sort in the order runs started (`listRuns` relies on it): a UTC timestamp to the millisecond,
 * then a random suffix; an id that would not sort after the newest existing one is moved past it.
 */
export function newRunId(now: Date, existing: readonly string[]): string {
  const stamp = now.toISOString().replace(/[-:.]/g, '');
  const id = `${stamp}-${randomBytes(3).toString('hex')}`;
  const newest = existing.at(-1);
  // A string sorts after every string it is a prefix of.
  return newest !== undefined && id <= newest ? `${newest}-${randomBytes(2).toString('hex')}` : id;
}

async function assertRepository(workspace: string): Promise<void> {
  if (!(await isGitRepository(workspace))) {
    throw new BatonError(`${workspace} is not a git repository`, {
      code: 'NOT_A_REPOSITORY',
      fix: 'run `baton init "<goal>"` there: it creates the state files and a git baseline',
      exitCode: exitCodes.usage,
    });
  }
  if ((await headCommit(workspace)) === null) {
    throw new BatonError(`${workspace} has no commit yet`, {
      code: 'NO_BASELINE',
      fix: 'commit a baseline first (`baton init` does), so every iteration has something to return to',
      exitCode: exitCodes.usage,
    });
  }
  // On a detached HEAD every commit of the run would be orphaned by the person's next checkout.
  await branchOrRefuse(workspace);
  const features = readFeatureList(workspace);
  if (!features.ok) {
    throw new BatonError(`FEATURES.json cannot be used: ${features.problems.join('; ')}`, {
      code: 'FEATURES_INVALID',
      fix: 'correct FEATURES.json (each feature needs id, title, verify, status) or restore it with `git checkout -- FEATURES.json`',
      exitCode: exitCodes.usage,
    });
  }
  await excludeLocally(workspace, `/${harnessDirName}/`);
}

/**
 * A run whose harness died after recording its stop, before checking the person's branch out again:
 * finish that first, so a new run starts from the person's branch, not from the old run's.
 */
async function finishReturn(workspace: string, runId: string, now: () => Date): Promise<void> {
  const { events } = readRun(workspace, runId);
  if (!stoppedBeforeReturning(events)) return;
  const lock = acquireRunLock(workspace, runId);
  try {
    const opened = await openLog(workspace, runId);
    try {
      const state = foldEvents(opened.events);
      if (stoppedBeforeReturning(opened.events)) {
        await returnToBaseBranch(workspace, state, (event) => opened.log.append(event, now()));
      }
    } finally {
      opened.log.close();
    }
  } finally {
    lock.release();
  }
}

/**
 * Why the newest run is unfinished (its harness died, a person stopped it, a budget or an error ended
 * it), or null when it is done: what `baton run` says before continuing it.
 */
function unfinishedRun(workspace: string, runId: string): string | null {
  const { state } = readRun(workspace, runId);
  if (state.stop?.reason === 'done') return null;
  const how =
    state.status !== 'stopped'
      ? 'its harness stopped without finishing'
      : `it stopped (${state.stop?.reason ?? 'stopped'})`;
  return `continuing run ${runId}: ${how}; its budgets and evidence are kept (\`baton run --new\` starts a new run instead)`;
}

async function assertClean(workspace: string): Promise<void> {
  const dirty = await changedPaths(workspace);
  if (dirty.length > 0) {
    throw new BatonError(
      `the workspace has uncommitted changes (${dirty.slice(0, 5).join(', ')}${dirty.length > 5 ? ', …' : ''}); baton will not mix them into a worker's commit`,
      {
        code: 'DIRTY_TREE',
        fix: 'commit them (git add -A && git commit -m "...") or stash them (git stash -u), then run again; nothing was changed',
        exitCode: exitCodes.usage,
      },
    );
  }
}

function combinedAbort(signal: AbortSignal | undefined): AbortController {
  const abort = new AbortController();
  if (signal?.aborted === true) abort.abort();
  signal?.addEventListener('abort', () => {
    abort.abort();
  });
  return abort;
}

async function openLog(workspace: string, runId: string): Promise<{ log: EventLog; events: RunEvent[] }> {
  mkdirSync(runDir(workspace, runId), { recursive: true });
  // The log's mirror lives inside .git, where a worker has no reason to look: a tampered log is restored.
  const mirror = join(await gitCommonDir(workspace), 'baton', 'runs', runId, 'events.jsonl');
  const { log, events } = EventLog.open(eventLogPath(workspace, runId), mirror);
  return { log, events };
}

/**
 * The Ralph loop: fresh agent sessions, one bounded unit of work each, until the judge says done or a
 * budget ends the run. Every step is an event in an append-only log; the returned state is the fold of
 * that log. A workspace whose last run never stopped (its harness died) is resumed instead.
 */
export async function runLoop(options: RunLoopOptions): Promise<RunLoopResult> {
  const workspace = resolve(options.workspace);
  const config = loadConfig(workspace);
  await assertRepository(workspace);
  const latest = listRuns(workspace).at(-1);
  const unfinished =
    latest === undefined || options.newRun === true ? null : unfinishedRun(workspace, latest);
  // An unfinished run (its harness died, a person stopped it, a budget ran out) is continued with what it
  // spent, not silently started over; `--new` starts over.
  if (latest !== undefined && unfinished !== null) {
    options.onBegin?.({ runId: latest, continued: true, message: unfinished });
    return resumeRun({ ...options, workspace, runId: latest });
  }
  // An untracked .env or node_modules/ a person keeps beside the project is not a change to refuse or
  // commit: it is ignored locally, and stays out of every commit of the run.
  await applyLeaveOut(workspace, await planUntracked(workspace));
  const now = options.now ?? (() => new Date());
  if (latest !== undefined) await finishReturn(workspace, latest, now);
  await assertClean(workspace);
  const runId = newRunId(now(), listRuns(workspace));
  const branch = await chooseRunBranch(workspace, runId, config, options);
  const lock = acquireRunLock(workspace, runId);
  const observers = observersFor(config, workspace, options);
  let log: EventLog | undefined;
  let context: LoopContext | undefined;
  try {
    // A request left from an earlier run is not this run's.
    clearPause(workspace);
    ({ log } = await openLog(workspace, runId));
    const startCommit = (await headCommit(workspace)) ?? '';
    const abort = combinedAbort(options.signal);
    context = await buildLoopContext({
      workspace,
      runId,
      config,
      log,
      state: initialRunState,
      startCommit,
      signal: abort.signal,
      agent: options.agent,
      planner: options.planner,
      env: options.env,
      now,
      onEvent: observers.onEvent,
    });
    options.onBegin?.({
      runId,
      continued: false,
      message: `run ${runId} starts ${branch.base === null ? `on ${branch.name} (in place)` : `on its own branch ${branch.name}, made from ${branch.base}`}`,
    });
    emitRunStarted(context, config, startCommit, options.workers ?? config.parallel.workers, branch);
    await enterRunBranch(workspace, branch);
    context.emit({
      type: 'sandbox.chosen',
      backend: context.sandbox.backend,
      warning: context.sandboxWarning ?? null,
    });
    return await driveToStop(context, abort, options, false);
  } finally {
    await context?.sandbox.close();
    log?.close();
    lock.release();
    await observers.close();
  }
}

/**
 * The caller's reporter (its exceptions are the caller's to see), plus traces and notifications when
 * baton.yaml asks for them (bystanders: their failures never stop the run).
 */
function observersFor(config: Config, workspace: string, options: RunLoopOptions): RunObserver {
  const bystanders = combineObservers([
    createTelemetry(config.telemetry),
    createNotifier(config.notify, workspace, options.env ?? process.env),
  ]);
  return {
    onEvent: (event, state) => {
      options.onEvent?.(event, state);
      bystanders.onEvent(event, state);
    },
    close: () => bystanders.close(),
  };
}

async function driveToStop(
  context: LoopContext,
  abort: AbortController,
  options: RunLoopOptions,
  resumed: boolean,
): Promise<RunLoopResult> {
  let stop: StopDecision;
  try {
    stop = await driveRun(context, {
      abort,
      ...(options.transport === undefined ? {} : { transport: options.transport }),
      ...(options.controlPollMs === undefined ? {} : { pollMs: options.controlPollMs }),
    });
  } finally {
    // Stopped for whatever reason (an error included): the person's branch is checked out again.
    if (context.state.status === 'stopped') {
      await returnToBaseBranch(context.workspace, context.state, context.emit);
    }
  }
  // The receipt is a reader of the log like any other: failing to write it never changes the outcome.
  const receipt = await writeRunReceipt(context.workspace, context.runId).catch(() => null);
  return { runId: context.runId, state: context.state, stop, resumed, receipt };
}

function emitRunStarted(
  context: LoopContext,
  config: Config,
  startCommit: string,
  workers: number | undefined,
  branch: RunBranchChoice,
): void {
  const features = readFeatureList(context.workspace);
  const list = features.ok ? features.list : { version: 1 as const, features: [] };
  context.emit({
    type: 'run.started',
    runId: context.runId,
    goal: config.goal ?? readGoal(context.workspace),
    workspace: context.workspace,
    headCommit: startCommit,
    budgets: config.budgets,
    featuresTotal: list.features.length,
    featuresPassing: countPassing(list),
    ...(workers === undefined ? {} : { workers }),
    branch: branch.name,
    ...(branch.base === null ? {} : { baseBranch: branch.base }),
  });
}

function budgetsOf(config: Config): {
  iterations: number;
  wallClockMs: number;
  noProgressIterations: number;
} {
  return {
    iterations: config.budgets.iterations,
    wallClockMs: config.budgets.wallClockMs,
    noProgressIterations: config.budgets.noProgressIterations,
  };
}

/**
 * Continue a run: after a crash (kill -9, a reboot, an OOM), after `baton stop`, or after a budget was
 * raised. Leftover processes are killed, an unfinished iteration is put aside (its work under a ref) and
 * the loop goes on with counters, budgets spent and evidence as the log has them.
 */
export async function resumeRun(options: ResumeOptions): Promise<RunLoopResult> {
  const workspace = resolve(options.workspace);
  let config = loadConfig(workspace);
  await assertRepository(workspace);
  const runs = listRuns(workspace);
  const runId = options.runId ?? runs.at(-1);
  if (runId === undefined || !runs.includes(runId)) {
    throw new BatonError(runId === undefined ? 'there is no run to resume' : `there is no run ${runId}`, {
      code: 'RUN_NOT_FOUND',
      fix: runId === undefined ? 'start one with `baton run`' : `known runs: ${runs.join(', ') || 'none'}`,
      exitCode: exitCodes.usage,
    });
  }
  const now = options.now ?? (() => new Date());
  // The lock comes first: from here on no other harness writes this workspace or its log.
  const lock: RunLock = acquireRunLock(workspace, runId);
  const observers = observersFor(config, workspace, options);
  let log: EventLog | undefined;
  let context: LoopContext | undefined;
  try {
    const opened = await openLog(workspace, runId);
    log = opened.log;
    const state = foldEvents(opened.events);
    if (state.stop?.reason === 'done') {
      // Its harness may have died between recording the stop and checking the person's branch out.
      if (stoppedBeforeReturning(opened.events)) {
        await returnToBaseBranch(workspace, state, (event) => opened.log.append(event, now()));
      }
      throw new BatonError(`run ${runId} is done: the judge found the done condition met`, {
        code: 'NOTHING_TO_RESUME',
        fix: 'start a new run with `baton run` (after adding features or changing the done condition)',
        exitCode: exitCodes.usage,
      });
    }
    // HEAD goes back onto the run's branch before anything resets or commits (else the person's branch
    // would take the run's reset and commits).
    const branchMove = state.status === 'not-started' ? null : await returnToRunBranch(workspace, state);
    // The run's baton.yaml is the one on its branch.
    if (branchMove !== null) config = loadConfig(workspace);
    // Before anything is recorded or reset: a person's commit on top of the unfinished iteration stays.
    await refuseToTakePersonsCommits(workspace, state);
    const reaped = await reapRunProcesses(runId);
    const indexLock = join(await gitCommonDir(workspace), 'index.lock');
    // A crash inside a git command leaves its lock; we hold the run lock, so no git of ours is running.
    if (existsSync(indexLock)) rmSync(indexLock, { force: true });
    clearPause(workspace);
    const startCommit = state.startCommit ?? (await headCommit(workspace)) ?? '';
    const abort = combinedAbort(options.signal);
    context = await buildLoopContext({
      workspace,
      runId,
      config,
      log,
      state,
      startCommit,
      signal: abort.signal,
      agent: options.agent,
      planner: options.planner,
      env: options.env,
      now,
      onEvent: observers.onEvent,
    });
    const why =
      state.status === 'running'
        ? `the previous harness${lock.recovered === null ? '' : ` (pid ${lock.recovered.pid})`} stopped without finishing`
        : `after ${state.stop?.reason ?? 'a stop'}`;
    if (state.status === 'not-started') {
      // The harness died before it could record the start: this is the start.
      const branch = await chooseRunBranch(workspace, runId, config, options);
      emitRunStarted(context, config, startCommit, options.workers ?? config.parallel.workers, branch);
      await enterRunBranch(workspace, branch);
    } else {
      context.emit({ type: 'run.resumed', reason: why, budgets: budgetsOf(config), reaped });
      if (branchMove !== null) {
        context.emit({
          type: 'branch.switched',
          from: branchMove.from,
          to: branchMove.to,
          why: 'resuming the run on its branch',
        });
      }
    }
    context.emit({
      type: 'sandbox.chosen',
      backend: context.sandbox.backend,
      warning: context.sandboxWarning ?? null,
    });
    if (state.currentIteration !== null) await abandonIteration(context, 'the harness died mid-iteration');
    return await driveToStop(context, abort, options, true);
  } finally {
    await context?.sandbox.close();
    log?.close();
    lock.release();
    await observers.close();
  }
}
