import { generateText, Output } from 'ai';
import { z } from 'zod';
import { languageModel } from '../agents/builtin/builtin-agent.ts';
import type { Config } from '../config/resolve.ts';
import type { CheckResult, Verdict } from '../log/events.ts';
import type { Feature } from '../workspace/features.ts';
import { clip } from '../util/text.ts';

/** What the model judge sees: the harness's evidence, never the worker's word alone. */
export interface JudgeEvidence {
  readonly goal: string;
  readonly condition: string | undefined;
  readonly checks: readonly CheckResult[];
  readonly features: readonly Feature[];
  readonly diffStat: string;
  readonly handoff: string;
}

const verdictSchema = z.object({
  met: z.boolean().describe('true only if the evidence shows the condition holds'),
  reason: z.string().describe('one paragraph: why, citing the evidence'),
  next: z.string().describe('the single most useful next step for the next worker, or "" when met'),
});

export function judgePrompt(evidence: JudgeEvidence): string {
  const condition =
    evidence.condition ??
    `The goal below is achieved: every feature passes its verify command and the oracles pass.\n\nGoal: ${clip(evidence.goal, 2_000)}`;
  const checks = evidence.checks.map(
    (check) =>
      `- ${check.kind} ${check.name}: ${check.passed ? 'PASS' : 'FAIL'} (\`${check.command}\`, ${check.ended})`,
  );
  const features = evidence.features.map(
    (feature) => `- ${feature.id} [${feature.status}]: ${clip(feature.title, 200)}`,
  );
  return [
    'You are the judge of a long-running coding run. You do not write code. Decide from the evidence the harness',
    'gathered itself whether the condition is met. A worker saying it is done is not evidence.',
    '',
    `## Condition\n${condition}`,
    `## Checks the harness ran on this commit\n${checks.join('\n') || '(none)'}`,
    `## Features\n${features.join('\n') || '(none)'}`,
    `## Diff stat of this iteration\n${clip(evidence.diffStat, 3_000) || '(no changes)'}`,
    `## The worker's handoff note\n${clip(evidence.handoff, 3_000) || '(none)'}`,
    '',
    'Answer with JSON: {"met": boolean, "reason": string, "next": string}.',
  ].join('\n\n');
}

/**
 * Ask the configured model for one object of `schema` (the judge's verdict, its opinion of a proposal);
 * an unavailable or unparsable answer is reported as an error, never guessed.
 */
export async function askForObject<Shape extends z.ZodType>(
  model: NonNullable<Config['judge']['model']>,
  prompt: string,
  schema: Shape,
  env: NodeJS.ProcessEnv,
  signal: AbortSignal,
): Promise<z.infer<Shape> | { readonly error: string }> {
  try {
    const result = await generateText({
      model: languageModel(model, env),
      prompt,
      output: Output.object({ schema }),
      maxRetries: 1,
      abortSignal: AbortSignal.any([signal, AbortSignal.timeout(120_000)]),
    });
    return result.output as z.infer<Shape>;
  } catch (error) {
    return { error: error instanceof Error ? error.message : String(error) };
  }
}

/** Ask the configured model; an unavailable judge is reported, not guessed. */
export async function askModelJudge(
  model: NonNullable<Config['judge']['model']>,
  evidence: JudgeEvidence,
  env: NodeJS.ProcessEnv,
  signal: AbortSignal,
): Promise<NonNullable<Verdict['model']>> {
  return askForObject(model, judgePrompt(evidence), verdictSchema, env, signal);
}

/**
 * The verdict with the model's opinion folded in. The model can only keep a run going: "done" needs
 * the deterministic judge and the model; a failing oracle is never overridden. Its reason (and next
 * step) join the verdict's reason, which the next iteration's prompt carries.
 */
export function combineVerdicts(verdict: Verdict, opinion: NonNullable<Verdict['model']>): Verdict {
  if ('error' in opinion) {
    return {
      ...verdict,
      done: false,
      failing: verdict.done ? [...verdict.failing, 'model-judge'] : verdict.failing,
      reason: `${verdict.reason} The model judge could not be asked (${clip(opinion.error, 300)}), so done is not confirmed.`,
      model: opinion,
    };
  }
  const done = verdict.done && opinion.met;
  const note = `Model judge: ${opinion.met ? 'met' : 'not met'}: ${clip(opinion.reason, 800)}${opinion.next === '' ? '' : ` Next: ${clip(opinion.next, 400)}`}`;
  return {
    ...verdict,
    done,
    claimRejected: verdict.claimed && !done,
    failing: verdict.done && !opinion.met ? [...verdict.failing, 'model-judge'] : verdict.failing,
    reason: `${verdict.done && !opinion.met ? 'Not done: the checks pass, but the model judge disagrees.' : verdict.reason} ${note}`,
    model: opinion,
  };
}
