import { z } from 'zod';
import { parseDurationMs } from '../util/duration.ts';
import { parseBytes } from '../util/bytes.ts';
import { sandboxBackendNames } from './sandbox-settings.ts';

/**
 * baton.yaml as a person writes it. Strict: an unknown key is an error (a typo must not silently
 * turn a guard off). Durations accept '30s', '10m', '2h' or milliseconds.
 */
const duration = z
  .union([z.number().int().positive(), z.string()])
  .refine((value) => typeof value === 'number' || parseDurationMs(value) !== undefined, {
    message: "expected a duration such as '90s', '30m', '2h' or a number of milliseconds",
  });

/** Where tests usually live, across ecosystems. */
export const defaultTestGlobs = [
  '**/*.test.*',
  '**/*.spec.*',
  '**/test_*.py',
  '**/*_test.py',
  '**/*_test.go',
  'test/**',
  'tests/**',
  '**/__tests__/**',
];

/** What a worker typically leaves behind by accident. */
export const defaultScratchGlobs = [
  '**/*.log',
  '**/*.tmp',
  '**/*.bak',
  '**/*.orig',
  '**/*.rej',
  '**/*.swp',
  '**/*~',
  '**/.DS_Store',
  '**/nohup.out',
  '**/scratch*',
  '**/debug-*',
  'tmp/**',
];

