import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { claimsDone } from '../agents/agent.ts';
import { passingBefore, regressions } from '../core/evidence.ts';
import { decideVerdict } from '../core/judge.ts';
import { commitWork, setAsideLateRepositories } from '../core/set-aside.ts';
import { BatonError } from '../errors.ts';
import {
  changedPaths,
  commitAll,
  diffBetween,
  headCommit,
  runGit,
  stashAll,
  untrackedPaths,
} from '../git/git.ts';
import type { CheckResult } from '../log/events.ts';
import { describePaths } from '../guards/pollution.ts';
import { readFeatureList, type FeatureList } from '../workspace/features.ts';
import { iterationDir } from '../workspace/paths.ts';
import { firstLine, head } from '../util/text.ts';
import { runCheck } from '../checks/command-check.ts';
import type { LoopContext } from './context.ts';
import { escalateAndReplan } from './escalate.ts';
import { guardWorkerChanges } from './post-work-guards.ts';
import { buildPrompt } from './prompt.ts';
import { recordIteration } from './record.ts';
import { rollBack } from './rollback.ts';
import { startWorkerSession } from './session.ts';
import { checkContextFor, excerptOf, runAllChecks, smokeSpec } from './verify.ts';
import { recordQuestion, reviewWork } from './work-review.ts';

/** Thrown when the run is interrupted mid-iteration (stop --now, SIGTERM): the loop abandons the iteration. */
export class IterationInterrupted extends BatonError {
  constructor(iteration: number) {
    super(`iteration ${iteration} was interrupted`, { code: 'INTERRUPTED', exitCode: 5 });
  }
}

function currentFeatures(context: LoopContext): FeatureList {
  const result = readFeatureList(context.workspace);
  if (!result.ok) {
    throw new BatonError(
      `FEATURES.json became unreadable between iterations: ${result.problems.join('; ')}`,
      {
        code: 'FEATURES_INVALID',
        fix: 'a person or tool edited it while the run was paused: fix it (or `git checkout -- FEATURES.json`) and resume',
      },
    );
  }
  return result.list;
}

function throwIfInterrupted(context: LoopContext, iteration: number): void {
  if (context.signal.aborted) throw new IterationInterrupted(iteration);
}

/**
 * Verification ran the worker's code again, after the guards looked: a nested repository it left would
 * be skipped by the stash and recorded by the next `git add`, so it is moved aside (core/set-aside.ts).
 * Returns the refusal for the judge, when there was one.
 */
function setAsideAfterChecks(
  context: LoopContext,
  iteration: number,
  changed: readonly string[],
  folder: string,
): string | undefined {
  const late = setAsideLateRepositories(context.workspace, changed, {
    dir: join(context.workspace, '.baton', 'scratch', context.runId, String(iteration), folder),
    shown: `.baton/scratch/${context.runId}/${iteration}/${folder}/`,
  });
  if (late === undefined) return undefined;
  context.emit({
    type: 'guard.fired',
    iteration,
    guard: 'nested-repository',
    action: 'moved',
    details: late.details,
  });
  return late.reason;
}

