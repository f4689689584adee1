import { head } from '../util/text.ts';

export interface InitializerPromptInput {
  readonly goal: string;
  readonly attempt: number;
  readonly problems: readonly string[];
}

/** The initializer's contract: turn intent into durable structure, implement nothing. */
export function buildInitializerPrompt(input: InitializerPromptInput): string {
  const retry =
    input.problems.length === 0
      ? ''
      : `\n## Your previous attempt was rejected
The harness could not accept FEATURES.json (attempt ${input.attempt - 1}):
${input.problems.map((problem) => `- ${head(problem, 400)}`).join('\n')}
Fix exactly these problems.\n`;
  return `# baton: initializer session (attempt ${input.attempt})

You prepare this workspace so that many later, short-lived workers can build the goal below one small
step at a time. Do not implement the goal itself.

## Goal
${head(input.goal.trim(), 4_000)}
${retry}
## Write these files
- SPEC.md: the goal expanded: intent, constraints, non-goals, definition of done.
- FEATURES.json: the checklist, as JSON of this exact shape:
  {"version": 1, "features": [{"id": "F1", "title": "...", "steps": ["..."], "verify": "<shell command>", "status": "failing", "evidence": null}]}
  Each feature is one end-to-end behaviour a user would notice. "verify" is a shell command run from the
  workspace root that exits 0 only when the feature works. Every status is "failing". Ids are unique.
- IMPLEMENTATION_PLAN.md: an ordered list of small tasks, with dependencies.
- init.sh: keep its shape; make \`./init.sh smoke\` a fast check that the workspace is not broken.

End with a short note on what you wrote.
`;
}
