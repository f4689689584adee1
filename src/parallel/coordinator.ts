import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { exitCodes } from '../errors.ts';
import { headCommit, runGit, updateRef } from '../git/git.ts';
import type { TaskReturnReason } from '../log/events.ts';
import { blockedTasks, orderedTasks, readyTasks, type TaskState } from '../log/task-state.ts';
import type { RunState } from '../log/reducer.ts';
import { checkConcurrency, oracleCheck, runChecks } from '../core/check-specs.ts';
import type { LoopContext } from '../loop/context.ts';
import { allFailingParked, firstStop, parallelStopConditions, type StopDecision } from '../core/budgets.ts';
import { runDir } from '../workspace/paths.ts';
import { parallelState, type ParallelContext } from './context.ts';
import { judgeIntegration } from './judge-integration.ts';
import { Inflight, type Finished } from './inflight.ts';
import { mergeTask, mergeWorktreePath } from './merge-queue.ts';
import { decideSchedule } from './schedule.ts';
import { planTasks } from './plan-tasks.ts';
import { reconcileAfterCrash } from './reconcile.ts';
import { localTransport, type TaskTransport } from './transport.ts';
import { deleteBranch, removeWorktree, RepositoryLock, returnedRef, taskBranch } from './worktrees.ts';
import { verifyBaseline } from '../loop/baseline.ts';

export interface ParallelDriveOptions {
  readonly abort: AbortController;
  /** Wall-clock time the run has been active (crashes and pauses excluded). */
  readonly elapsedMs: (state: RunState) => number;
  /**
   * Between scheduling rounds: wait out a pause, pass on steering and decisions on proposals (accepted
   * ones are put on the integration branch only when no merge is under way: `moveBranch`); a decision
   * when a person said stop.
   */
  readonly honourControls: (moveBranch: boolean) => Promise<StopDecision | undefined>;
  /** Where attempts run (default: on this machine). */
  readonly transport?: TaskTransport;
}

/** The task spent its attempts or its own token/cost budget: it is abandoned, the others go on. */
function exhausted(context: ParallelContext, task: TaskState): string | undefined {
  const { parallel } = context.loop.config;
  const tokens = task.usage.inputTokens + task.usage.outputTokens;
  if (parallel.task.tokens !== undefined && tokens >= parallel.task.tokens) {
    return `spent ${tokens} tokens (parallel.task.tokens = ${parallel.task.tokens})`;
  }
  if (parallel.task.costUsd !== undefined && task.usage.costUsd >= parallel.task.costUsd) {
    return `spent $${task.usage.costUsd.toFixed(2)} (parallel.task.costUsd = $${parallel.task.costUsd.toFixed(2)})`;
  }
  if (task.attempts >= parallel.taskAttempts) {
    return `${task.attempts} attempts did not land (parallel.taskAttempts = ${parallel.taskAttempts}); last: ${task.lastReturn?.reason ?? 'unknown'}: ${task.lastReturn?.diagnostics.slice(0, 500) ?? ''}`;
  }
  return undefined;
}

/** The oracles that pass on the integration tip now: a merge may not break them. */
async function passingOraclesAtTip(context: ParallelContext): Promise<Set<string>> {
  const { loop } = context;
  const passing = new Set<string>();
  const dir = join(runDir(loop.workspace, loop.runId), 'baseline', String(Date.now()));
  mkdirSync(dir, { recursive: true });
  const results = await runChecks(
    loop.config.oracles.map(oracleCheck),
    {
      workspace: loop.workspace,
      outputDir: dir,
      env: { ...loop.env, BATON_RUN_ID: loop.runId },
      signal: loop.signal,
      sandbox: loop.sandbox,
    },
    { concurrency: checkConcurrency(loop.config) },
  );
  for (const result of results) if (result.passed) passing.add(result.name);
  return passing;
}

/**
 * The parallel run: a planner cuts the work into tasks; up to N workers each take a ready task in their
 * own worktree and sandbox; one merge queue lands finished tasks one at a time on the integration branch
 * (rebase, verify, fast-forward); after the merges the judge decides done, re-plan or stop. Workers never
 * talk to each other: the plan, the branches and the log are all they share.
 */
