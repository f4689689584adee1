import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { diffBetween } from '../git/git.ts';
import type { LoopContext } from './context.ts';
import { prepareIteration } from './iteration/prepare.ts';
import { judgeWork } from './iteration/judge.ts';
import { verifyWork } from './iteration/verify.ts';
import { guardWork, runWork } from './iteration/work.ts';
import { recordIteration } from './record.ts';

export { IterationInterrupted } from './iteration/interrupted.ts';

/**
 * One iteration of the serial loop, as a pipeline of stages that each hand an immutable result to the
 * next: prepare (a person's edits, escalation, smoke, prompt) -> work (a fresh session) -> guard (the
 * guards every mode shares, commit, review, rollback) -> verify (evidence, regression) -> judge -> settle
 * (evidence into FEATURES.json, PROGRESS.md, checkpoint).
 */
export async function runIteration(context: LoopContext, iteration: number): Promise<void> {
  const prepared = await prepareIteration(context, iteration);
  const session = await runWork(context, prepared);
  const work = await guardWork(context, prepared, session);
  const verified = await verifyWork(context, prepared, work);
  const verdict = await judgeWork(context, prepared, work, verified);
  writeFileSync(
    join(prepared.dir, 'diff.patch'),
    work.workCommit === null
      ? ''
      : await diffBetween(context.workspace, prepared.headBefore, work.workCommit),
  );
  await recordIteration(context, {
    iteration,
    startedAt: prepared.startedAt,
    features: verified.features,
    checks: verified.checks,
    verdict,
    session,
    workCommit: work.workCommit,
    verifiedCommit: verified.verifiedCommit,
    wasPassing: verified.wasPassing,
    regressed: verified.regressed,
    rolledBack: work.rejections.length > 0 || verified.restoredCheckpoint,
    restoredCheckpoint: verified.restoredCheckpoint,
    smokePassed: prepared.smoke === null || prepared.smoke.passed,
  });
}
