import { z } from 'zod';
import { commandLine, concurrencyCount, duration } from '../fields.ts';

/** `smoke:`, `oracles:` and `verify:`: the commands the harness runs around every iteration. */

export const smokeSchema = z
  .strictObject({
    command: commandLine.optional(),
    timeout: duration.prefault('5m'),
  })
  .transform(({ timeout, ...smoke }) => ({ ...smoke, timeoutMs: timeout }))
  .prefault({})
  .describe('Run before every iteration. Default: ./init.sh smoke when init.sh exists.');

const oracle = z
  .strictObject({
    name: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/i, 'expected a name of letters, digits, - and _'),
    command: commandLine,
    timeout: duration.prefault('10m'),
    exclusive: z
      .boolean()
      .default(false)
      .describe(
        'Run it alone, with no other check at the same time (it needs ports, a database, the whole machine).',
      ),
  })
  .transform(({ timeout, ...oracle }) => ({ ...oracle, timeoutMs: timeout }));

export const oraclesSchema = z
  .array(oracle)
  .prefault([])
  .describe('Commands the harness runs after every iteration.');

/** Read as `verifyTimeoutMs`, `verifyConcurrency` and `verifyExclusive` (see schema.ts). */
export const verifySchema = z
  .strictObject({
    timeout: duration.prefault('10m'),
    concurrency: concurrencyCount
      .optional()
      .describe(
        "How many checks (verify commands, oracles) run at the same time, each in its own sandbox; results keep the checks' order. Default: the machine's cores. 1: one after another.",
      ),
    exclusive: z
      .array(z.string().min(1))
      .default([])
      .describe('Feature ids whose verify command runs alone, with no other check at the same time.'),
  })
  .prefault({})
  .describe("Settings for the features' own verify commands.");