/** One iteration: preflight, orient, work, guard, verify, judge, settle, record. */
export async function runIteration(context: LoopContext, iteration: number): Promise<void> {
  const startedAt = performance.now();
  // Changes a person made while the run waited between iterations are theirs: commit them as such.
  const humanEdits = [
    ...new Set([...(await changedPaths(context.workspace)), ...(await untrackedPaths(context.workspace))]),
  ];
  if (humanEdits.length > 0) {
    const commit = await commitAll(
      context.workspace,
      `baton: changes made by a person between iterations (${head(describePaths(humanEdits, 3), 100)})`,
    );
    context.emit({ type: 'human.edited', iteration, paths: humanEdits, commit });
  }
  context.emit({
    type: 'iteration.started',
    iteration,
    headCommit: (await headCommit(context.workspace)) ?? '',
  });
  const dir = iterationDir(context.workspace, context.runId, iteration);
  mkdirSync(join(dir, 'checks'), { recursive: true });
  const checkContext = checkContextFor(context, join(dir, 'checks'));

  // Preflight: escalate a stall, refresh a rotten plan, then check the workspace is not already broken.
  await escalateAndReplan(context, iteration, currentFeatures(context), dir);
  throwIfInterrupted(context, iteration);
  const featuresBefore = currentFeatures(context);
  const headBefore = (await headCommit(context.workspace)) ?? '';
  const smoke = smokeSpec(context);
  const smokeResult = smoke === undefined ? null : await runCheck(smoke, checkContext);
  context.emit({ type: 'smoke.ended', iteration, result: smokeResult });
  throwIfInterrupted(context, iteration);

  // Orient: a fresh prompt from disk, the last verdict and what a person said, bounded in size.
  const prompt = buildPrompt({
    runId: context.runId,
    iteration,
    goal: context.state.goal,
    features: featuresBefore.features,
    parked: context.state.parked.map((entry) => entry.feature),
    steering: context.state.steering
      .filter((entry) => entry.iteration === iteration)
      .map((entry) => entry.message),
    smoke:
      smokeResult === null
        ? null
        : {
            passed: smokeResult.passed,
            excerpt: smokeResult.passed ? null : excerptOf(context, smokeResult),
          },
    lastVerdict: context.state.lastVerdict,
    failing: context.previousChecks
      .filter((check) => !check.passed && check.kind !== 'smoke')
      .map((check) => excerptOf(context, check)),
  });
  writeFileSync(join(dir, 'prompt.md'), prompt);

  // Work: a fresh agent session in its own process group.
  const session = await startWorkerSession(context, iteration, prompt, dir);
  const claimed = claimsDone(session.finalMessage);
  writeFileSync(join(dir, 'handoff.md'), session.finalMessage);
  context.emit({
    type: 'agent.ended',
    iteration,
    status: session.status,
    exitCode: session.exitCode,
    durationMs: Math.round(session.durationMs),
    usage: session.usage,
    claimedDone: claimed,
    finalMessage: head(session.finalMessage, 2_000),
  });
  throwIfInterrupted(context, iteration);

  // Guard the worker's changes, commit what stands, then review the diff for test gaming.
  const guarded = await guardWorkerChanges(context, iteration, featuresBefore);
  const committed = await commitWork(
    context.workspace,
    `baton: iteration ${iteration} work${session.finalMessage.trim() === '' ? '' : `: ${head(firstLine(session.finalMessage), 120)}`}`,
    {
      dir: join(context.workspace, '.baton', 'scratch', context.runId, String(iteration), 'uncommittable'),
      shown: `.baton/scratch/${context.runId}/${iteration}/uncommittable/`,
    },
  );
  const workCommit = committed.ok ? committed.commit : null;
  if (workCommit !== null) {
    context.emit({ type: 'commit.created', iteration, commit: workCommit, purpose: 'work' });
  }
  const rejections = [...guarded.rejections];
  if (!committed.ok) {
    rejections.push(committed.reason);
    context.emit({
      type: 'guard.fired',
      iteration,
      guard: 'uncommittable',
      action: 'rejected',
      details: [committed.reason],
    });
  }
  // A worker that died (crashed, killed, timed out) leaves half-done work: the next one starts clean.
  if (session.status !== 'completed') {
    rejections.push(
      `the worker did not finish (${session.error ?? session.status}); its changes were set aside`,
    );
  }
  if (workCommit !== null && session.status === 'completed') {
    rejections.push(...(await reviewWork(context, iteration, headBefore, workCommit)));
  }
  const rejected = rejections.length > 0;
  if (rejected) await rollBack(context, iteration, workCommit, headBefore, rejections.join('; '));
  recordQuestion(context, iteration, session, workCommit !== null, featuresBefore);

  // Verify: the harness runs every feature's verify command and every oracle itself.
  const features = rejected ? featuresBefore : guarded.features;
  let verifiedCommit = (await headCommit(context.workspace)) ?? '';
  // When the work was refused the tree is exactly as before, and the earlier results still hold.
  let checks: readonly CheckResult[] =
    rejected && context.previousChecks.length > 0
      ? context.previousChecks
      : await runAllChecks(context, features, checkContext);
  context.emit({ type: 'verify.ended', iteration, commit: verifiedCommit, checks });
  throwIfInterrupted(context, iteration);

  // Whatever verification (or the worker) left uncommitted is stashed, never deleted; a nested repository
  // (which the stash would skip) is moved aside first.
  const polluted = await changedPaths(context.workspace);
  const late = setAsideAfterChecks(context, iteration, polluted, 'after-checks');
  if (polluted.length > 0) {
    const stash = await stashAll(
      context.workspace,
      `baton: files left uncommitted in iteration ${iteration}`,
    );
    context.emit({ type: 'tree.polluted', iteration, paths: polluted, stash });
  }

  // Silent regression: a check that passed before and fails now.
  const wasPassing = passingBefore(
    featuresBefore.features.filter((feature) => feature.status === 'passing').map((feature) => feature.id),
    context.previousChecks
      .filter((check) => check.kind === 'oracle' && check.passed)
      .map((check) => check.name),
  );
  const regressed = regressions(checks, wasPassing);
  const refusals = [...rejections, ...guarded.corrections, ...(late === undefined ? [] : [late])];
  let restoredCheckpoint = false;
  if (regressed.length > 0 && !rejected) {
    const detail = `broke what passed before: ${regressed.join(', ')}`;
    if (context.config.guards.regression === 'rollback') {
      context.emit({
        type: 'guard.fired',
        iteration,
        guard: 'regression',
        action: 'rejected',
        details: [detail],
      });
      await rollBack(
        context,
        iteration,
        verifiedCommit,
        context.checkpoint.commit,
        `the worker ${detail}; rolled back to the last checkpoint`,
      );
      refusals.push(
        `the worker ${detail}; the iteration was rolled back to the last checkpoint: fix the feature without breaking the others`,
      );
      verifiedCommit = context.checkpoint.commit;
      // Verify the restored tree again, so every result recorded below describes what is on disk.
      checks = await runAllChecks(context, currentFeatures(context), {
        ...checkContext,
        outputDir: join(dir, 'checks-after-rollback'),
      });
      context.emit({ type: 'verify.ended', iteration, commit: verifiedCommit, checks });
      const lateAfterRollback = setAsideAfterChecks(
        context,
        iteration,
        await changedPaths(context.workspace),
        'after-rollback-checks',
      );
      if (lateAfterRollback !== undefined) refusals.push(lateAfterRollback);
      restoredCheckpoint = true;
    } else {
      context.emit({
        type: 'guard.fired',
        iteration,
        guard: 'regression',
        action: 'kept',
        details: [detail],
      });
      refusals.push(`the worker ${detail}: fix this first, before any new work`);
    }
  }

  // Judge: deterministic, from the harness's own evidence.
  const featuresNow = restoredCheckpoint ? currentFeatures(context) : features;
  // An optional model judge gives a second opinion on the same evidence; it can veto done, never grant it.
  const verdict = await decideVerdict({
    evidence: {
      done: context.config.done,
      checks,
      featureIds: featuresNow.features.map((feature) => feature.id),
      claimed,
      pollutedPaths: polluted,
      refusals,
    },
    judgeConfig: context.config.judge,
    consult: 'always',
    modelEvidence: async () => ({
      goal: context.state.goal,
      features: featuresNow.features,
      diffStat:
        headBefore === verifiedCommit
          ? ''
          : (await runGit(context.workspace, ['diff', '--stat', headBefore, verifiedCommit], true)).stdout,
      handoff: session.finalMessage,
    }),
    env: context.env,
    signal: context.signal,
  });
  context.emit({ type: 'judge.ended', iteration, verdict });
  writeFileSync(join(dir, 'judge.json'), `${JSON.stringify(verdict, null, 2)}\n`);
  writeFileSync(
    join(dir, 'diff.patch'),
    workCommit === null ? '' : await diffBetween(context.workspace, headBefore, workCommit),
  );

  await recordIteration(context, {
    iteration,
    startedAt,
    features: featuresNow,
    checks,
    verdict,
    session,
    workCommit,
    verifiedCommit,
    wasPassing,
    regressed,
    rolledBack: rejected || restoredCheckpoint,
    restoredCheckpoint,
    smokePassed: smokeResult === null || smokeResult.passed,
  });
}
