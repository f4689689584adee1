import { mkdirSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Agent } from '../agents/agent.ts';
import { loadConfig } from '../config/load.ts';
import { BatonError, exitCodes } from '../errors.ts';
import {
  changedPaths,
  excludeLocally,
  gitCommonDir,
  headCommit,
  isGitRepository,
  listTree,
} from '../git/git.ts';
import { lockedPaths } from '../guards/diff-review.ts';
import { EventLog } from '../log/event-log.ts';
import type { NewRunEvent, RunEvent } from '../log/events.ts';
import { initialRunState, reduceRunState, type RunState } from '../log/reducer.ts';
import type { LoopContext } from '../loop/context.ts';
import { createAgentFromConfig } from '../loop/create-agent.ts';
import { runIteration } from '../loop/iteration.ts';
import { firstStop, stopConditionsFor, type StopDecision } from '../loop/stop-conditions.ts';
import { countPassing, readFeatureList } from '../workspace/features.ts';
import { eventLogPath, harnessDirName, runDir } from '../workspace/paths.ts';
import { describeError } from '../errors.ts';
import { readGoal } from '../workspace/spec.ts';

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
}

export interface RunLoopResult {
  readonly runId: string;
  readonly state: RunState;
  readonly stop: StopDecision;
}

function newRunId(now: Date): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `${stamp}-${randomBytes(3).toString('hex')}`;
}

async function assertReady(workspace: string): Promise<void> {
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
  const features = readFeatureList(workspace);
  if (!features.ok) {
    throw new BatonError(`FEATURES.json cannot be used: ${features.problems.join('; ')}`, {
      code: 'FEATURES_INVALID',
      fix: 'correct FEATURES.json (each feature needs id, title, verify, status) or restore it with `git checkout -- FEATURES.json`',
      exitCode: exitCodes.usage,
    });
  }
  await excludeLocally(workspace, `/${harnessDirName}/`);
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

/**
 * The Ralph loop: fresh agent sessions, one bounded unit of work each, until the judge says done or a
 * budget ends the run. Every step is an event in an append-only log; the returned state is the fold
 * of that log.
 */
export async function runLoop(options: RunLoopOptions): Promise<RunLoopResult> {
  const now = options.now ?? (() => new Date());
  const workspace = options.workspace;
  const config = loadConfig(workspace);
  await assertReady(workspace);
  const agent =
    options.agent ??
    (config.agent === undefined ? undefined : createAgentFromConfig(config.agent, workspace));
  if (agent === undefined) {
    throw new BatonError('baton.yaml names no agent', {
      code: 'NO_AGENT',
      fix: 'add an agent section to baton.yaml, e.g. agent: { type: command, command: "my-agent --print" }',
      exitCode: exitCodes.usage,
    });
  }
  const fallbackAgent =
    config.fallbackAgent === undefined ? undefined : createAgentFromConfig(config.fallbackAgent, workspace);
  const planner =
    options.planner ??
    (config.planner === undefined ? agent : createAgentFromConfig(config.planner, workspace));
  const features = readFeatureList(workspace);
  const list = features.ok ? features.list : { version: 1 as const, features: [] };

  const startedAt = now();
  const runId = newRunId(startedAt);
  mkdirSync(runDir(workspace, runId), { recursive: true });
  // The log's mirror lives inside .git, where a worker has no reason to look: a tampered log is restored.
  const mirror = join(await gitCommonDir(workspace), 'baton', 'runs', runId, 'events.jsonl');
  const { log } = EventLog.open(eventLogPath(workspace, runId), mirror);
  const startHead = (await headCommit(workspace)) ?? '';
  const lockGlobs = [...config.guards.testFiles, ...config.guards.protectedPaths];
  const locked = lockedPaths(await listTree(workspace, startHead), lockGlobs);
  const signal = options.signal ?? new AbortController().signal;

  const context: LoopContext = {
    workspace,
    runId,
    config,
    agent,
    fallbackAgent,
    planner,
    locked,
    checkpoint: { commit: startHead, checks: [] },
    agentTimeoutMs: config.agent?.timeoutMs ?? 30 * 60_000,
    env: options.env ?? process.env,
    signal,
    log,
    now,
    state: initialRunState,
    previousChecks: [],
    emit: (event: NewRunEvent) => {
      const written = log.append(event, now());
      context.state = reduceRunState(context.state, written);
      options.onEvent?.(written, context.state);
      return written;
    },
  };

  const stopWith = (decision: StopDecision): RunLoopResult => {
    context.emit({
      type: 'run.stopped',
      reason: decision.reason,
      message: decision.message,
      exitCode: decision.exitCode,
    });
    return { runId, state: context.state, stop: decision };
  };

  try {
    context.emit({
      type: 'run.started',
      runId,
      goal: config.goal ?? readGoal(workspace),
      workspace,
      headCommit: startHead,
      budgets: config.budgets,
      featuresTotal: list.features.length,
      featuresPassing: countPassing(list),
    });
    const conditions = stopConditionsFor(config.budgets);
    for (let iteration = 1; ; iteration += 1) {
      const elapsedMs = now().getTime() - startedAt.getTime();
      const decision = firstStop(conditions, context.state, elapsedMs);
      if (decision !== undefined) return stopWith(decision);
      if (signal.aborted) {
        return stopWith({
          reason: 'aborted',
          message: 'the run was interrupted',
          exitCode: exitCodes.stopped,
        });
      }
      await runIteration(context, iteration);
    }
  } catch (error) {
    const exitCode = BatonError.isInstance(error) ? error.exitCode : exitCodes.error;
    stopWith({ reason: signal.aborted ? 'aborted' : 'error', message: describeError(error), exitCode });
    throw error;
  } finally {
    log.close();
  }
}
