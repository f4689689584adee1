import type { ParsedConfig } from './schema.ts';
import { parseDurationMs } from '../util/duration.ts';
import { parseBytes } from '../util/bytes.ts';
import type { SandboxSettings } from './sandbox-settings.ts';

export type CommandLine = string | readonly string[];

export type AgentConfig =
  | {
      readonly type: 'command';
      readonly command: CommandLine;
      readonly prompt: 'stdin' | 'file' | 'argument';
      readonly timeoutMs: number;
      readonly env: Readonly<Record<string, string>>;
    }
  | { readonly type: 'scripted'; readonly script: string; readonly timeoutMs: number }
  | (CliAgentConfig & { readonly timeoutMs: number })
  | BuiltinAgentConfig;

/** baton.yaml's settings for an agent CLI (claude-code, codex, gemini, opencode). */
export interface CliAgentConfig {
  readonly type: 'claude-code' | 'codex' | 'gemini' | 'opencode';
  readonly binary: string | undefined;
  readonly model: string | undefined;
  readonly maxTurns: number;
  /** The model API (a gateway, a local model server, the fake server in tests). */
  readonly baseUrl: string | undefined;
  /** The harness variable holding the agent's API key (passed to the agent alone). */
  readonly apiKeyEnv: string | undefined;
  readonly allowedTools: readonly string[];
  readonly extraArgs: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
  readonly idleTimeoutMs: number;
}

export interface BuiltinAgentConfig {
  readonly type: 'builtin';
  readonly provider: 'anthropic' | 'openai-compatible';
  readonly model: string;
  readonly baseUrl: string | undefined;
  readonly apiKeyEnv: string | undefined;
  readonly maxTurns: number;
  readonly timeoutMs: number;
}

export interface OracleConfig {
  readonly name: string;
  readonly command: CommandLine;
  readonly timeoutMs: number;
}

/** The resolved contract: every default filled in, every duration in milliseconds. */
export interface Config {
  readonly goal: string | undefined;
  readonly agent: AgentConfig | undefined;
  readonly smoke: { readonly command: CommandLine | undefined; readonly timeoutMs: number };
  readonly oracles: readonly OracleConfig[];
  readonly verifyTimeoutMs: number;
  readonly done: {
    readonly features: 'all' | 'none';
    readonly oracles: readonly string[];
    readonly cleanTree: boolean;
    readonly requireClaim: boolean;
  };
  readonly budgets: {
    readonly iterations: number;
    readonly wallClockMs: number;
    readonly noProgressIterations: number;
    readonly tokens: number | undefined;
    readonly costUsd: number | undefined;
    readonly perIteration: { readonly tokens: number | undefined; readonly costUsd: number | undefined };
  };
  readonly progress: { readonly keepEntries: number };
  readonly planner: AgentConfig | undefined;
  readonly fallbackAgent: AgentConfig | undefined;
  readonly guards: GuardsConfig;
  readonly sandbox: SandboxSettings;
  readonly parallel: ParallelConfig;
  readonly judge: {
    readonly model: Pick<BuiltinAgentConfig, 'provider' | 'model' | 'baseUrl' | 'apiKeyEnv'> | undefined;
    readonly condition: string | undefined;
  };
  readonly rateLimits: {
    readonly retries: number;
    readonly initialBackoffMs: number;
    readonly maxBackoffMs: number;
  };
  readonly telemetry: {
    readonly otlpEndpoint: string | undefined;
    readonly serviceName: string;
    readonly headers: Readonly<Record<string, string>>;
  };
  readonly notify: {
    readonly on: readonly ('stop' | 'park' | 'question')[];
    readonly command: CommandLine | undefined;
    readonly webhook: string | undefined;
    readonly timeoutMs: number;
  };
}

export interface ParallelConfig {
  /** Absent: the serial loop. */
  readonly workers: number | undefined;
  readonly taskAttempts: number;
  readonly replans: number;
  readonly task: { readonly tokens: number | undefined; readonly costUsd: number | undefined };
  readonly portBase: number;
  readonly portsPerWorker: number;
  readonly scopeInSandbox: boolean;
}

export interface GuardsConfig {
  readonly protectedPaths: readonly string[];
  readonly testFiles: readonly string[];
  readonly testGaming: boolean;
  readonly ignoreDirectives: boolean;
  readonly regression: 'rollback' | 'fix-first';
  readonly pollution: { readonly mode: 'scratch' | 'reject'; readonly patterns: readonly string[] };
  readonly planMaxBytes: number;
  readonly replanEvery: number;
  readonly replanOnMismatch: boolean;
  readonly stall: {
    readonly replanAfter: number;
    readonly switchAgentAfter: number;
    readonly parkAfter: number;
  };
  readonly questions: boolean;
}

