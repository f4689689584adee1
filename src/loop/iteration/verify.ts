import { join } from 'node:path';
import { heldBefore, regressions } from '../../core/evidence.ts';
import { headCommit } from '../../git/git.ts';
import { tidyAfterChecks } from '../after-checks.ts';
import type { CheckResult } from '../../log/events.ts';
import type { FeatureList } from '../../workspace/features.ts';
import type { LoopContext } from '../context.ts';
import { rollBack } from '../rollback.ts';
import { runAllChecks } from '../verify.ts';
import { refuseTestChanges } from '../propose.ts';
import {
  gatherTestEvidence,
  judgeTestChanges,
  noTestEvidence,
  type TestEvidenceInput,
} from '../../core/test-evidence.ts';
import { currentFeatures, throwIfInterrupted } from './interrupted.ts';
import type { PreparedIteration } from './prepare.ts';
import type { GuardedWork } from './work.ts';

/** The harness's evidence on what the iteration leaves, after any regression was undone. */
export interface VerifiedWork {
  readonly checks: readonly CheckResult[];
  readonly verifiedCommit: string;
  /** Paths verification (or the worker) left uncommitted: stashed, never deleted. */
  readonly polluted: readonly string[];
  /** Checks that passed when the iteration started (`kind:name`). */
  readonly wasPassing: ReadonlySet<string>;
  readonly regressed: readonly string[];
  /** A regression was rolled back: the tree is the iteration's start again (its worker's work undone). */
  readonly restoredCheckpoint: boolean;
  /** Reasons the work cannot count as done: refusals, corrections, the regression. */
  readonly refusals: readonly string[];
  /** The FEATURES.json the verdict and the record describe. */
  readonly features: FeatureList;
}

/** What judging the worker's test changes needs; undefined when nothing of the worker's stands. */
function testEvidenceInput(
  context: LoopContext,
  prepared: PreparedIteration,
  work: GuardedWork,
  commit: string,
): TestEvidenceInput | undefined {
  if (work.review === undefined || work.workCommit === null || work.rejections.length > 0) return undefined;
  return {
    workspace: context.workspace,
    runId: context.runId,
    label: String(prepared.iteration),
    base: prepared.headBefore,
    candidate: commit,
    review: work.review,
    features: work.features,
    config: context.config,
    checkContext: prepared.checkContext,
  };
}

/**
 * Verify: the harness runs every feature's verify command and every oracle itself, stashes what was left
 * uncommitted, and rolls a silent regression (a check that passed before and fails now) back to where the
 * iteration started (or keeps it and says so, with `guards.regression: keep`).
 */
