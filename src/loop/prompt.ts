import { claimDoneMarker } from '../agents/agent.ts';
import type { Verdict } from '../log/events.ts';
import type { Feature } from '../workspace/features.ts';
import { stateFiles } from '../workspace/paths.ts';
import { head, singleLine, tail } from '../util/text.ts';

export interface FailingExcerpt {
  readonly name: string;
  readonly command: string;
  readonly ended: string;
  readonly output: string;
}

export interface PromptInput {
  readonly runId: string;
  readonly iteration: number;
  readonly goal: string;
  readonly features: readonly Feature[];
  /** Features set aside (stalled, or waiting for a person's answer): not to be worked on now. */
  readonly parked: readonly string[];
  /** What a person told the run since the last iteration (`baton steer`). */
  readonly steering: readonly string[];
  readonly smoke: { readonly passed: boolean; readonly excerpt: FailingExcerpt | null } | null;
  readonly lastVerdict: Verdict | null;
  readonly failing: readonly FailingExcerpt[];
}

/** Everything variable in the prompt is bounded, so the prompt stays the same size at iteration 1,000. */
export const promptLimits = {
  goalChars: 600,
  featuresListed: 8,
  featureTitleChars: 160,
  verdictChars: 1_200,
  excerpts: 3,
  excerptChars: 1_500,
  steeringChars: 1_000,
} as const;

function fence(text: string): string {
  return `\`\`\`\n${text.replaceAll('```', "'''")}\n\`\`\``;
}

/**
 * The orientation prompt of one iteration: a stable contract, pointers to the state files (the agent
 * reads them itself), and a bounded view of where things stand: the next failing features, the judge's
 * last reason and short excerpts of failing checks.
 */
export function buildPrompt(input: PromptInput): string {
  const allFailing = input.features.filter((feature) => feature.status === 'failing');
  const failingFeatures = allFailing.filter((feature) => !input.parked.includes(feature.id));
  const passing = input.features.length - allFailing.length;
  const sections: string[] = [];

  sections.push(`# baton: iteration ${input.iteration} of run ${input.runId}

You are one worker in a long-running loop. You start with no memory of earlier sessions: the workspace is
the memory. Do one bounded unit of work, leave the workspace so the next worker can continue, and stop.`);

  sections.push(`## Goal
${head(singleLine(input.goal), promptLimits.goalChars)}
(The full intent, constraints and non-goals are in ${stateFiles.spec}.)`);

  sections.push(`## 1. Orient (before you edit anything)
- Read ${stateFiles.agents} (how to work here), ${stateFiles.spec}, ${stateFiles.plan} and the latest entries of ${stateFiles.progress}.
- Read ${stateFiles.features}: the checklist. Each feature has a verify command; the harness runs it after you stop.
- Look at \`git log --oneline -15\` to see what earlier workers did.`);

  const listed = failingFeatures.slice(0, promptLimits.featuresListed);
  const featureLines = listed.map(
    (feature) =>
      `- ${feature.id}: ${head(singleLine(feature.title), promptLimits.featureTitleChars)} (verify: \`${head(singleLine(feature.verify), 200)}\`)`,
  );
  if (failingFeatures.length > listed.length) {
    featureLines.push(
      `- … and ${failingFeatures.length - listed.length} more failing features in ${stateFiles.features}`,
    );
  }
  sections.push(`## 2. Where things stand
Features passing: ${passing} of ${input.features.length}.${
    featureLines.length > 0
      ? `\nNext failing features:\n${featureLines.join('\n')}`
      : allFailing.length > 0
        ? '\nEvery failing feature is parked: check the oracles, the plan and the questions.'
        : '\nEvery feature passes; check the oracles and the judge below.'
  }`);
  if (input.parked.length > 0) {
    sections.push(
      `Parked, do not work on these now: ${input.parked.slice(0, 20).join(', ')}${input.parked.length > 20 ? ', …' : ''}.`,
    );
  }

  if (input.smoke !== null && !input.smoke.passed) {
    const excerpt = input.smoke.excerpt;
    sections.push(`## The smoke test fails: fix this first
The workspace was already broken when this session started${excerpt === null ? '.' : ` (\`${singleLine(excerpt.command)}\`: ${singleLine(excerpt.ended)}):\n${fence(tail(excerpt.output.trim(), promptLimits.excerptChars))}`}`);
  }

  if (input.steering.length > 0) {
    const recent = input.steering.slice(-3);
    sections.push(`## A person steering this run says (this comes first)
${recent.map((message) => `> ${head(message, promptLimits.steeringChars).split('\n').join('\n> ')}`).join('\n\n')}`);
  }

  if (input.lastVerdict !== null) {
    sections.push(`## The judge's verdict on the last iteration
${head(singleLine(input.lastVerdict.reason), promptLimits.verdictChars)}`);
  }

  const excerpts = input.failing.slice(0, promptLimits.excerpts);
  if (excerpts.length > 0) {
    sections.push(`## Output of failing checks (last lines)
${excerpts
  .map(
    (excerpt) =>
      `### ${singleLine(excerpt.name)}: \`${head(singleLine(excerpt.command), 200)}\` (${singleLine(excerpt.ended)})\n${fence(tail(excerpt.output.trim(), promptLimits.excerptChars))}`,
  )
  .join(
    '\n',
  )}${input.failing.length > excerpts.length ? `\n(${input.failing.length - excerpts.length} more failing checks not shown.)` : ''}`);
  }

  sections.push(`## 3. Work
- Pick ONE failing feature (or plan item) and make it pass. Keep the change small and coherent.
- Run its verify command yourself before you stop; test it the way a user would.
- Do not edit or delete tests to make them pass, and do not change "status" or "evidence" in ${stateFiles.features}:
  the harness sets them from its own verification.
- Leave no scratch files in the workspace; put temporary files outside it.

## 4. Hand off and stop
- Update ${stateFiles.plan} if the plan changed. The harness appends to ${stateFiles.progress} and commits for you.
- End with a short handoff note as your final message: what you did, what you verified, what is next.
- Only if you believe the whole goal is met, end the note with a line that says exactly: ${claimDoneMarker}
  (the harness checks this claim against the evidence; a false claim is rejected).`);

  return `${sections.join('\n\n')}\n`;
}
