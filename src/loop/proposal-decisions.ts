import { join } from 'node:path';
import { heldBefore, passingIds, withEvidence } from '../core/evidence.ts';
import { commitPaths, headCommit, runGit, treeOf } from '../git/git.ts';
import { writeFeatureList } from '../workspace/features.ts';
import { runDir, stateFiles } from '../workspace/paths.ts';
import { tidyAfterChecks } from './after-checks.ts';
import { currentFeatures } from './iteration/interrupted.ts';
import { checkContextFor, runAllChecks } from './verify.ts';
import { commitPersonsEdits } from './person-edits.ts';
import { runTrailer } from '../core/commit-message.ts';
import { openProposals, proposalsToApply, proposalsToVerify } from '../log/reducer.ts';
import { firstLine } from '../util/text.ts';
import { commitIdentity, type LoopContext } from './context.ts';

/** A person's decision on a proposal, as `baton accept` / `baton reject` leave it for the run. */
export interface ProposalDecision {
  readonly id: string;
  readonly decision: 'accepted' | 'rejected';
  readonly reason: string;
  readonly by: string;
}

/**
 * Between iterations: record what a person decided on open proposals (`baton accept` / `baton reject`),
 * then put each accepted one on the run's branch, as its own commit on top (a cherry-pick of the kept
 * commit, hooks and drivers off like every git command of the harness). One that no longer applies
 * (the branch moved on where it changed) stays under its ref, and the event says why.
 */
export async function takeProposalDecisions(
  context: LoopContext,
  iteration: number,
  decisions: readonly ProposalDecision[],
  /** False while something else may move the branch (a parallel merge): accepted ones wait. */
  apply = true,
): Promise<void> {
  const open = new Set(openProposals(context.state).map((proposal) => proposal.id));
  for (const decision of decisions) {
    if (!open.has(decision.id)) continue;
    open.delete(decision.id);
    context.emit({
      type: 'proposal.decided',
      id: decision.id,
      decision: decision.decision,
      by: decision.by,
      reason: decision.reason,
    });
  }
  if (!apply) return;
  await applyAccepted(context, iteration);
  // Verified here, or on the resume after a crash that came between the cherry-pick and the record.
  const pending = proposalsToVerify(context.state).map((proposal) => proposal.id);
  if (pending.length > 0) await verifyApplied(context, iteration, pending);
}

/** Put each accepted proposal on the branch, as its own commit on top. */
async function applyAccepted(context: LoopContext, iteration: number): Promise<void> {
  if (proposalsToApply(context.state).length === 0) return;
  // A person's uncommitted work is theirs, committed first: the cherry-pick and the statuses written
  // after it must not take or overwrite it.
  await commitPersonsEdits(context, context.state.parallel === null ? iteration : 0);
  for (const proposal of proposalsToApply(context.state)) {
    const picked = await runGit(context.workspace, ['cherry-pick', '--allow-empty', '-x', proposal.commit], {
      allowFailure: true,
      identity: commitIdentity(context),
    });
    if (picked.exitCode === 0) {
      const head = (await runGit(context.workspace, ['rev-parse', 'HEAD'])).stdout.trim();
      context.emit({
        type: 'proposal.applied',
        iteration,
        id: proposal.id,
        commit: head,
        detail: `applied on the run's branch as ${head.slice(0, 12)}`,
      });
      continue;
    }
    await runGit(context.workspace, ['cherry-pick', '--abort'], true);
    context.emit({
      type: 'proposal.applied',
      iteration,
      id: proposal.id,
      commit: null,
      detail: `it no longer applies on the run's branch (${firstLine(`${picked.stderr}\n${picked.stdout}`.trim())}); it stays under ${proposal.ref}: apply it by hand with \`git cherry-pick ${proposal.commit.slice(0, 12)}\``,
    });
  }
}

/**
 * What accepted proposals leave on the branch, verified and recorded: every feature check and oracle
 * runs on it, FEATURES.json takes the statuses (with their evidence) in a commit of the harness's record,
 * and `proposals.verified` makes them what the next iteration is measured by. A check the accepted change
 * broke is then a known failure, not the next worker's regression.
 */
async function verifyApplied(context: LoopContext, iteration: number, ids: readonly string[]): Promise<void> {
  const features = currentFeatures(context);
  const commit = (await headCommit(context.workspace)) ?? '';
  const outputDir = join(runDir(context.workspace, context.runId), 'proposals', ids.join('-'));
  const checks = await runAllChecks(
    context,
    features,
    checkContextFor(context, outputDir),
    heldBefore(features, context.previousChecks),
  );
  if (context.signal.aborted) return;
  await tidyAfterChecks(
    context,
    iteration,
    `after-proposal-checks-${ids.join('-')}`,
    `baton: files left uncommitted by the checks after proposals ${ids.join(', ')}`,
  );
  const tree = await treeOf(context.workspace, commit);
  const updated = withEvidence(features, checks, {
    iteration,
    commit,
    ...(tree === null ? {} : { tree }),
    at: context.now().toISOString(),
  });
  writeFeatureList(context.workspace, updated);
  const recorded = await commitPaths(
    context.workspace,
    [stateFiles.features],
    `baton: statuses verified after accepting ${ids.join(', ')}\n\n${runTrailer}: ${context.runId}`,
    commitIdentity(context),
  );
  context.emit({
    type: 'proposals.verified',
    iteration,
    ids,
    commit: recorded ?? commit,
    checks,
    passingFeatures: passingIds(updated),
  });
}
