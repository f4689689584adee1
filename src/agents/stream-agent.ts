import { existsSync } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { agentMissingError, findOnHost } from './agent-missing.ts';
import { BatonError } from '../errors.ts';
import { runProcess } from '../util/run-process.ts';
import { ioLimits } from '../util/limits.ts';
import { sanitizeText, tail } from '../util/text.ts';
import { transcriptCap } from './command-agent.ts';
import type { Agent, AgentSessionOptions, AgentSessionResult } from './agent.ts';
import type { StreamParser } from './parsers/parser.ts';

/** What one session of a JSON-lines CLI agent runs. */
export interface PreparedCommand {
  readonly command: readonly string[];
  /** Variables this agent needs (config dirs, its endpoint, its credential); they pass the sandbox. */
  readonly env: Readonly<Record<string, string>>;
  readonly stdin?: string;
}

export interface StreamAgentSpec {
  readonly id: string;
  readonly binary: string;
  prepare(session: AgentSessionOptions): PreparedCommand;
  parser(): StreamParser;
  /** End a session that prints nothing for this long (a hung stream). */
  readonly idleTimeoutMs: number;
  /** How long an agent may linger after its final event before its process group is ended. */
  readonly graceAfterFinalMs: number;
}

/** Where a CLI is: an absolute path as given, else on PATH, else in the baton package's node_modules/.bin. */
export function resolveBinary(name: string, path = process.env.PATH): string {
  if (isAbsolute(name)) return name;
  for (const folder of (path ?? '').split(delimiter)) {
    if (folder !== '' && existsSync(join(folder, name))) return join(folder, name);
  }
  const bundled = fileURLToPath(new URL(`../../node_modules/.bin/${name}`, import.meta.url));
  return existsSync(bundled) ? bundled : name;
}

function missing(binary: string, detail: string): BatonError {
  if (findOnHost(binary) !== undefined) return agentMissingError(binary, detail);
  return new BatonError(`the agent CLI ${binary} could not be started: ${detail}`, {
    code: 'AGENT_MISSING',
    fix: `install it (e.g. npm install -g the agent's package) or set agent.binary in baton.yaml to its path`,
  });
}

/**
 * An agent CLI that prints JSON lines (Claude Code, Codex, Gemini CLI, opencode): spawned sandboxed in
 * its own process group with stdin closed (or given the prompt), its lines parsed as they arrive, a
 * watchdog for a silent stream, and a grace period after its final event, after which a lingering
 * process is ended. The full output is the transcript.
 */
export function createStreamAgent(spec: StreamAgentSpec): Agent {
  return {
    specificationVersion: 'agent-v1',
    id: spec.id,
    async startSession(session: AgentSessionOptions): Promise<AgentSessionResult> {
      const prepared = spec.prepare(session);
      const parser = spec.parser();
      const wrapped = session.sandbox.wrap({
        command: prepared.command,
        env: { ...session.env, ...prepared.env },
        writable: [session.sessionDir],
        passEnv: Object.keys(prepared.env),
        workspace: session.cwd,
        ...(session.writableInside === undefined ? {} : { writableInside: session.writableInside }),
      });
      const finish = new AbortController();
      let endedAfterFinal = false;
      let pending = '';
      let discarding = false;
      const onLine = (line: string): void => {
        const trimmed = line.trim();
        if (!trimmed.startsWith('{')) return;
        try {
          parser.onEvent(JSON.parse(trimmed) as Record<string, unknown>);
        } catch {
          return; // A torn or foreign line: it stays in the transcript.
        }
        if (parser.finished && !endedAfterFinal) {
          endedAfterFinal = true;
          setTimeout(() => {
            finish.abort();
          }, spec.graceAfterFinalMs).unref();
        }
      };
      const result = await runProcess({
        command: wrapped.command,
        cwd: session.cwd,
        env: wrapped.env,
        timeoutMs: session.timeoutMs,
        signal: session.signal,
        outputFile: session.transcriptPath,
        outputCap: transcriptCap,
        idleTimeoutMs: spec.idleTimeoutMs,
        finish: finish.signal,
        onStdout: (text) => {
          const pieces = text.split('\n');
          const last = pieces.pop() ?? '';
          for (const piece of pieces) {
            const line = pending + piece;
            pending = '';
            if (discarding) discarding = false;
            else onLine(line);
          }
          if (discarding) return;
          pending += last;
          // A line that never ends must not grow without bound: it stays in the transcript, unparsed,
          // and so does its rest, which must not be mistaken for an event of its own.
          if (pending.length > ioLimits.maxStreamLineBytes) {
            pending = '';
            discarding = true;
          }
        },
        ...(prepared.stdin === undefined ? {} : { stdin: prepared.stdin }),
        ...(session.onStart === undefined ? {} : { onStart: session.onStart }),
      });
      wrapped.release();
      if (pending !== '') onLine(pending);
      if (result.spawnError !== undefined) throw missing(spec.binary, result.spawnError);
      if (result.exitCode === 127 && !parser.finished && /not found|No such file/i.test(result.output)) {
        throw missing(spec.binary, tail(result.output.trim(), 300));
      }
      const parsed = parser.outcome({
        exitCode: parser.finished && finish.signal.aborted ? 0 : result.exitCode,
        timedOut: result.timedOut,
        idle: result.idle,
        aborted: result.aborted,
        endedAfterFinalEvent: finish.signal.aborted,
        stderrTail: tail(result.output, 2_000),
      });
      return {
        status: parsed.status,
        exitCode: result.exitCode,
        durationMs: result.durationMs,
        usage: parsed.usage,
        transcriptPath: session.transcriptPath,
        finalMessage: sanitizeText(parsed.finalMessage),
        error: parsed.error,
        turns: parsed.turns,
        sessionId: parsed.sessionId,
        rateLimit: parsed.rateLimit,
      };
    },
  };
}
