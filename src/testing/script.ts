import { z } from 'zod';

/**
 * A scripted agent's script. The agent is amnesiac like a real one: on every session it looks at the
 * workspace and the prompt, takes the first rule whose conditions all hold, and performs its actions.
 * Nothing depends on how many times it was called before, only on what is on disk and in the prompt.
 */
const condition = z.strictObject({
  featureFailing: z.string().optional(),
  featurePassing: z.string().optional(),
  passingAtLeast: z.number().int().optional(),
  passingExactly: z.number().int().optional(),
  fileExists: z.string().optional(),
  fileMissing: z.string().optional(),
  fileContains: z.strictObject({ path: z.string(), text: z.string() }).optional(),
  fileLacks: z.strictObject({ path: z.string(), text: z.string() }).optional(),
  promptIncludes: z.string().optional(),
  promptExcludes: z.string().optional(),
  iteration: z.number().int().optional(),
});

const action = z.union([
  z.strictObject({ write: z.strictObject({ path: z.string(), content: z.string() }) }),
  z.strictObject({ append: z.strictObject({ path: z.string(), content: z.string() }) }),
  z.strictObject({ replace: z.strictObject({ path: z.string(), find: z.string(), with: z.string() }) }),
  z.strictObject({ delete: z.string() }),
  z.strictObject({ run: z.string() }),
  z.strictObject({ sleepMs: z.number().int().min(0) }),
  z.strictObject({ exit: z.number().int() }),
]);

const rule = z.strictObject({
  name: z.string().optional(),
  when: condition.default({}),
  do: z.array(action).default([]),
  say: z.string().default(''),
  claimDone: z.boolean().default(false),
  /** Usage to report (as a BATON_USAGE line), as a model-backed agent would. */
  usage: z
    .strictObject({
      inputTokens: z.number().int().min(0).default(0),
      outputTokens: z.number().int().min(0).default(0),
      costUsd: z.number().min(0).default(0),
    })
    .optional(),
});

export const agentScriptSchema = z.strictObject({
  name: z.string().default('scripted agent'),
  rules: z.array(rule).min(1),
  /** What to say when no rule matches. */
  otherwise: z.string().default('Nothing left that I know how to do.'),
});

export type AgentScript = z.output<typeof agentScriptSchema>;
export type AgentScriptInput = z.input<typeof agentScriptSchema>;
export type ScriptRule = z.output<typeof rule>;
export type ScriptCondition = z.output<typeof condition>;
export type ScriptAction = z.output<typeof action>;