export async function driveParallel(loop: LoopContext, options: ParallelDriveOptions): Promise<StopDecision> {
  const context = await parallelContext(loop);
  try {
    return await coordinate(context, options);
  } finally {
    await context.repository.run(() => removeWorktree(loop.workspace, mergeWorktreePath(context)));
  }
}

async function parallelContext(loop: LoopContext): Promise<ParallelContext> {
  const branch = (
    await runGit(loop.workspace, ['symbolic-ref', '--quiet', '--short', 'HEAD'], true)
  ).stdout.trim();
  return {
    loop,
    workers: loop.state.parallel?.workers ?? 1,
    integrationBranch: branch,
    repository: new RepositoryLock(),
  };
}

async function coordinate(context: ParallelContext, options: ParallelDriveOptions): Promise<StopDecision> {
  const { loop } = context;
  const transport = options.transport ?? localTransport;
  if (orderedTasks(parallelState(context)).length > 0) {
    await reconcileAfterCrash(context, transport.resumeAttempt !== undefined);
  }
  // What holds and fails before any worker (once per run): the baseline a task's evidence is judged by.
  if (parallelState(context).revision === 0) await verifyBaseline(loop);
  const atBaseline = loop.state.baseline?.checks
    .filter((check) => check.kind === 'oracle' && check.passed)
    .map((check) => check.name);
  // Measured only when the log holds no measurement yet (a new run, or a log of version 1).
  const measured = parallelState(context).passingOracles ??
    atBaseline ?? [...(await passingOraclesAtTip(context))];
  if (parallelState(context).revision === 0) await planTasks(context, measured);

  const conditions = parallelStopConditions(loop.config.budgets);
  const inflight = new Inflight();
  const freeWorkers = Array.from({ length: context.workers }, (_, index) => index + 1);
  const takeWorker = (preferred?: number): number => {
    const index = preferred === undefined ? -1 : freeWorkers.indexOf(preferred);
    return (index >= 0 ? freeWorkers.splice(index, 1)[0] : freeWorkers.shift()) ?? 1;
  };
  const startAttempt = (task: TaskState, worker: number, base: string | null): void => {
    const { resumeAttempt } = transport;
    inflight.addAttempt(
      task.spec.id,
      worker,
      base === null && resumeAttempt !== undefined
        ? resumeAttempt(context, task)
        : transport.runAttempt(context, task, worker, base ?? ''),
    );
  };

  // Attempts a previous coordinator started and the transport can wait for again (queued jobs).
  for (const task of orderedTasks(parallelState(context))) {
    if (task.status === 'running') startAttempt(task, takeWorker(task.worker ?? undefined), null);
  }

  let stopping: StopDecision | undefined;
  let failure: Error | undefined;
  for (;;) {
    stopping ??= firstStop(conditions, loop.state, options.elapsedMs(loop.state));
    stopping ??= await options.honourControls(!inflight.merging);
    if (stopping === undefined && options.abort.signal.aborted) {
      stopping = {
        reason: 'aborted',
        message: 'the run was interrupted; `baton resume` continues',
        exitCode: exitCodes.stopped,
      };
    }
    // Merges go on while a stop drains the workers (their work is done); an abort stops them too.
    const schedule = decideSchedule({
      state: parallelState(context),
      freeWorkers,
      running: inflight.running(),
      merging: inflight.merging,
      stopping: stopping !== undefined,
      halted: options.abort.signal.aborted || failure !== undefined,
      sessionBudget: loop.config.budgets.iterations,
    });
    if (schedule.start.length > 0) {
      const tip = (await headCommit(loop.workspace)) ?? '';
      for (const { task, worker } of schedule.start) {
        const state = parallelState(context).tasks[task];
        if (state !== undefined) startAttempt(state, takeWorker(worker), tip);
      }
    }
    if (schedule.merge !== undefined) {
      const task = parallelState(context).tasks[schedule.merge.task];
      if (task !== undefined) {
        inflight.setMerge(
          task.spec.id,
          mergeTask(
            context,
            task,
            schedule.merge.commit,
            new Set(parallelState(context).passingOracles ?? measured),
          ),
        );
      }
    }
    if (inflight.size === 0) {
      if (failure !== undefined) throw failure;
      if (stopping !== undefined) return stopping;
      const settled = await settleRound(context, options);
      if (settled === 'continue') continue;
      return settled;
    }
    const finished = await inflight.next();
    if (finished.kind === 'attempt') freeWorkers.push(finished.worker);
    failure ??= await applyFinished(context, finished, options.abort.signal.aborted);
  }
}

