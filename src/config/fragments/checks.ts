import { z } from 'zod';
import { commandLine, duration } from '../fields.ts';

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
  })
  .transform(({ timeout, ...oracle }) => ({ ...oracle, timeoutMs: timeout }));

export const oraclesSchema = z
  .array(oracle)
  .prefault([])
  .describe('Commands the harness runs after every iteration.');

/** Read as `verifyTimeoutMs` (see schema.ts). */
export const verifySchema = z
  .strictObject({ timeout: duration.prefault('10m') })
  .prefault({})
  .describe("Settings for the features' own verify commands.");
