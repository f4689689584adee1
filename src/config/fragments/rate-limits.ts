import { z } from 'zod';
import { duration } from '../fields.ts';

/** `rateLimits:`: a rate-limited session is retried (the same iteration), backing off. */
export const rateLimitsSchema = z
  .strictObject({
    retries: z
      .number()
      .int()
      .min(0)
      .default(8)
      .describe('Rate-limited sessions retried per iteration before the run stops.'),
    initialBackoff: duration.prefault('30s'),
    maxBackoff: duration.prefault('15m'),
  })
  .transform(({ initialBackoff, maxBackoff, ...limits }) => ({
    ...limits,
    initialBackoffMs: initialBackoff,
    maxBackoffMs: maxBackoff,
  }))
  .prefault({})
  .describe('A 429 or a usage limit pauses and retries the same iteration (not a failed one), backing off.');
