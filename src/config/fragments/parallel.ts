import { z } from 'zod';
import { concurrencyCount } from '../fields.ts';

/** `parallel:`: planner, workers and a merge queue (parallel/, distributed/). */
export const parallelSchema = z
  .strictObject({
    /** Absent: the serial loop. */
    workers: concurrencyCount
      .optional()
      .describe(
        'Workers in parallel git worktrees, with a planner and a merge queue (absent: the serial loop). `baton run --workers N` overrides.',
      ),
    taskAttempts: z
      .number()
      .int()
      .min(1)
      .default(3)
      .describe('Attempts a task gets (a refused merge or a failed session counts) before it is abandoned.'),
    replans: z
      .number()
      .int()
      .min(0)
      .default(3)
      .describe('Planning passes after the first, when the judge finds the goal not met.'),
    task: z
      .strictObject({
        tokens: z
          .number()
          .int()
          .positive()
          .optional()
          .describe('Tokens one task may spend over all its attempts.'),
        costUsd: z.number().positive().optional().describe('USD one task may spend over all its attempts.'),
      })
      .prefault({}),
    portBase: z
      .number()
      .int()
      .min(1_024)
      .max(60_000)
      .default(20_000)
      .describe('Worker k gets ports portBase + (k-1) * portsPerWorker onwards (BATON_PORT_BASE).'),
    portsPerWorker: z.number().int().min(1).default(100),
    scopeInSandbox: z
      .boolean()
      .default(true)
      .describe(
        "Make a worker's worktree read-only outside its task's scope folders (bwrap). Off: the scope is still enforced at merge.",
      ),
  })
  .prefault({})
  .describe('Planner, workers and a merge queue: tasks in their own worktrees, merged one at a time.');