const byteSize = z
  .union([z.number().int().positive(), z.string()])
  .refine((value) => parseBytes(value) !== undefined, {
    message: "expected a size such as '512MiB', '4GiB' or a number of bytes",
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

const cliAgentFields = {
  binary: z
    .string()
    .min(1)
    .optional()
    .describe('The CLI (default: its usual name on PATH, or the one baton bundles).'),
  model: z.string().min(1).optional(),
  maxTurns: z.number().int().positive().default(40).describe('Model turns one session may take.'),
  baseUrl: z.url().optional().describe('The model API endpoint (a gateway or a local model server).'),
  apiKeyEnv: z
    .string()
    .regex(/^[A-Z_][A-Z0-9_]*$/, 'expected an environment variable name')
    .optional()
    .describe("The harness's variable holding the API key; only this agent gets it."),
  extraArgs: z.array(z.string()).default([]),
  env: z.record(z.string(), z.string()).default({}),
  timeout: duration.default('30m'),
  idleTimeout: duration.default('10m').describe('End a session that prints nothing for this long.'),
};

const cliAgent = (type: 'claude-code' | 'codex' | 'gemini' | 'opencode', tools: readonly string[]) =>
  z.strictObject({
    type: z.literal(type),
    ...cliAgentFields,
    allowedTools: z
      .array(z.string())
      .default([...tools])
      .describe('Tools the agent may use without asking.'),
  });

const builtinAgent = z.strictObject({
  type: z.literal('builtin'),
  provider: z.enum(['anthropic', 'openai-compatible']),
  model: z.string().min(1),
  baseUrl: z.url().optional().describe('e.g. http://127.0.0.1:11434/v1 for Ollama, or a gateway.'),
  apiKeyEnv: z
    .string()
    .regex(/^[A-Z_][A-Z0-9_]*$/)
    .optional(),
  maxTurns: z.number().int().positive().default(30),
  timeout: duration.default('30m'),
});

export const agentSchema = z.discriminatedUnion('type', [
  commandAgent,
  scriptedAgent,
  cliAgent('claude-code', ['Bash', 'Read', 'Edit', 'Write']),
  cliAgent('codex', []),
  cliAgent('gemini', []),
  cliAgent('opencode', []),
  builtinAgent,
]);

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
      tokens: z.number().int().positive().optional().describe('Input + output tokens over the whole run.'),
      costUsd: z.number().positive().optional().describe('Spend in USD over the whole run.'),
      perIteration: z
        .strictObject({
          tokens: z.number().int().positive().optional(),
          costUsd: z.number().positive().optional(),
        })
        .prefault({})
        .describe('A single session over these limits stops the run: it is running away.'),
    })
    .prefault({}),
  progress: z
    .strictObject({
      keepEntries: z.number().int().positive().default(20).describe('PROGRESS.md keeps this many entries.'),
    })
    .default({ keepEntries: 20 }),
  planner: agentSchema
    .optional()
    .describe('The agent for planning refresh passes (default: the worker agent with a planning prompt).'),
  fallbackAgent: agentSchema.optional().describe('The agent to switch to when the worker stalls.'),
  sandbox: z
    .strictObject({
      backend: z
        .enum(['auto', ...sandboxBackendNames])
        .default('auto')
        .describe(
          'auto: bwrap where it works (else none, with a warning); bwrap: required; none: no isolation.',
        ),
      network: z
        .enum(['none', 'allowlist'])
        .default('none')
        .describe('none: no network; allowlist: the hosts in allow, through a proxy the harness runs.'),
      allow: z
        .array(z.string())
        .default([])
        .describe(
          'Hosts a worker may reach, with their ports: api.example.com (443 and 80), api.example.com:8443, *.example.com; a local target only with its port (localhost:11434, 127.0.0.1:8080, [::1]:8080).',
        ),
      passEnv: z
        .array(z.string())
        .default([])
        .describe('Variables of the harness passed to workers (credentials).'),
      readOnly: z
        .array(z.string())
        .default([])
        .describe('Extra paths workers may read inside hidden folders.'),
      limits: z
        .strictObject({
          processes: z.number().int().positive().default(512),
          fileSize: byteSize.default('1GiB'),
          cpu: duration.default('1h'),
          memory: byteSize.default('4GiB'),
          openFiles: z.number().int().positive().default(4_096),
        })
        .prefault({}),
    })
    .prefault({})
    .describe('Least privilege for workers and for the checks that run their code.'),
  judge: z
    .strictObject({
      model: z
        .strictObject({
          provider: z.enum(['anthropic', 'openai-compatible']),
          model: z.string().min(1),
          baseUrl: z.url().optional(),
          apiKeyEnv: z
            .string()
            .regex(/^[A-Z_][A-Z0-9_]*$/)
            .optional(),
        })
        .optional()
        .describe(
          'A model that judges the evidence against the condition; it can veto "done", never grant it.',
        ),
      condition: z
        .string()
        .optional()
        .describe(
          'The crisp condition the model judges (default: the goal in SPEC.md, every feature passing).',
        ),
    })
    .prefault({})
    .describe('The deterministic judge always decides first; an optional model judge adds a second opinion.'),
  rateLimits: z
    .strictObject({
      retries: z
        .number()
        .int()
        .min(0)
        .default(8)
        .describe('Rate-limited sessions retried per iteration before the run stops.'),
      initialBackoff: duration.default('30s'),
      maxBackoff: duration.default('15m'),
    })
    .prefault({})
    .describe(
      'A 429 or a usage limit pauses and retries the same iteration (not a failed one), backing off.',
    ),
  telemetry: z
    .strictObject({
      otlpEndpoint: z
        .url()
        .optional()
        .describe(
          'An OTLP/HTTP traces endpoint, e.g. http://127.0.0.1:4318/v1/traces: spans for the run, iterations and steps.',
        ),
      serviceName: z.string().min(1).default('baton'),
      headers: z.record(z.string(), z.string()).default({}).describe('Extra HTTP headers for the exporter.'),
    })
    .prefault({})
    .describe('Optional OpenTelemetry traces (off unless otlpEndpoint is set).'),
  notify: z
    .strictObject({
      on: z
        .array(z.enum(['stop', 'park', 'question']))
        .default(['stop', 'park', 'question'])
        .describe('What to tell a person about.'),
      command: commandLine
        .optional()
        .describe(
          'Run on each notification, the notification as JSON on stdin and in BATON_NOTIFY_* variables.',
        ),
      webhook: z
        .url()
        .optional()
        .describe('POST each notification as JSON (with a Slack-style "text" field).'),
      timeout: duration.default('10s'),
    })
    .prefault({})
    .describe('Tell a person when the run stops, parks a feature or asks a question.'),
  parallel: z
    .strictObject({
      workers: z
        .number()
        .int()
        .min(1)
        .max(64)
        .optional()
        .describe(
          'Workers in parallel git worktrees, with a planner and a merge queue (absent: the serial loop). `baton run --workers N` overrides.',
        ),
      taskAttempts: z
        .number()
        .int()
        .min(1)
        .default(3)
        .describe(
          'Attempts a task gets (a refused merge or a failed session counts) before it is abandoned.',
        ),
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
    .describe('Planner, workers and a merge queue: tasks in their own worktrees, merged one at a time.'),
  guards: z
    .strictObject({
      protectedPaths: z
        .array(z.string())
        .default(['evals/**'])
        .describe('Globs of files the worker may not change or delete (hash-locked at run start).'),
      testFiles: z
        .array(z.string())
        .default(defaultTestGlobs)
        .describe(
          'Globs of test files: existing ones are hash-locked; skips and fewer assertions are refused.',
        ),
      testGaming: z
        .boolean()
        .default(true)
        .describe('Refuse diffs that skip tests or lower the assertion count.'),
      ignoreDirectives: z
        .boolean()
        .default(true)
        .describe('Refuse diffs that add lint or type-check ignores.'),
      regression: z
        .enum(['rollback', 'fix-first'])
        .default('rollback')
        .describe('What happens when a passing check starts failing.'),
      pollution: z
        .strictObject({
          mode: z.enum(['scratch', 'reject']).default('scratch'),
          patterns: z.array(z.string()).default(defaultScratchGlobs),
        })
        .prefault({})
        .describe(
          'Untracked scratch files a worker leaves: moved to .baton/scratch, or the iteration is refused.',
        ),
      planMaxBytes: z.number().int().positive().default(16_384),
      replanEvery: z
        .number()
        .int()
        .min(0)
        .default(0)
        .describe('Run a planning pass every K iterations (0: never).'),
      replanOnMismatch: z
        .boolean()
        .default(true)
        .describe('Run a planning pass when the plan misses failing features.'),
      stall: z
        .strictObject({
          replanAfter: z.number().int().min(0).default(2),
          switchAgentAfter: z.number().int().min(0).default(3),
          parkAfter: z.number().int().min(0).default(4),
        })
        .prefault({})
        .describe('Escalation after iterations without progress (0 turns a step off).'),
      questions: z
        .boolean()
        .default(true)
        .describe('Record a question asked instead of work, park its feature.'),
    })
    .prefault({}),
});

export type WrittenConfig = z.input<typeof configSchema>;
export type ParsedConfig = z.output<typeof configSchema>;
