import { z } from 'zod';

/** `progress:`: PROGRESS.md. The template `baton init` writes shows the default. */
export const defaultProgressEntries = 20;

export const progressSchema = z
  .strictObject({
    keepEntries: z
      .number()
      .int()
      .positive()
      .default(defaultProgressEntries)
      .describe('PROGRESS.md keeps this many entries.'),
  })
  .prefault({});
