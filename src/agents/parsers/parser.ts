import type { AgentSessionStatus } from '../agent.ts';
import type { Usage } from '../../log/events.ts';

/** How the process ended, as the parser needs to know it. */
export interface ProcessEnd {
  readonly exitCode: number | null;
  readonly timedOut: boolean;
  readonly idle: boolean;
  readonly aborted: boolean;
  /** The harness ended it after its final event (it lingered). */
  readonly endedAfterFinalEvent: boolean;
  readonly stderrTail: string;
}

/** What an agent's machine output says about its session, the same for every agent. */
export interface ParsedSession {
  readonly status: AgentSessionStatus;
  readonly isError: boolean;
  readonly turns: number | undefined;
  readonly sessionId: string | undefined;
  readonly usage: Usage;
  readonly finalMessage: string;
  readonly error: string | undefined;
  readonly rateLimit: { readonly message: string; readonly retryAfterMs: number | undefined } | undefined;
}

/** A parser of one agent's JSON-lines output: fed line by line, asked for the outcome at the end. */
export interface StreamParser {
  onEvent(event: Record<string, unknown>): void;
  /** The agent printed its terminal event (after which it should exit). */
  readonly finished: boolean;
  outcome(end: ProcessEnd): ParsedSession;
}

export const rateLimitPattern = /\b429\b|rate.?limit|usage limit|too many requests|quota/i;

export function field(value: unknown, ...path: string[]): unknown {
  let current = value;
  for (const key of path) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

export const num = (value: unknown): number =>
  typeof value === 'number' && Number.isFinite(value) ? value : 0;
export const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

/** The status when the process itself says it did not end well. */
export function processStatus(end: ProcessEnd): AgentSessionStatus | undefined {
  if (end.timedOut || end.idle) return 'timed-out';
  if (end.aborted) return 'aborted';
  return undefined;
}

export function processProblem(end: ProcessEnd): string | undefined {
  if (end.timedOut) return 'the session ran past its time limit';
  if (end.idle) return 'the agent printed nothing for too long (hung stream)';
  if (end.aborted) return 'the session was aborted';
  return undefined;
}