export async function verifyWork(
  context: LoopContext,
  prepared: PreparedIteration,
  work: GuardedWork,
): Promise<VerifiedWork> {
  const { iteration, checkContext, featuresBefore } = prepared;
  const rejected = work.rejections.length > 0;
  const verifiedCommit = (await headCommit(context.workspace)) ?? '';
  // When the work was refused the tree is exactly as before, and the earlier results still hold.
  // The hooks ran on the staged change; with nothing committed the tree is as before, and so are they.
  const hooks =
    work.hooks.length > 0 ? work.hooks : context.previousChecks.filter((check) => check.kind === 'hook');
  const evidence = testEvidenceInput(context, prepared, work, verifiedCommit);
  const wasPassing = heldBefore(featuresBefore, context.previousChecks);
  let checks: readonly CheckResult[];
  let gathered = noTestEvidence;
  if (rejected && context.previousChecks.length > 0) checks = context.previousChecks;
  else {
    // The accepted tests run on the worker's code in a worktree beside it, at the same time.
    const [main, judged] = await Promise.all([
      runAllChecks(context, work.features, checkContext, wasPassing),
      evidence === undefined
        ? Promise.resolve(noTestEvidence)
        : gatherTestEvidence(evidence, wasPassing, context.state.lastFailedAt),
    ]);
    checks = [...main, ...hooks];
    gathered = judged;
  }
  context.emit({ type: 'verify.ended', iteration, commit: verifiedCommit, checks });
  throwIfInterrupted(context, iteration);

  // Whatever verification (or the worker) left uncommitted is stashed, never deleted; a nested repository
  // (which the stash would skip) is moved aside first.
  const { left: polluted, refusal: late } = await tidyAfterChecks(
    context,
    iteration,
    'after-checks',
    `baton: files left uncommitted in iteration ${iteration}`,
  );

  const regressed = regressions(checks, wasPassing);
  const verified = {
    checks,
    verifiedCommit,
    polluted,
    wasPassing,
    regressed,
    restoredCheckpoint: false,
    refusals: [...work.rejections, ...work.corrections, ...(late === undefined ? [] : [late])],
    features: work.features,
  };
  if (rejected) return verified;
  if (!gathered.ok) {
    const detail = `the harness could not run the accepted tests beside the worker's test changes (${gathered.problem})`;
    context.emit({
      type: 'guard.fired',
      iteration,
      guard: 'test-gaming',
      action: 'rejected',
      details: [detail],
    });
    const refusal = `${detail}: its work was not accepted and was rolled back; try the change again, or make it smaller`;
    return rollBackAndRecheck(context, prepared, verified, refusal, [refusal]);
  }
  if (evidence !== undefined) {
    const { accepted, onOldCode } = gathered;
    const judged = judgeTestChanges(evidence, wasPassing, checks, accepted, onOldCode);
    const refused = await refuseTestChanges(
      context,
      { iteration, commit: verifiedCommit, base: prepared.headBefore },
      judged,
      accepted,
      regressed,
    );
    if (refused !== undefined) {
      const why = refused.proposed
        ? `its test changes alter tested behaviour; ${refused.refusal}`
        : refused.refusal;
      return rollBackAndRecheck(context, prepared, verified, why, [refused.refusal]);
    }
  }
  if (regressed.length === 0) return verified;
  const detail = `broke what passed before: ${regressed.join(', ')}`;
  if (context.config.guards.regression !== 'rollback') {
    context.emit({ type: 'guard.fired', iteration, guard: 'regression', action: 'kept', details: [detail] });
    return {
      ...verified,
      refusals: [...verified.refusals, `the worker ${detail}: fix this first, before any new work`],
    };
  }
  context.emit({
    type: 'guard.fired',
    iteration,
    guard: 'regression',
    action: 'rejected',
    details: [detail],
  });
  return rollBackAndRecheck(
    context,
    prepared,
    verified,
    `the worker ${detail}; its work was rolled back to where the iteration started`,
    [
      `the worker ${detail}; its work was rolled back to where the iteration started: fix the feature without breaking the others`,
    ],
  );
}

/**
 * Undo this iteration's work (kept under a ref) and verify the restored tree again, so every result
 * recorded describes what is on disk.
 */
async function rollBackAndRecheck(
  context: LoopContext,
  prepared: PreparedIteration,
  verified: VerifiedWork,
  why: string,
  refusals: readonly string[],
): Promise<VerifiedWork> {
  const { iteration, checkContext } = prepared;
  // Only this iteration's work is undone: the branch goes back to where the iteration started, which
  // holds every earlier iteration's accepted work and everything a person committed (the last checkpoint
  // could be older than a person's commit made while the run was paused).
  await rollBack(context, iteration, verified.verifiedCommit, prepared.headBefore, why);
  // Verify the restored tree again, so every result recorded describes what is on disk.
  const restored = currentFeatures(context);
  const recheck = [
    ...(await runAllChecks(context, restored, {
      ...checkContext,
      outputDir: join(prepared.dir, 'checks-after-rollback'),
    })),
    ...context.previousChecks.filter((check) => check.kind === 'hook'),
  ];
  context.emit({ type: 'verify.ended', iteration, commit: prepared.headBefore, checks: recheck });
  // What the second verification left is handled like the first's: nested repositories aside, the rest
  // stashed (else the next iteration would commit it as a person's edit).
  const { refusal: lateAfterRollback } = await tidyAfterChecks(
    context,
    iteration,
    'after-rollback-checks',
    `baton: files left uncommitted by the checks after the rollback of iteration ${iteration}`,
  );
  return {
    ...verified,
    checks: recheck,
    verifiedCommit: prepared.headBefore,
    restoredCheckpoint: true,
    features: restored,
    refusals: [
      ...verified.refusals,
      ...refusals,
      ...(lateAfterRollback === undefined ? [] : [lateAfterRollback]),
    ],
  };
}
