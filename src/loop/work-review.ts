import type { AgentSessionResult } from '../agents/agent.ts';
import { reviewCommittedWork } from '../core/review.ts';
import { questionEvents } from '../core/questions.ts';
import type { FeatureList } from '../workspace/features.ts';
import type { LoopContext } from './context.ts';
import { focusFeature } from './escalate.ts';

/** Review the committed work for test gaming; returns the reasons to refuse it. */
export async function reviewWork(
  context: LoopContext,
  iteration: number,
  from: string,
  work: string,
): Promise<string[]> {
  const violations = await reviewCommittedWork(
    context.workspace,
    context.config.guards,
    context.locked,
    from,
    work,
  );
  for (const violation of violations) {
    context.emit({
      type: 'guard.fired',
      iteration,
      guard: violation.guard,
      action: 'rejected',
      details: [violation.detail],
    });
  }
  return violations.map((violation) => `the worker ${violation.detail}`);
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
