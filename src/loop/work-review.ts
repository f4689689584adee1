import type { AgentSessionResult } from '../agents/agent.ts';
import { reviewCommittedWork, type CommittedReview } from '../core/review.ts';
import { propose } from './propose.ts';
import { questionEvents } from '../core/questions.ts';
import type { FeatureList } from '../workspace/features.ts';
import type { LoopContext } from './context.ts';
import { focusFeature } from './escalate.ts';

export interface WorkReview {
  /** Reasons to refuse the work (a proposal's included: the work is kept under its ref). */
  readonly rejections: readonly string[];
  /** What verification needs to judge test changes by running them. */
  readonly review: CommittedReview;
}

/**
 * Review the committed work: the diff guards (refusals), the verification contract (a change to it is
 * kept as a proposal), and the hints on existing tests that verification decides by running them.
 */
export async function reviewWork(
  context: LoopContext,
  iteration: number,
  from: string,
  work: string,
  featuresBefore: FeatureList,
): Promise<WorkReview> {
  const review = await reviewCommittedWork(
    context.workspace,
    context.config,
    context.locked,
    featuresBefore.features,
    from,
    work,
  );
  for (const violation of review.violations) {
    context.emit({
      type: 'guard.fired',
      iteration,
      guard: violation.guard,
      action: 'rejected',
      details: [violation.detail],
    });
  }
  const rejections = review.violations.map((violation) => `the worker ${violation.detail}`);
  if (review.contract.length > 0 && rejections.length === 0) {
    const reasons = review.contract.map((change) => `the worker ${change.detail}`);
    context.emit({ type: 'guard.fired', iteration, guard: 'contract', action: 'proposed', details: reasons });
    rejections.push(
      await propose(context, {
        iteration,
        kind: 'contract',
        reasons,
        commit: work,
        base: from,
        features: [...new Set(review.contract.flatMap((change) => change.features))],
      }),
    );
  } else if (review.contract.length > 0) {
    const details = review.contract.map((change) => `the worker ${change.detail}`);
    context.emit({ type: 'guard.fired', iteration, guard: 'contract', action: 'rejected', details });
    rejections.push(...details);
  }
  return { rejections, review };
}

/** A worker that asked instead of working: record the question, park its feature, carry on. */
export function recordQuestion(
  context: LoopContext,
  iteration: number,
  session: AgentSessionResult,
  changedSomething: boolean,
  features: FeatureList,
): void {
  const parked = context.state.parked.map((entry) => entry.feature);
  const events = questionEvents({
    enabled: context.config.guards.questions,
    finalMessage: session.finalMessage,
    changedSomething,
    failing: features.features
      .filter((feature) => feature.status === 'failing' && !parked.includes(feature.id))
      .map((feature) => feature.id),
    focus: focusFeature(features, parked),
    iteration,
  });
  for (const event of events) context.emit(event);
}
