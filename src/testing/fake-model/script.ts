import { z } from 'zod';

/**
 * A fake model's script: rules matched against what a request contains (never against how many calls
 * came before, since agents make background calls that interleave). The first rule whose conditions all
 * hold gives the reply; the same reply renders in each wire format.
 */
const toolCall = z.strictObject({
  name: z.string().min(1),
  input: z.record(z.string(), z.unknown()).default({}),
});

export const fakeReplySchema = z.strictObject({
  text: z.string().optional(),
  toolCalls: z.array(toolCall).default([]),
  usage: z
    .strictObject({
      inputTokens: z.number().int().min(0).default(100),
      outputTokens: z.number().int().min(0).default(20),
      cachedInputTokens: z.number().int().min(0).default(0),
    })
    .prefault({}),
  /**
   * rate-limit: HTTP 429 with retry-after; server-error: HTTP 500; hang: accept and never answer;
   * malformed: a stream cut in the middle of an event.
   */
  fault: z.enum(['rate-limit', 'server-error', 'hang', 'malformed']).optional(),
  retryAfterSeconds: z.number().int().min(0).default(1),
});

export const fakeConditionSchema = z.strictObject({
  /** The last user message (its text, not tool results) contains this. */
  lastUserIncludes: z.string().optional(),
  /** Any user or system text of the request contains this. */
  anyTextIncludes: z.string().optional(),
  /** The request ends with tool results (the model is being told what its calls did). */
  hasToolResult: z.boolean().optional(),
  /** A tool result of the latest turn contains this. */
  toolResultIncludes: z.string().optional(),
  /** Tools the request offers, all of them. */
  toolsInclude: z.array(z.string()).optional(),
  /** The request asks for structured (JSON schema) output. */
  structuredOutput: z.boolean().optional(),
  wire: z.enum(['anthropic', 'responses', 'chat']).optional(),
});

export const fakeModelScriptSchema = z.strictObject({
  rules: z.array(
    z.strictObject({
      name: z.string().optional(),
      when: fakeConditionSchema.default({}),
      reply: fakeReplySchema,
      /** Answer at most this many requests, then let later rules answer (a fault that heals). */
      maxUses: z.number().int().positive().optional(),
    }),
  ),
  /** When no rule matches. */
  otherwise: fakeReplySchema.prefault({ text: 'The fake model has no rule for this request.' }),
});

export type FakeModelScript = z.output<typeof fakeModelScriptSchema>;
export type FakeModelScriptInput = z.input<typeof fakeModelScriptSchema>;
export type FakeReply = z.output<typeof fakeReplySchema>;
export type FakeCondition = z.output<typeof fakeConditionSchema>;
