import { z } from 'zod';
import { parseDurationMs } from '../util/duration.ts';
import { parseBytes } from '../util/bytes.ts';

/**
 * The value types the fragments of baton.yaml share. Each reads what a person writes ('30m', '4GiB') and
 * yields the number the harness uses, so the parsed config needs no second mapping; the JSON Schema is
 * generated from the input side, where the written forms live.
 */

const durationMessage = "expected a duration such as '90s', '30m', '2h' or a number of milliseconds";

/** '30s', '10m', '2h', '1h30m' or a number of milliseconds -> milliseconds. */
export const duration = z.union([z.number().int().positive(), z.string()]).transform((value, context) => {
  const ms = typeof value === 'number' ? value : parseDurationMs(value);
  if (ms !== undefined) return ms;
  context.addIssue({ code: 'custom', message: durationMessage, input: value });
  return z.NEVER;
});

const byteSizeMessage = "expected a size such as '512MiB', '4GiB' or a number of bytes";

/** '512MiB', '4GiB' or a number of bytes -> bytes. */
export const byteSize = z
  .union([z.number().int().positive(), z.string()])
  // A refinement runs even after `positive` failed, so `0` is also told what a size looks like.
  .refine((value) => parseBytes(value) !== undefined, { message: byteSizeMessage })
  .transform((value) => {
    const bytes = parseBytes(value);
    // The refinement refused whatever parseBytes cannot read, so this is an internal error.
    if (bytes === undefined) throw new Error(`unparsed size ${value}`);
    return bytes;
  });

/** A shell command line, or an argv array run without a shell. */
export const commandLine = z.union([
  z.string().min(1, 'expected a non-empty command line'),
  z.array(z.string()).min(1, 'expected at least the program name'),
]);

/** A count of things run at the same time (workers, checks): a whole number from 1 to 64. */
export const concurrencyCount = z.number().int().min(1).max(64);

export const environmentVariableName = /^[A-Z_][A-Z0-9_]*$/;

/** A default written once, as baton.yaml would write it, and read the way the schema reads it. */
export function durationMs(written: string): number {
  return duration.parse(written);
}