/**
 * Nothing in flight: abandon what can never start, else judge the integration tip and decide done, a
 * stop (nothing but parked features left, or no re-plans left) or a new plan.
 */
async function settleRound(
  context: ParallelContext,
  options: ParallelDriveOptions,
): Promise<StopDecision | 'continue'> {
  const { loop } = context;
  const blocked = blockedTasks(parallelState(context));
  for (const task of blocked) {
    loop.emit({
      type: 'task.abandoned',
      task: task.spec.id,
      reason: `it depends on ${task.spec.dependsOn.filter((id) => parallelState(context).tasks[id]?.status === 'abandoned').join(', ')}, which was abandoned`,
    });
  }
  if (blocked.length > 0 || readyTasks(parallelState(context)).length > 0) return 'continue';
  const { decision, verdict } = await judgeIntegration(context);
  if (decision === 'done') return { reason: 'done', message: verdict.reason, exitCode: exitCodes.done };
  // Nothing left to plan while every failing feature waits for a person's answer.
  const parked = allFailingParked(loop.state, options.elapsedMs(loop.state));
  if (parked !== undefined) return parked;
  if (decision === 'stop') {
    return {
      reason: 'no-progress',
      message: `${verdict.reason} No re-plans left (parallel.replans = ${loop.config.parallel.replans}).`,
      exitCode: exitCodes.noProgress,
    };
  }
  await planTasks(context);
  return 'continue';
}

/**
 * Apply what came back: a landed merge is recorded, anything that did not land returns its task (with
 * its diagnostics, abandoned when out of attempts). A broken harness part is returned as the failure
 * that ends the run once the others drain.
 */
async function applyFinished(
  context: ParallelContext,
  finished: Finished,
  aborted: boolean,
): Promise<Error | undefined> {
  const { loop } = context;
  const task = parallelState(context).tasks[finished.task];
  if (task === undefined) return undefined;
  if (finished.outcome instanceof Error) {
    if (task.status === 'running' || task.status === 'awaiting-merge') {
      await returnTask(context, task, 'interrupted', finished.outcome.message, null);
    }
    return finished.outcome;
  }
  const outcome = finished.outcome;
  if (!outcome.landed) {
    const reason: TaskReturnReason = aborted ? 'interrupted' : outcome.reason;
    await returnTask(context, task, reason, outcome.diagnostics, task.workCommit, outcome.abandon);
    return undefined;
  }
  if (finished.kind === 'merge' && 'checks' in outcome) {
    await context.repository.run(() => deleteBranch(loop.workspace, taskBranch(loop.runId, task.spec.id)));
    loop.emit({
      type: 'task.merged',
      task: task.spec.id,
      attempt: task.attempts,
      commit: outcome.commit,
      checks: outcome.checks,
      passingFeatures: outcome.passingFeatures,
    });
  }
  return undefined;
}

/** Send a task back: its work kept under a ref, its branch deleted; abandoned when it may not go again. */
async function returnTask(
  context: ParallelContext,
  task: TaskState,
  reason: TaskReturnReason,
  diagnostics: string,
  commit: string | null,
  abandon?: string,
): Promise<void> {
  const { loop } = context;
  if (commit !== null) {
    await updateRef(loop.workspace, returnedRef(loop.runId, task.spec.id, task.attempts), commit);
  }
  await context.repository.run(() => deleteBranch(loop.workspace, taskBranch(loop.runId, task.spec.id)));
  loop.emit({ type: 'task.returned', task: task.spec.id, attempt: task.attempts, reason, diagnostics });
  const after = parallelState(context).tasks[task.spec.id];
  const why =
    after === undefined || reason === 'interrupted' ? undefined : (abandon ?? exhausted(context, after));
  if (why !== undefined) loop.emit({ type: 'task.abandoned', task: task.spec.id, reason: why });
}
