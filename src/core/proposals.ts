import { updateRef } from '../git/git.ts';
import type { NewRunEvent } from '../log/events.ts';
import type { RunState } from '../log/reducer.ts';

/** Where a proposal's commit is kept until a person (or the model judge) decides. */
export function proposalRef(runId: string, id: string): string {
  return `refs/baton/proposals/${runId}/${id}`;
}

/** The next proposal id of a run: `P1`, `P2`, ... in the order they were made. */
export function nextProposalId(state: RunState): string {
  return `P${state.proposals.length + 1}`;
}

export interface NewProposal {
  readonly iteration: number;
  readonly kind: 'contract' | 'behaviour';
  readonly reasons: readonly string[];
  readonly commit: string;
  readonly base: string;
  readonly features: readonly string[];
}

/**
 * Keep a worker's change as a proposal: its commit under a ref, the event that says why. The caller puts
 * its branch back; the loop goes on with other work. Returns the refusal the worker's next prompt reads.
 */
export async function recordProposal(
  checkout: string,
  runId: string,
  state: RunState,
  emit: (event: NewRunEvent) => unknown,
  proposal: NewProposal,
): Promise<string> {
  // The same change made again (a worker that did not read why) is the proposal already waiting.
  const same = state.proposals.find(
    (open) =>
      open.status === 'open' &&
      open.kind === proposal.kind &&
      JSON.stringify(open.reasons) === JSON.stringify(proposal.reasons),
  );
  if (same !== undefined) {
    return `the same change already waits as proposal ${same.id} for a person to accept or reject (${proposal.reasons.join('; ')}); it was not applied. Do not make it again; work on something else`;
  }
  const id = nextProposalId(state);
  const ref = proposalRef(runId, id);
  await updateRef(checkout, ref, proposal.commit);
  emit({ type: 'proposal.created', id, ref, ...proposal });
  return `the change was kept as proposal ${id} for a person to accept or reject (\`baton proposals\`), because it ${proposal.kind === 'contract' ? 'changes the verification contract' : 'changes tested behaviour'}: ${proposal.reasons.join('; ')}. Do not make it again; work on something else`;
}
