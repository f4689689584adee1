import type { ParsedConfig } from './schema.ts';
import { parseDurationMs } from '../util/duration.ts';

export type CommandLine = string | readonly string[];

export type AgentConfig =
  | {
      readonly type: 'command';
      readonly command: CommandLine;
      readonly prompt: 'stdin' | 'file' | 'argument';
      readonly timeoutMs: number;
      readonly env: Readonly<Record<string, string>>;
    }
  | { readonly type: 'scripted'; readonly script: string; readonly timeoutMs: number };

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
  };
  readonly progress: { readonly keepEntries: number };
}

function toMs(value: string | number): number {
  if (typeof value === 'number') return value;
  const parsed = parseDurationMs(value);
  // The schema refused anything parseDurationMs cannot read, so this is an internal error.
  if (parsed === undefined) throw new Error(`unparsed duration ${value}`);
  return parsed;
}

export function resolveConfig(parsed: ParsedConfig): Config {
  const agent: AgentConfig | undefined =
    parsed.agent === undefined
      ? undefined
      : parsed.agent.type === 'command'
        ? {
            type: 'command',
            command: parsed.agent.command,
            prompt: parsed.agent.prompt,
            timeoutMs: toMs(parsed.agent.timeout),
            env: parsed.agent.env,
          }
        : { type: 'scripted', script: parsed.agent.script, timeoutMs: toMs(parsed.agent.timeout) };
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
    },
    progress: parsed.progress,
  };
}
