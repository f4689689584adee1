import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Agent, AgentSessionResult } from '../agents/agent.ts';
import type { Config } from '../config/resolve.ts';
import { batonEnvAllowlist } from '../sandbox/policy.ts';
import type { Sandbox } from '../sandbox/sandbox.ts';
import { sleep } from '../util/sleep.ts';
import { sanitizeText } from '../util/text.ts';

/** Who a session is, told to it through its environment (the variables docs/agents.md lists). */
export interface SessionIdentity {
  readonly runId: string;
  readonly role: 'worker' | 'planner' | 'initializer';
  /** The checkout the session works in (the workspace, or a task's worktree). */
  readonly workspace: string;
  /** The serial loop's iteration. */
  readonly iteration?: number;
  /** A parallel task attempt: which task, which attempt, which worker slot and its ports. */
  readonly task?: {
    readonly id: string;
    readonly attempt: number;
    readonly slot: number;
    readonly portBase: number;
    readonly portCount: number;
  };
}

/** The session's environment: the harness's base, who it is, and its own scratch folder as TMPDIR. */
export function sessionEnvironment(
  base: NodeJS.ProcessEnv,
  identity: SessionIdentity,
  scratch: string,
): NodeJS.ProcessEnv {
  const { task } = identity;
  // Who the session is comes from the harness alone: a BATON_TASK_ID left in the harness's own
  // environment must not tell a serial worker it is a parallel task.
  const inherited = Object.fromEntries(
    Object.entries(base).filter(([name]) => !batonEnvAllowlist.includes(name)),
  );
  return {
    ...inherited,
    BATON_RUN_ID: identity.runId,
    BATON_ROLE: identity.role,
    BATON_WORKSPACE: identity.workspace,
    ...(identity.iteration === undefined ? {} : { BATON_ITERATION: String(identity.iteration) }),
    ...(task === undefined
      ? {}
      : {
          BATON_TASK_ID: task.id,
          BATON_TASK_ATTEMPT: String(task.attempt),
          BATON_WORKER: String(task.slot),
          BATON_PORT_BASE: String(task.portBase + (task.slot - 1) * task.portCount),
          BATON_PORT_COUNT: String(task.portCount),
        }),
    TMPDIR: scratch,
  };
}

export interface SessionRequest {
  readonly agent: Agent;
  /** Where the session's processes run; the agent is handed it for this session only. */
  readonly sandbox: Sandbox;
  readonly identity: SessionIdentity;
  readonly prompt: string;
  readonly env: NodeJS.ProcessEnv;
  readonly timeoutMs: number;
  readonly signal: AbortSignal;
  readonly transcriptPath: string;
  /** Folders of the checkout the session may write (a task's scope); absent: all of it. */
  readonly writableInside?: readonly string[] | undefined;
  readonly onStart?: (pid: number) => void;
}

/**
 * One fresh session of an agent, in every mode: its identity in the environment, a scratch folder
 * outside the checkout (its TMPDIR, the prompt and handoff files), removed when the session ends.
 */
export async function runAgentSession(request: SessionRequest): Promise<AgentSessionResult> {
  const sessionDir = mkdtempSync(join(tmpdir(), `baton-${request.identity.role}-`));
  const scratch = join(sessionDir, 'tmp');
  mkdirSync(scratch);
  try {
    const result = await request.agent.startSession({
      prompt: request.prompt,
      cwd: request.identity.workspace,
      env: sessionEnvironment(request.env, request.identity, scratch),
      timeoutMs: request.timeoutMs,
      signal: request.signal,
      transcriptPath: request.transcriptPath,
      sessionDir,
      sandbox: request.sandbox,
      ...(request.writableInside === undefined ? {} : { writableInside: request.writableInside }),
      ...(request.onStart === undefined ? {} : { onStart: request.onStart }),
    });
    // The handoff is worker-written text that lands in commits, PROGRESS.md, the log and the next prompt.
    return { ...result, finalMessage: sanitizeText(result.finalMessage) };
  } finally {
    rmSync(sessionDir, { recursive: true, force: true });
  }
}

/** Exponential backoff from the config, at least what the provider asked for. */
export function rateLimitWaitMs(
  limits: Config['rateLimits'],
  attempt: number,
  retryAfterMs: number | undefined,
): number {
  const backoff = Math.min(limits.maxBackoffMs, limits.initialBackoffMs * 2 ** (attempt - 1));
  return Math.min(limits.maxBackoffMs, Math.max(backoff, retryAfterMs ?? 0));
}

export interface RateLimitWait {
  readonly attempt: number;
  readonly message: string;
  readonly waitMs: number;
  /** The ref the limited session's partial work was kept under (null: it changed nothing). */
  readonly savedAs: string | null;
}

/**
 * A session that ended on a rate or usage limit is not a failure: its partial work is set aside under a
 * ref (refused, never deleted), the harness waits (backoff, at least the provider's retry-after) and
 * starts the same session again, up to `rateLimits.retries` times. Same in every mode.
 */
export async function withRateLimitRetries(options: {
  readonly start: (attempt: number) => Promise<AgentSessionResult>;
  readonly setAside: (attempt: number) => Promise<string | null>;
  readonly limits: Config['rateLimits'];
  readonly signal: AbortSignal;
  readonly onWait?: (wait: RateLimitWait) => void;
}): Promise<{ readonly result: AgentSessionResult; readonly waits: number }> {
  for (let attempt = 1; ; attempt += 1) {
    const result = await options.start(attempt);
    const limit = result.rateLimit;
    if (limit === undefined || attempt > options.limits.retries || options.signal.aborted) {
      return { result, waits: attempt - 1 };
    }
    const savedAs = await options.setAside(attempt);
    const waitMs = rateLimitWaitMs(options.limits, attempt, limit.retryAfterMs);
    options.onWait?.({ attempt, message: limit.message, waitMs, savedAs });
    await sleep(waitMs, options.signal);
  }
}
