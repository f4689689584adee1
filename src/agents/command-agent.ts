import { join } from 'node:path';
import { z } from 'zod';
import { BatonError } from '../errors.ts';
import type { Usage } from '../log/events.ts';
import { emptyUsage } from '../log/reducer.ts';
import { describeProcessEnd, runProcess } from '../util/run-process.ts';
import { ioLimits } from '../util/limits.ts';
import { describeUnsafeReason, readRegularFile, UnsafeFileError, writeNewFile } from '../util/safe-io.ts';
import { sanitizeText, tail } from '../util/text.ts';
import { agentMissingError, firstWord } from './agent-missing.ts';
import type { Agent, AgentSessionOptions, AgentSessionResult } from './agent.ts';
import type { CommandLine } from '../config/resolve.ts';
import { defineAgent } from './define-agent.ts';

export interface CommandAgentOptions {
  readonly command: CommandLine;
  readonly prompt: 'stdin' | 'file' | 'argument';
  readonly env?: Readonly<Record<string, string>>;
  readonly id?: string;
  /** Paths outside the workspace the agent must read (its script, its binary). */
  readonly readOnly?: readonly string[];
}

const finalMessageChars = 4_000;

export const transcriptCap = {
  headBytes: ioLimits.transcriptHeadBytes,
  tailBytes: ioLimits.transcriptTailBytes,
} as const;

/**
 * The note the worker left in BATON_HANDOFF_FILE: read without following a link (a link to a private
 * key or /proc/self/environ would put its contents into commits and prompts), never blocking on a FIFO,
 * at most `maxHandoffBytes`. A refused file is reported in the note instead of its contents.
 */
export function readHandoff(path: string): { readonly text: string; readonly refused: string | undefined } {
  try {
    const content = readRegularFile(path, { maxBytes: ioLimits.maxHandoffBytes });
    return { text: content === undefined ? '' : sanitizeText(content.bytes), refused: undefined };
  } catch (error) {
    if (!UnsafeFileError.isUnsafeFile(error)) throw error;
    return { text: '', refused: `baton refused the handoff file: it ${describeUnsafeReason(error.reason)}` };
  }
}

function withPromptFile(
  command: CommandLine,
  promptFile: string,
  mode: CommandAgentOptions['prompt'],
  prompt: string,
): CommandLine {
  if (typeof command === 'string') {
    const replaced = command.replaceAll('{promptFile}', promptFile);
    if (mode !== 'argument') return replaced;
    return `${replaced} "$(cat '${promptFile.replaceAll("'", "'\\''")}')"`;
  }
  const replaced = command.map((part) => part.replaceAll('{promptFile}', promptFile));
  return mode === 'argument' ? [...replaced, prompt] : replaced;
}

const usageLine = /^BATON_USAGE (\{.*\})\s*$/gm;
const reportedUsage = z.object({
  inputTokens: z.number().int().min(0).default(0),
  outputTokens: z.number().int().min(0).default(0),
  cachedInputTokens: z.number().int().min(0).default(0),
  costUsd: z.number().min(0).default(0),
});

/**
 * A command agent can report what it spent with lines `BATON_USAGE {"inputTokens":…,"outputTokens":…,
 * "costUsd":…}` on stdout; they add up. Malformed lines are ignored rather than trusted.
 */
export function parseReportedUsage(stdout: string): Usage {
  let usage = emptyUsage;
  for (const match of stdout.matchAll(usageLine)) {
    let raw: unknown;
    try {
      raw = JSON.parse(match[1] ?? '');
    } catch {
      continue;
    }
    const parsed = reportedUsage.safeParse(raw);
    if (!parsed.success) continue;
    usage = {
      inputTokens: usage.inputTokens + parsed.data.inputTokens,
      outputTokens: usage.outputTokens + parsed.data.outputTokens,
      cachedInputTokens: usage.cachedInputTokens + parsed.data.cachedInputTokens,
      costUsd: usage.costUsd + parsed.data.costUsd,
    };
  }
  return usage;
}

/**
 * Any program as an agent. The prompt arrives on stdin, in a file (BATON_PROMPT_FILE, or `{promptFile}`
 * in the command), or as the last argument. The handoff note is what the agent wrote to
 * BATON_HANDOFF_FILE, or else the tail of its stdout.
 */
export function createCommandAgent(options: CommandAgentOptions): Agent {
  return {
    specificationVersion: 'agent-v1',
    id: options.id ?? 'command',
    async startSession(session: AgentSessionOptions): Promise<AgentSessionResult> {
      const promptFile = join(session.sessionDir, 'prompt.md');
      const handoffFile = join(session.sessionDir, 'handoff.md');
      writeNewFile(promptFile, session.prompt);
      const wrapped = session.sandbox.wrap({
        command: withPromptFile(options.command, promptFile, options.prompt, session.prompt),
        env: {
          ...session.env,
          ...options.env,
          BATON_PROMPT_FILE: promptFile,
          BATON_HANDOFF_FILE: handoffFile,
        },
        writable: [session.sessionDir],
        readOnly: options.readOnly ?? [],
        workspace: session.cwd,
        ...(session.writableInside === undefined ? {} : { writableInside: session.writableInside }),
        // The agent's own settings (its credential among them) reach the agent, and only the agent.
        passEnv: Object.keys(options.env ?? {}),
      });
      const result = await runProcess({
        command: wrapped.command,
        cwd: session.cwd,
        env: wrapped.env,
        timeoutMs: session.timeoutMs,
        signal: session.signal,
        outputFile: session.transcriptPath,
        outputCap: transcriptCap,
        ...(options.prompt === 'stdin' ? { stdin: session.prompt } : {}),
        ...(session.onStart === undefined ? {} : { onStart: session.onStart }),
      });
      wrapped.release();
      if (result.spawnError !== undefined) {
        const program = typeof options.command === 'string' ? options.command : options.command[0];
        throw new BatonError(
          `the agent command could not be started (${result.spawnError}): ${program ?? ''}`,
          {
            code: 'AGENT_MISSING',
            fix: 'install the agent program or correct agent.command in baton.yaml',
          },
        );
      }
      if (result.exitCode === 127 && /not found|No such file/i.test(result.output)) {
        throw agentMissingError(
          firstWord(options.command) ?? '',
          tail(result.output.trim(), 300),
          session.cwd,
        );
      }
      const handoff = readHandoff(handoffFile);
      const note = handoff.text.trim() === '' ? sanitizeText(result.stdout) : handoff.text;
      const finalMessage = tail(
        [note.trim(), handoff.refused === undefined ? '' : `(${handoff.refused})`].filter(Boolean).join('\n'),
        finalMessageChars,
      );
      const status = result.timedOut
        ? 'timed-out'
        : result.aborted
          ? 'aborted'
          : result.exitCode === 0
            ? 'completed'
            : 'failed';
      return {
        status,
        exitCode: result.exitCode,
        durationMs: result.durationMs,
        usage: parseReportedUsage(result.stdout),
        transcriptPath: session.transcriptPath,
        finalMessage,
        error: status === 'completed' ? undefined : `agent ${describeProcessEnd(result)}`,
      };
    },
  };
}

/** `type: command`: any program, as baton.yaml names it. */
export const commandAgent = defineAgent({
  type: 'command',
  create: (config) => createCommandAgent({ command: config.command, prompt: config.prompt, env: config.env }),
});
