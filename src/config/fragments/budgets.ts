import { z } from 'zod';
import { duration } from '../fields.ts';

/** `budgets:`: the stop predicates of a run. The template `baton init` writes shows these defaults. */
export const defaultBudgets = { iterations: 50, wallClock: '8h', noProgressIterations: 5 } as const;

export const budgetsSchema = z
  .strictObject({
    iterations: z.number().int().positive().default(defaultBudgets.iterations),
    wallClock: duration.prefault(defaultBudgets.wallClock),
    noProgressIterations: z
      .number()
      .int()
      .min(0)
      .default(defaultBudgets.noProgressIterations)
      .describe('Stop after this many iterations in a row without a newly passing check (0: never).'),
    tokens: z.number().int().positive().optional().describe('Input + output tokens over the whole run.'),
    costUsd: z.number().positive().optional().describe('Spend in USD over the whole run.'),
    perIteration: z
      .strictObject({
        tokens: z.number().int().positive().optional(),
        costUsd: z.number().positive().optional(),
      })
      .prefault({})
      .describe('A single session over these limits stops the run: it is running away.'),
  })
  .transform(({ wallClock, ...budgets }) => ({ ...budgets, wallClockMs: wallClock }))
  .prefault({});
