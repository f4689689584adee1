import { resolve } from 'node:path';
import { BatonError, exitCodes } from '../errors.ts';
import type { ProposalState } from '../log/reducer.ts';
import { appendDecision, readDecisions } from '../run/control.ts';
import { readRun } from './inspect.ts';

/** A run's proposals (the newest run when no id is given): what waits for a person, and what was decided. */
export function listProposals(
  workspace: string,
  runId?: string,
): { readonly runId: string; readonly proposals: readonly ProposalState[] } {
  const run = readRun(resolve(workspace), runId);
  return { runId: run.runId, proposals: run.state.proposals };
}

/**
 * A person's decision on an open proposal: recorded for the run, which takes it between iterations (an
 * accepted one is put on its branch then; a stopped run takes it on `baton resume`).
 */
export function decideProposal(
  workspace: string,
  id: string,
  decision: 'accepted' | 'rejected',
  reason: string,
  runId?: string,
): { readonly message: string } {
  const dir = resolve(workspace);
  const { runId: run, proposals } = listProposals(dir, runId);
  const proposal = proposals.find((entry) => entry.id === id);
  if (proposal === undefined) {
    throw new BatonError(`run ${run} has no proposal ${id}`, {
      code: 'PROPOSAL_NOT_FOUND',
      fix: `its proposals: ${proposals.map((entry) => entry.id).join(', ') || 'none'} (\`baton proposals\`)`,
      exitCode: exitCodes.usage,
    });
  }
  // A decision the run has not taken yet (it is stopped, or between two looks) counts as made.
  const pending = readDecisions(dir, run).find((entry) => entry.id === id);
  const made =
    proposal.status !== 'open'
      ? { status: proposal.status, decision: proposal.decision }
      : pending === undefined
        ? undefined
        : { status: pending.decision, decision: { by: pending.by, reason: pending.reason } };
  if (made !== undefined) {
    throw new BatonError(`proposal ${id} was already ${made.status}`, {
      code: 'PROPOSAL_DECIDED',
      fix: `${made.decision === null ? '' : `by ${made.decision.by}: ${made.decision.reason}; `}its commit stays under ${proposal.ref}`,
      exitCode: exitCodes.usage,
    });
  }
  appendDecision(dir, { runId: run, id, decision, reason, by: 'a person' });
  return {
    message:
      decision === 'accepted'
        ? `proposal ${id} accepted: the run puts ${proposal.commit.slice(0, 12)} on its branch before its next iteration (\`baton resume\` if it is stopped)`
        : `proposal ${id} rejected: its commit stays under ${proposal.ref}, off the branch`,
  };
}

/** One line per proposal, for `baton proposals`. */
export function describeProposal(proposal: ProposalState): string {
  const state =
    proposal.status === 'accepted'
      ? proposal.appliedAs !== null
        ? `accepted, applied as ${proposal.appliedAs.slice(0, 12)}`
        : proposal.applyProblem !== null
          ? `accepted, not applied: ${proposal.applyProblem}`
          : 'accepted, applied before the next iteration'
      : proposal.status;
  return `${proposal.id}  ${proposal.kind.padEnd(9)}  iteration ${proposal.iteration}  ${state}\n    ${proposal.reasons.join('\n    ')}\n    commit ${proposal.commit.slice(0, 12)} (${proposal.ref})`;
}
