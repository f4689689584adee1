import { readOutputTail } from '../checks/command-check.ts';
import { askProposalJudge, type ProposalEvidence } from '../core/proposal-judge.ts';
import { recordProposal, type NewProposal } from '../core/proposals.ts';
import { boundedDiffBetween, fileAt } from '../git/git.ts';
import type { CheckResult } from '../log/events.ts';
import type { ProposalState } from '../log/reducer.ts';
import { stateFiles } from '../workspace/paths.ts';
import { clip } from '../util/text.ts';
import type { TestJudgement } from '../core/test-evidence.ts';
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

/** Whose test changes are judged: a serial iteration's worker, or a parallel task (its id). */
export interface TestChangeSource {
  readonly iteration: number;
  /** Set for a parallel task: its guard firings carry it. */
  readonly task?: string;
  /** The commit with the test changes, and the accepted one it was made on. */
  readonly commit: string;
  readonly base: string;
}

/** What the judgement of test changes decided: a proposal was made, or the work is refused as vacuous. */
export interface TestChangeRefusal {
  readonly proposed: boolean;
  /** What the next session reads. */
  readonly refusal: string;
}

/**
 * The judgement of a worker's (or task's) test changes as events, in every mode: a change of tested
 * behaviour becomes a proposal (its reasons name the other checks it breaks, `regressed`), evidence that
 * does not discriminate is refused. Undefined: the test changes stand.
 */
export async function refuseTestChanges(
  context: LoopContext,
  source: TestChangeSource,
  judged: TestJudgement,
  accepted: readonly CheckResult[] | undefined,
  regressed: readonly string[] = [],
): Promise<TestChangeRefusal | undefined> {
  const who = source.task === undefined ? 'worker' : 'task';
  const fired = { iteration: source.iteration, ...(source.task === undefined ? {} : { task: source.task }) };
  if (judged.behaviour.length > 0) {
    // Whoever decides sees everything accepting it would change, the checks it breaks included.
    const reasons = [
      ...judged.behaviour.map((change) => change.detail),
      ...(regressed.length === 0
        ? []
        : [`with the ${who}'s own tests it also breaks ${regressed.join(', ')}, which passed before`]),
    ];
    context.emit({
      type: 'guard.fired',
      ...fired,
      guard: 'test-gaming',
      action: 'proposed',
      details: reasons,
    });
    const refusal = await propose(
      context,
      {
        iteration: source.iteration,
        kind: 'behaviour',
        reasons,
        commit: source.commit,
        base: source.base,
        features: [...new Set(judged.behaviour.flatMap((change) => change.features))],
      },
      (accepted ?? []).filter((check) => !check.passed),
    );
    return { proposed: true, refusal };
  }
  if (judged.vacuous.length === 0) return undefined;
  const details = judged.vacuous.map(
    (id) =>
      `feature ${id} passes with the ${who}'s tests also on the code where it last failed (${(context.state.lastFailedAt[id] ?? '').slice(0, 12)}): its check does not tell the old code from the new`,
  );
  context.emit({ type: 'guard.fired', ...fired, guard: 'vacuous-check', action: 'rejected', details });
  return {
    proposed: false,
    refusal: `the ${who}'s evidence does not discriminate: ${details.join('; ')}. Make the tests fail on the code without the feature`,
  };
}
