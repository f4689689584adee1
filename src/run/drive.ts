import { BatonError, describeError, exitCodes, markStopRecorded } from '../errors.ts';
import { sleep } from '../util/sleep.ts';
import { checkpointRef } from '../git/baton-refs.ts';
import { runGit } from '../git/git.ts';
import { commitsBetween } from '../git/person-identity.ts';
import { singleLine } from '../util/text.ts';
import type { LoopContext } from '../loop/context.ts';
import { IterationInterrupted, runIteration } from '../loop/iteration.ts';
import { driveParallel } from '../parallel/coordinator.ts';
import type { TaskTransport } from '../parallel/transport.ts';
import { applyConfigEdits } from '../loop/config-reload.ts';
import { takeProposalDecisions } from '../loop/proposal-decisions.ts';
import { verifyBaseline } from '../loop/baseline.ts';
import { saveAndReset } from '../loop/rollback.ts';
import { firstStop, stopConditionsFor, type StopDecision } from '../core/budgets.ts';
import type { RunState } from '../log/reducer.ts';
import { clearPause, clearStop, pauseRequested, readDecisions, readSteer, stopRequested } from './control.ts';

export interface DriveOptions {
  /** Aborts the iteration under way (SIGTERM/SIGINT to the CLI, `baton stop --now`). */
  readonly abort: AbortController;
  /** How long to wait between looks at the control files while paused. */
  readonly pollMs?: number;
  /** Where a parallel run's attempts run (default: on this machine). */
  readonly transport?: TaskTransport;
}

/** Wall-clock time the run has been active: crashes, stops and pauses do not count. */
export function activeElapsedMs(state: RunState, now: Date): number {
  const segment =
    state.segmentStartedAt === null ? 0 : Math.max(0, now.getTime() - Date.parse(state.segmentStartedAt));
  return state.activeMsBefore + segment;
}

function stoppedByPerson(by: string): StopDecision {
  return {
    reason: 'stopped',
    message: `stopped by ${by}; \`baton resume\` continues where it left off`,
    exitCode: exitCodes.stopped,
  };
}

/**
 * Between iterations: honour a stop, wait out a pause, and pass on what a person said. Returns a stop
 * decision when the person asked the run to stop.
 */
async function honourControls(
  context: LoopContext,
  options: DriveOptions,
  moveBranch = true,
): Promise<StopDecision | undefined> {
  const stop = stopRequested(context.workspace);
  if (stop !== null) {
    clearStop(context.workspace);
    return stoppedByPerson(stop.by);
  }
  if (pauseRequested(context.workspace)) {
    context.emit({ type: 'run.paused', by: 'a person (baton pause)' });
    while (pauseRequested(context.workspace) && !options.abort.signal.aborted) {
      const during = stopRequested(context.workspace);
      if (during !== null) {
        clearStop(context.workspace);
        clearPause(context.workspace);
        context.emit({ type: 'run.unpaused', by: during.by });
        return stoppedByPerson(during.by);
      }
      await sleep(options.pollMs ?? 250, options.abort.signal);
    }
    // An interrupted harness (SIGTERM, Ctrl-C) was not resumed by anyone: it ends while paused.
    context.emit({
      type: 'run.unpaused',
      by: options.abort.signal.aborted ? 'the harness being interrupted' : 'a person (baton resume)',
    });
  }
  const next = context.state.lastIteration + 1;
  await takeProposalDecisions(context, next, readDecisions(context.workspace, context.runId), moveBranch);
  for (const message of readSteer(context.workspace, context.runId, context.state.steering.length)) {
    context.emit({
      type: 'steer.received',
      iteration: next,
      message: message.message,
      unpark: message.unpark,
    });
  }
  return undefined;
}

/** Watch for `baton stop --now` while an iteration runs, and abort it within a poll interval. */
function watchForStopNow(context: LoopContext, abort: AbortController, pollMs: number): () => void {
  const timer = setInterval(() => {
    if (stopRequested(context.workspace)?.now === true) abort.abort();
  }, pollMs);
  timer.unref();
  return () => {
    clearInterval(timer);
  };
}

/**
 * A person's commit on top of an unfinished iteration (made during it, or after a crash before the
 * resume) is theirs: putting the iteration aside resets the branch to where it started and would take
 * it off. Refused, with the fix, before anything changes.
 */
