import { z } from 'zod';
import { commandLine, duration, durationMs, environmentVariableName } from '../fields.ts';

/**
 * `agent:`, `planner:` and `fallbackAgent:`: one agent, its type chosen by `type`. Each type's durations
 * come out in milliseconds (`timeoutMs`, `idleTimeoutMs`), the names the agents and the session use.
 */

/** One agent session's wall-clock limit when baton.yaml sets no `timeout` (and the initializer's). */
export const defaultAgentTimeout = '30m';
export const defaultAgentTimeoutMs = durationMs(defaultAgentTimeout);

const commandAgent = z
  .strictObject({
    type: z.literal('command'),
    command: commandLine.describe('The agent program: a shell command line or an argv array.'),
    prompt: z
      .enum(['stdin', 'file', 'argument'])
      .default('stdin')
      .describe(
        'How the prompt reaches the agent: on stdin; as a file whose path is in BATON_PROMPT_FILE (and replaces {promptFile} in the command); or appended as the last argument.',
      ),
    timeout: duration.describe('Wall-clock limit of one agent session.').prefault(defaultAgentTimeout),
    env: z.record(z.string(), z.string()).default({}).describe('Extra environment for the agent.'),
  })
  .transform(({ timeout, ...agent }) => ({ ...agent, timeoutMs: timeout }));

const scriptedAgent = z
  .strictObject({
    type: z.literal('scripted'),
    script: z.string().min(1).describe('Path of a scripted-agent script (JSON), relative to the workspace.'),
    timeout: duration.prefault('5m'),
  })
  .transform(({ timeout, ...agent }) => ({ ...agent, timeoutMs: timeout }));

const cliAgentFields = {
  binary: z
    .string()
    .min(1)
    .optional()
    .describe('The CLI (default: its usual name on PATH, or the one baton bundles).'),
  model: z.string().min(1).optional(),
  maxTurns: z.number().int().positive().default(40).describe('Model turns one session may take.'),
  /** The model API (a gateway, a local model server, the fake server in tests). */
  baseUrl: z.url().optional().describe('The model API endpoint (a gateway or a local model server).'),
  /** The harness variable holding the agent's API key (passed to the agent alone). */
  apiKeyEnv: z
    .string()
    .regex(environmentVariableName, 'expected an environment variable name')
    .optional()
    .describe("The harness's variable holding the API key; only this agent gets it."),
  extraArgs: z.array(z.string()).default([]),
  env: z.record(z.string(), z.string()).default({}),
  timeout: duration.prefault(defaultAgentTimeout),
  idleTimeout: duration.describe('End a session that prints nothing for this long.').prefault('10m'),
};

type CliAgentType = 'claude-code' | 'codex' | 'gemini' | 'opencode';

/** An agent CLI's settings; generic in its type, so one instantiation names all four (CliAgentConfig). */
function cliAgent<Type extends CliAgentType>(type: Type, tools: readonly string[]) {
  return z
    .strictObject({
      type: z.literal(type),
      ...cliAgentFields,
      allowedTools: z
        .array(z.string())
        .default([...tools])
        .describe('Tools the agent may use without asking.'),
    })
    .transform(({ timeout, idleTimeout, ...agent }) => ({
      ...agent,
      timeoutMs: timeout,
      idleTimeoutMs: idleTimeout,
    }));
}

/** The settings every agent CLI (claude-code, codex, gemini, opencode) has. */
export type CliAgentSchema = ReturnType<typeof cliAgent<CliAgentType>>;

const builtinAgent = z
  .strictObject({
    type: z.literal('builtin'),
    provider: z.enum(['anthropic', 'openai-compatible']),
    model: z.string().min(1),
    baseUrl: z.url().optional().describe('e.g. http://127.0.0.1:11434/v1 for Ollama, or a gateway.'),
    apiKeyEnv: z.string().regex(environmentVariableName).optional(),
    maxTurns: z.number().int().positive().default(30),
    timeout: duration.prefault(defaultAgentTimeout),
  })
  .transform(({ timeout, ...agent }) => ({ ...agent, timeoutMs: timeout }));

export const agentSchema = z.discriminatedUnion('type', [
  commandAgent,
  scriptedAgent,
  cliAgent('claude-code', ['Bash', 'Read', 'Edit', 'Write']),
  cliAgent('codex', []),
  cliAgent('gemini', []),
  cliAgent('opencode', []),
  builtinAgent,
]);
