import type { AgentSessionResult } from '../agents/agent.ts';
import { reviewCommittedWork } from '../core/review.ts';
import { featureOfQuestion, questionAsked } from '../guards/question.ts';
import type { FeatureList } from '../workspace/features.ts';
import { head } from '../util/text.ts';
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
  if (!context.config.guards.questions) return;
  const question = questionAsked(session.finalMessage, changedSomething);
  if (question === undefined) return;
  const parked = context.state.parked.map((entry) => entry.feature);
  const failing = features.features
    .filter((feature) => feature.status === 'failing' && !parked.includes(feature.id))
    .map((feature) => feature.id);
  const feature = featureOfQuestion(question, failing, focusFeature(features, parked)) ?? null;
  context.emit({ type: 'question.asked', iteration, question, feature });
  context.emit({
    type: 'guard.fired',
    iteration,
    guard: 'question',
    action: 'recorded',
    details: [`question for a person: ${head(question, 300)}`],
  });
  if (feature !== null) {
    context.emit({
      type: 'feature.parked',
      iteration,
      feature,
      reason: `waiting for an answer: ${head(question, 200)}`,
    });
  }
}
