import type { NewRunEvent } from '../log/events.ts';
import { featureOfQuestion, questionAsked } from '../guards/question.ts';
import { head } from '../util/text.ts';

export interface QuestionInput {
  /** guards.questions: off, a question is just a session that changed nothing. */
  readonly enabled: boolean;
  readonly finalMessage: string;
  readonly changedSomething: boolean;
  /** Failing features the question may be about, not parked yet (a parallel task: its own). */
  readonly failing: readonly string[];
  /** The feature in focus when the question names none. */
  readonly focus: string | undefined;
  readonly iteration: number;
  /** The parallel task that asked; its features all wait for the answer, since the task cannot go on. */
  readonly task?: { readonly id: string; readonly features: readonly string[] };
}

/**
 * A worker that asked instead of working, in every mode: the events that record the question for a
 * person and park the feature(s) waiting on it. Pure; an empty list when nothing was asked.
 */
export function questionEvents(input: QuestionInput): NewRunEvent[] {
  if (!input.enabled) return [];
  const question = questionAsked(input.finalMessage, input.changedSomething);
  if (question === undefined) return [];
  const feature = featureOfQuestion(question, input.failing, input.focus) ?? null;
  const task = input.task === undefined ? {} : { task: input.task.id };
  const waiting =
    input.task === undefined
      ? feature === null
        ? []
        : [feature]
      : [...new Set([...(feature === null ? [] : [feature]), ...input.task.features])].filter((id) =>
          input.failing.includes(id),
        );
  return [
    { type: 'question.asked', iteration: input.iteration, ...task, question, feature },
    {
      type: 'guard.fired',
      iteration: input.iteration,
      ...task,
      guard: 'question',
      action: 'recorded',
      details: [`question for a person: ${head(question, 300)}`],
    },
    ...waiting.map((id): NewRunEvent => ({
      type: 'feature.parked',
      iteration: input.iteration,
      feature: id,
      reason: `waiting for an answer: ${head(question, 200)}`,
    })),
  ];
}
