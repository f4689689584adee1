import { runGit } from '../git/git.ts';
import { openProposals, proposalsToApply } from '../log/reducer.ts';
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
