import type { z } from 'zod';
import type { CliAgentSchema } from './fragments/agent.ts';
import type { configSchema } from './schema.ts';

/** Read-only all the way down: one resolved config is shared by every part of a run, which only reads it. */
type DeepReadonly<T> = T extends readonly (infer Item)[]
  ? readonly DeepReadonly<Item>[]
  : T extends object
    ? { readonly [Key in keyof T]: DeepReadonly<T[Key]> }
    : T;

/**
 * The resolved contract: baton.yaml as `configSchema` parses it, every default filled in, every duration
 * in milliseconds (`timeoutMs`), every size in bytes. Derived from the schema, so there is nothing to
 * keep in step; the names below are its parts, for the modules that take one.
 */
export type Config = DeepReadonly<z.output<typeof configSchema>>;

export type AgentConfig = NonNullable<Config['agent']>;

/** baton.yaml's settings for an agent CLI (claude-code, codex, gemini, opencode). */
export type CliAgentConfig = DeepReadonly<z.output<CliAgentSchema>>;

export type BuiltinAgentConfig = Extract<AgentConfig, { readonly type: 'builtin' }>;

export type CommandLine = Extract<AgentConfig, { readonly type: 'command' }>['command'];

export type OracleConfig = Config['oracles'][number];

export type GuardsConfig = Config['guards'];

export type ParallelConfig = Config['parallel'];