export async function refuseToTakePersonsCommits(workspace: string, state: RunState): Promise<void> {
  const iteration = state.currentIteration;
  const summary = state.current;
  if (iteration === null || summary?.iteration !== iteration) return;
  const persons = (await commitsBetween(workspace, summary.startCommit)).filter((entry) => entry.person);
  if (persons.length === 0) return;
  throw new BatonError(
    `iteration ${iteration} was left unfinished, and ${persons.length} commit(s) by a person are on top of it (${persons.map((entry) => `${entry.commit.slice(0, 8)} ${singleLine(entry.subject).slice(0, 60)}`).join('; ')}); putting the iteration aside would take them off the branch`,
    {
      code: 'RESUME_WOULD_TAKE_WORK',
      fix: `keep them on a branch of your own (\`git branch my-work\`), then move the run's branch back to where the iteration started (\`git reset --keep ${summary.startCommit.slice(0, 12)}\`) and resume; or start a new run with \`baton run --new\`. Nothing was changed`,
      exitCode: exitCodes.usage,
    },
  );
}

/** Put an unfinished iteration aside (its work under a ref) and the workspace back where it started. */
export async function abandonIteration(context: LoopContext, reason: string): Promise<void> {
  const iteration = context.state.currentIteration;
  const summary = context.state.current;
  if (iteration === null || summary?.iteration !== iteration) return;
  await refuseToTakePersonsCommits(context.workspace, context.state);
  const ref = `refs/baton/interrupted/${context.runId}/${iteration}`;
  const savedAs = await saveAndReset(
    context.workspace,
    ref,
    summary.startCommit,
    `baton: unfinished iteration ${iteration} (${reason})`,
  );
  // A checkpoint that iteration tagged would point at work that is no longer on the branch.
  await runGit(context.workspace, ['update-ref', '-d', checkpointRef(context.runId, iteration)], true);
  context.emit({ type: 'iteration.interrupted', iteration, savedAs, resetTo: summary.startCommit, reason });
}

/**
 * The Ralph loop proper: check the stop conditions, honour the person, run one iteration, repeat.
 * Always ends with a run.stopped event (unless the process itself dies, which resume reconciles).
 */
export async function driveRun(context: LoopContext, options: DriveOptions): Promise<StopDecision> {
  const stopWith = (decision: StopDecision): StopDecision => {
    context.emit({
      type: 'run.stopped',
      reason: decision.reason,
      message: decision.message,
      exitCode: decision.exitCode,
    });
    return decision;
  };
  const unwatch = watchForStopNow(context, options.abort, options.pollMs ?? 250);
  try {
    if (context.state.parallel !== null) {
      const decision = await driveParallel(context, {
        abort: options.abort,
        elapsedMs: (state) => activeElapsedMs(state, context.now()),
        honourControls: (moveBranch) => honourControls(context, options, moveBranch),
        ...(options.transport === undefined ? {} : { transport: options.transport }),
      });
      // A stop request that arrived while the workers drained is answered by this stop.
      clearStop(context.workspace);
      return stopWith(decision);
    }
    // What holds and what fails where the run starts, before any worker (once per run).
    await verifyBaseline(context);
    for (;;) {
      // Done or out of budget comes first: a person's stop request is then moot (and must not linger).
      // A person's edit of baton.yaml is taken before the budgets are looked at (or refused, with why).
      await applyConfigEdits(context, context.state.lastIteration + 1);
      const conditions = stopConditionsFor(context.config.budgets);
      const decision = firstStop(conditions, context.state, activeElapsedMs(context.state, context.now()));
      if (decision !== undefined) {
        clearStop(context.workspace);
        return stopWith(decision);
      }
      const personal = await honourControls(context, options);
      if (personal !== undefined) return stopWith(personal);
      // And once more after a pause: what was edited while the run waited applies to this iteration.
      await applyConfigEdits(context, context.state.lastIteration + 1);
      if (options.abort.signal.aborted) {
        return stopWith({
          reason: 'aborted',
          message: 'the run was interrupted',
          exitCode: exitCodes.stopped,
        });
      }
      await runIteration(context, context.state.lastIteration + 1);
    }
  } catch (error) {
    if (
      error instanceof IterationInterrupted ||
      (options.abort.signal.aborted && context.state.currentIteration !== null)
    ) {
      const request = stopRequested(context.workspace);
      clearStop(context.workspace);
      await abandonIteration(context, request === null ? 'interrupted' : `stop --now by ${request.by}`);
      return stopWith(
        request === null
          ? {
              reason: 'aborted',
              message: 'the run was interrupted mid-iteration; `baton resume` continues',
              exitCode: exitCodes.stopped,
            }
          : stoppedByPerson(request.by),
      );
    }
    const exitCode = BatonError.isInstance(error) ? error.exitCode : exitCodes.error;
    stopWith({ reason: 'error', message: describeError(error), exitCode });
    markStopRecorded(error);
    throw error;
  } finally {
    unwatch();
  }
}
