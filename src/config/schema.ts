import { z } from 'zod';
import { parseDurationMs } from '../util/duration.ts';

/**
 * baton.yaml as a person writes it. Strict: an unknown key is an error (a typo must not silently
 * turn a guard off). Durations accept '30s', '10m', '2h' or milliseconds.
 */
const duration = z
  .union([z.number().int().positive(), z.string()])
  .refine((value) => typeof value === 'number' || parseDurationMs(value) !== undefined, {
    message: "expected a duration such as '90s', '30m', '2h' or a number of milliseconds",
  });

const commandLine = z.union([
  z.string().min(1, 'expected a non-empty command line'),
  z.array(z.string()).min(1, 'expected at least the program name'),
]);

const commandAgent = z.strictObject({
  type: z.literal('command'),
  command: commandLine.describe('The agent program: a shell command line or an argv array.'),
  prompt: z
    .enum(['stdin', 'file', 'argument'])
    .default('stdin')
    .describe(
      'How the prompt reaches the agent: on stdin; as a file whose path is in BATON_PROMPT_FILE (and replaces {promptFile} in the command); or appended as the last argument.',
    ),
  timeout: duration.default('30m').describe('Wall-clock limit of one agent session.'),
  env: z.record(z.string(), z.string()).default({}).describe('Extra environment for the agent.'),
});

const scriptedAgent = z.strictObject({
  type: z.literal('scripted'),
  script: z.string().min(1).describe('Path of a scripted-agent script (JSON), relative to the workspace.'),
  timeout: duration.default('5m'),
});

export const agentSchema = z.discriminatedUnion('type', [commandAgent, scriptedAgent]);

const oracle = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/i, 'expected a name of letters, digits, - and _'),
  command: commandLine,
  timeout: duration.default('10m'),
});

export const configSchema = z.strictObject({
  version: z.literal(1).describe('Version of this file format.'),
  goal: z.string().optional().describe('One line; the full intent lives in SPEC.md.'),
  agent: agentSchema.optional().describe('The worker agent. Required by `baton run`.'),
  smoke: z
    .strictObject({
      command: commandLine.optional(),
      timeout: duration.default('5m'),
    })
    .default({ timeout: '5m' })
    .describe('Run before every iteration. Default: ./init.sh smoke when init.sh exists.'),
  oracles: z.array(oracle).default([]).describe('Commands the harness runs after every iteration.'),
  verify: z
    .strictObject({ timeout: duration.default('10m') })
    .default({ timeout: '10m' })
    .describe("Settings for the features' own verify commands."),
  done: z
    .strictObject({
      features: z.enum(['all', 'none']).default('all'),
      oracles: z.array(z.string()).default([]).describe('Names of oracles that must exit 0.'),
      cleanTree: z.boolean().default(true),
      requireClaim: z.boolean().default(false).describe('Only end when the worker also claims done.'),
    })
    .default({ features: 'all', oracles: [], cleanTree: true, requireClaim: false }),
  budgets: z
    .strictObject({
      iterations: z.number().int().positive().default(50),
      wallClock: duration.default('8h'),
      noProgressIterations: z
        .number()
        .int()
        .min(0)
        .default(5)
        .describe('Stop after this many iterations in a row without a newly passing check (0: never).'),
    })
    .default({ iterations: 50, wallClock: '8h', noProgressIterations: 5 }),
  progress: z
    .strictObject({
      keepEntries: z.number().int().positive().default(20).describe('PROGRESS.md keeps this many entries.'),
    })
    .default({ keepEntries: 20 }),
});

export type WrittenConfig = z.input<typeof configSchema>;
export type ParsedConfig = z.output<typeof configSchema>;