function toMs(value: string | number): number {
  if (typeof value === 'number') return value;
  const parsed = parseDurationMs(value);
  // The schema refused anything parseDurationMs cannot read, so this is an internal error.
  if (parsed === undefined) throw new Error(`unparsed duration ${value}`);
  return parsed;
}

type WrittenAgent = NonNullable<ParsedConfig['agent']>;

function resolveAgent(agent: WrittenAgent | undefined): AgentConfig | undefined {
  if (agent === undefined) return undefined;
  switch (agent.type) {
    case 'command':
      return {
        type: 'command',
        command: agent.command,
        prompt: agent.prompt,
        timeoutMs: toMs(agent.timeout),
        env: agent.env,
      };
    case 'scripted':
      return { type: 'scripted', script: agent.script, timeoutMs: toMs(agent.timeout) };
    case 'builtin':
      return {
        type: 'builtin',
        provider: agent.provider,
        model: agent.model,
        baseUrl: agent.baseUrl,
        apiKeyEnv: agent.apiKeyEnv,
        maxTurns: agent.maxTurns,
        timeoutMs: toMs(agent.timeout),
      };
    default:
      return {
        type: agent.type,
        binary: agent.binary,
        model: agent.model,
        maxTurns: agent.maxTurns,
        baseUrl: agent.baseUrl,
        apiKeyEnv: agent.apiKeyEnv,
        allowedTools: agent.allowedTools,
        extraArgs: agent.extraArgs,
        env: agent.env,
        timeoutMs: toMs(agent.timeout),
        idleTimeoutMs: toMs(agent.idleTimeout),
      };
  }
}

export function resolveConfig(parsed: ParsedConfig): Config {
  const agent = resolveAgent(parsed.agent);
  return {
    goal: parsed.goal,
    agent,
    smoke: { command: parsed.smoke.command, timeoutMs: toMs(parsed.smoke.timeout) },
    oracles: parsed.oracles.map((oracle) => ({
      name: oracle.name,
      command: oracle.command,
      timeoutMs: toMs(oracle.timeout),
    })),
    verifyTimeoutMs: toMs(parsed.verify.timeout),
    done: parsed.done,
    budgets: {
      iterations: parsed.budgets.iterations,
      wallClockMs: toMs(parsed.budgets.wallClock),
      noProgressIterations: parsed.budgets.noProgressIterations,
      tokens: parsed.budgets.tokens,
      costUsd: parsed.budgets.costUsd,
      perIteration: {
        tokens: parsed.budgets.perIteration.tokens,
        costUsd: parsed.budgets.perIteration.costUsd,
      },
    },
    progress: parsed.progress,
    planner: resolveAgent(parsed.planner),
    fallbackAgent: resolveAgent(parsed.fallbackAgent),
    guards: parsed.guards,
    judge: {
      model:
        parsed.judge.model === undefined
          ? undefined
          : {
              provider: parsed.judge.model.provider,
              model: parsed.judge.model.model,
              baseUrl: parsed.judge.model.baseUrl,
              apiKeyEnv: parsed.judge.model.apiKeyEnv,
            },
      condition: parsed.judge.condition,
    },
    rateLimits: {
      retries: parsed.rateLimits.retries,
      initialBackoffMs: toMs(parsed.rateLimits.initialBackoff),
      maxBackoffMs: toMs(parsed.rateLimits.maxBackoff),
    },
    telemetry: {
      otlpEndpoint: parsed.telemetry.otlpEndpoint,
      serviceName: parsed.telemetry.serviceName,
      headers: parsed.telemetry.headers,
    },
    notify: {
      on: parsed.notify.on,
      command: parsed.notify.command,
      webhook: parsed.notify.webhook,
      timeoutMs: toMs(parsed.notify.timeout),
    },
    parallel: {
      ...parsed.parallel,
      workers: parsed.parallel.workers,
      task: { tokens: parsed.parallel.task.tokens, costUsd: parsed.parallel.task.costUsd },
    },
    sandbox: {
      backend: parsed.sandbox.backend,
      network: parsed.sandbox.network,
      allow: parsed.sandbox.allow,
      passEnv: parsed.sandbox.passEnv,
      readOnly: parsed.sandbox.readOnly,
      limits: {
        processes: parsed.sandbox.limits.processes,
        fileSizeBytes: parseBytes(parsed.sandbox.limits.fileSize) ?? 1024 ** 3,
        cpuSeconds: Math.ceil(toMs(parsed.sandbox.limits.cpu) / 1_000),
        memoryBytes: parseBytes(parsed.sandbox.limits.memory) ?? 4 * 1024 ** 3,
        openFiles: parsed.sandbox.limits.openFiles,
      },
    },
  };
}
