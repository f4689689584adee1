import { z } from 'zod';
import { agentSchema } from './fragments/agent.ts';
import { budgetsSchema } from './fragments/budgets.ts';
import { oraclesSchema, smokeSchema, verifySchema } from './fragments/checks.ts';
import { gitSchema } from './fragments/git.ts';
import { guardsSchema } from './fragments/guards.ts';
import { doneSchema, judgeSchema } from './fragments/judge.ts';
import { notifySchema, telemetrySchema } from './fragments/observe.ts';
import { parallelSchema } from './fragments/parallel.ts';
import { progressSchema } from './fragments/progress.ts';
import { publishSchema } from './fragments/publish.ts';
import { rateLimitsSchema } from './fragments/rate-limits.ts';
import { sandboxSchema } from './fragments/sandbox.ts';

export { defaultScratchGlobs, defaultTestGlobs } from './fragments/guards.ts';

/**
 * baton.yaml, composed from the fragments each subsystem owns (fragments/). Strict: an unknown key is
 * an error (a typo must not silently turn a guard off). Parsing also resolves it: every default filled
 * in, durations in milliseconds and sizes in bytes, so the output type is the `Config` the harness
 * reads (resolve.ts names its parts). The order of the keys is the order of the JSON Schema.
 */
export const configSchema = z
  .strictObject({
    version: z.literal(1).describe('Version of this file format.'),
    goal: z.string().optional().describe('One line; the full intent lives in SPEC.md.'),
    agent: agentSchema.optional().describe('The worker agent. Required by `baton run`.'),
    smoke: smokeSchema,
    oracles: oraclesSchema,
    verify: verifySchema,
    done: doneSchema,
    budgets: budgetsSchema,
    progress: progressSchema,
    planner: agentSchema
      .optional()
      .describe('The agent for planning refresh passes (default: the worker agent with a planning prompt).'),
    fallbackAgent: agentSchema.optional().describe('The agent to switch to when the worker stalls.'),
    sandbox: sandboxSchema,
    judge: judgeSchema,
    rateLimits: rateLimitsSchema,
    telemetry: telemetrySchema,
    notify: notifySchema,
    parallel: parallelSchema,
    publish: publishSchema,
    guards: guardsSchema,
    git: gitSchema,
  })
  .transform(({ verify, ...config }) => ({
    ...config,
    verifyTimeoutMs: verify.timeout,
    /** Undefined: the machine's cores, decided where the checks run (core/check-specs.ts). */
    verifyConcurrency: verify.concurrency,
    verifyExclusive: verify.exclusive,
  }));

export type WrittenConfig = z.input<typeof configSchema>;
