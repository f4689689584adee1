import { z } from 'zod';

/** `git:`: where a run's commits go, whose they are, how many per iteration, and the project's hooks. */
export const gitSchema = z
  .strictObject({
    branch: z
      .enum(['run', 'in-place'])
      .default('run')
      .describe(
        'run: each run works on its own branch (baton/<run-id>, or `baton run --branch <name>`) made from the current HEAD, and the branch you were on is checked out again when it stops. in-place: commit onto the current branch.',
      ),
    commit: z
      .enum(['one', 'two'])
      .default('one')
      .describe(
        "one: one commit per iteration (the worker's change with the harness's statuses and progress). two: the worker's change and the harness's record as separate commits.",
      ),
    identity: z
      .strictObject({
        name: z.string().min(1),
        email: z.string().min(1),
      })
      .optional()
      .describe("Who the run's commits are by (default: your git identity, user.name and user.email)."),
    hooks: z
      .boolean()
      .default(true)
      .describe(
        "Run the project's pre-commit and commit-msg hooks on each iteration's commit, in the sandbox, as checks (a failing hook is a failing check, shown to the next worker).",
      ),
  })
  .prefault({});
