import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decideVerdict } from '../../core/judge.ts';
import { runGit } from '../../git/git.ts';
import type { Verdict } from '../../log/events.ts';
import type { LoopContext } from '../context.ts';
import type { PreparedIteration } from './prepare.ts';
import type { VerifiedWork } from './verify.ts';
import type { GuardedWork } from './work.ts';

/**
 * Judge: deterministic, from the harness's own evidence; an optional model judge gives a second opinion
 * on the same evidence and can veto done, never grant it.
 */
export async function judgeWork(
  context: LoopContext,
  prepared: PreparedIteration,
  work: GuardedWork,
  verified: VerifiedWork,
): Promise<Verdict> {
  const { iteration, headBefore } = prepared;
  const verdict = await decideVerdict({
    evidence: {
      done: context.config.done,
      checks: verified.checks,
      featureIds: verified.features.features.map((feature) => feature.id),
      claimed: work.claimed,
      pollutedPaths: verified.polluted,
      refusals: verified.refusals,
    },
    judgeConfig: context.config.judge,
    consult: 'always',
    modelEvidence: async () => ({
      goal: context.state.goal,
      features: verified.features.features,
      diffStat:
        headBefore === verified.verifiedCommit
          ? ''
          : (await runGit(context.workspace, ['diff', '--stat', headBefore, verified.verifiedCommit], true))
              .stdout,
      handoff: work.session.finalMessage,
    }),
    env: context.env,
    signal: context.signal,
  });
  context.emit({ type: 'judge.ended', iteration, verdict });
  writeFileSync(join(prepared.dir, 'judge.json'), `${JSON.stringify(verdict, null, 2)}\n`);
  return verdict;
}
