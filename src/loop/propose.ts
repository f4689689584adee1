import { readOutputTail } from '../checks/command-check.ts';
import { askProposalJudge, type ProposalEvidence } from '../core/proposal-judge.ts';
import { recordProposal, type NewProposal } from '../core/proposals.ts';
import { boundedDiffBetween, fileAt } from '../git/git.ts';
import type { CheckResult } from '../log/events.ts';
import type { ProposalState } from '../log/reducer.ts';
import { stateFiles } from '../workspace/paths.ts';
import { clip } from '../util/text.ts';
import type { LoopContext } from './context.ts';

/** The model judge's view of a proposal, all of it harness-held: git objects and the checks' saved output. */
async function evidenceFor(
  context: LoopContext,
  proposal: ProposalState,
  failing: readonly CheckResult[],
): Promise<ProposalEvidence> {
  const diff = await boundedDiffBetween(context.workspace, proposal.base, proposal.commit, {
    maxBytes: 64 * 1024,
  });
  return {
    id: proposal.id,
    kind: proposal.kind,
    reasons: proposal.reasons,
    diff: diff.text,
    failing: failing.map((check) => ({
      name: `${check.kind} ${check.name}`,
      ended: check.ended,
      output: readOutputTail(context.workspace, check.outputPath, 1_500),
    })),
    // As the accepted code has it: the worker's change may not rewrite the specification it is judged by.
    spec: (await fileAt(context.workspace, proposal.base, stateFiles.spec)) ?? '',
  };
}

/**
 * Keep a worker's change as a proposal (core/proposals.ts) and, when baton.yaml configures a model judge,
 * ask it: it sees the change, the accepted tests that fail on it and SPEC.md, and may accept it with a
 * reason (a `proposal.decided` event by the model judge; the change is put on the branch before the next
 * iteration, like a person's acceptance). Anything else leaves the proposal open for a person. Returns
 * the refusal the worker's next prompt reads.
 */
export async function propose(
  context: LoopContext,
  proposal: NewProposal,
  failing: readonly CheckResult[] = [],
): Promise<string> {
  const before = context.state.proposals.length;
  const refusal = await recordProposal(
    context.workspace,
    context.runId,
    context.state,
    context.emit,
    proposal,
  );
  const created = context.state.proposals[before];
  const model = context.config.judge.model;
  if (created === undefined || model === undefined) return refusal;
  const opinion = await askProposalJudge(
    model,
    await evidenceFor(context, created, failing),
    context.env,
    context.signal,
  );
  if ('error' in opinion) {
    return `${refusal} (the model judge could not be asked: ${clip(opinion.error, 300)})`;
  }
  if (!opinion.accept) return `${refusal} (the model judge did not accept it: ${clip(opinion.reason, 600)})`;
  context.emit({
    type: 'proposal.decided',
    id: created.id,
    decision: 'accepted',
    by: `the model judge (${model.model})`,
    reason: opinion.reason,
  });
  return `the change was kept as proposal ${created.id} and the model judge accepted it (${clip(opinion.reason, 600)}): it is put on the branch before the next iteration; do not make it again`;
}
