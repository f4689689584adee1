import { z } from 'zod';
import { environmentVariableName } from '../fields.ts';

/** `done:` and `judge:`: when the run is over, decided on the harness's evidence. */

export const doneSchema = z
  .strictObject({
    features: z.enum(['all', 'none']).default('all'),
    oracles: z.array(z.string()).default([]).describe('Names of oracles that must exit 0.'),
    cleanTree: z.boolean().default(true),
    requireClaim: z.boolean().default(false).describe('Only end when the worker also claims done.'),
  })
  .prefault({});

export const judgeSchema = z
  .strictObject({
    model: z
      .strictObject({
        provider: z.enum(['anthropic', 'openai-compatible']),
        model: z.string().min(1),
        baseUrl: z.url().optional(),
        apiKeyEnv: z.string().regex(environmentVariableName).optional(),
      })
      .optional()
      .describe(
        'A model that judges the evidence against the condition (it can veto "done", never grant it), and the proposals a worker\'s change became (it may accept one with a reason; otherwise a person decides).',
      ),
    condition: z
      .string()
      .optional()
      .describe(
        'The crisp condition the model judges (default: the goal in SPEC.md, every feature passing).',
      ),
  })
  .prefault({})
  .describe('The deterministic judge always decides first; an optional model judge adds a second opinion.');
