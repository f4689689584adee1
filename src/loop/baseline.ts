import { join } from 'node:path';
import { changedPaths, headCommit } from '../git/git.ts';
import { runDir } from '../workspace/paths.ts';
import type { LoopContext } from './context.ts';
import { currentFeatures } from './iteration/interrupted.ts';
import { tidyAfterChecks } from './after-checks.ts';
import { checkContextFor, runAllChecks } from './verify.ts';

/**
 * The run's first verification, before any worker: every feature's verify command and every oracle on
 * the commit the run starts from. What passes there is the baseline (not the worker's progress; breaking
 * it is a regression); what fails there is pre-existing (it blocks nothing else) and is where a new
 * passing check must still fail (evidence that discriminates). Recorded once per run, also when the first
 * iteration is then refused. Skipped when the tree is not clean (only a resume can find it so): the
 * checks would run on a person's uncommitted edits, and their leftovers could not be told from them.
 */
export async function verifyBaseline(context: LoopContext): Promise<void> {
  if (context.state.baseline !== null || context.state.lastIteration > 0) return;
  if ((await changedPaths(context.workspace)).length > 0) return;
  const commit = (await headCommit(context.workspace)) ?? '';
  const checkContext = checkContextFor(context, join(runDir(context.workspace, context.runId), 'baseline'));
  const checks = await runAllChecks(context, currentFeatures(context), checkContext);
  // Interrupted: the results are partial; the next start (or resume) verifies the baseline again.
  if (context.signal.aborted) return;
  context.emit({ type: 'baseline.verified', commit, checks });
  await tidyAfterChecks(
    context,
    0,
    'after-baseline-checks',
    'baton: files left uncommitted by the checks of the run baseline',
  );
}
