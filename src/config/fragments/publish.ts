import { z } from 'zod';

/** `publish:`: where `baton publish` pushes a run's branch, and the person's command that opens a PR. */

/** A git remote's name: no leading dash (it would be read as an option), no spaces or shell syntax. */
export const remoteNamePattern = /^[A-Za-z0-9][A-Za-z0-9._/-]*$/;

export const publishSchema = z
  .strictObject({
    remote: z
      .string()
      .regex(remoteNamePattern, 'expected a git remote name such as origin')
      .optional()
      .describe('The git remote `baton publish` pushes the run branch to (default: origin).'),
    command: z
      .string()
      .min(1, 'expected a non-empty command line')
      .optional()
      .describe(
        'Run by /bin/sh after the push, outside the sandbox: {report} is replaced by the path of the markdown receipt, {branch} by the branch (both shell-quoted), e.g. "gh pr create --fill --body-file {report}". Read from baton.yaml as committed at the run\'s start, never from what the worker left.',
      ),
  })
  .prefault({})
  .describe('`baton publish`: push the run branch and hand the receipt to a command of yours.');

export type PublishConfig = z.output<typeof publishSchema>;
