import { mkdtempSync, rmSync } from 'node:fs';
import { sleep } from '../util/sleep.ts';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Agent, AgentSessionResult } from '../agents/agent.ts';
import { headCommit } from '../git/git.ts';
import { activeAgent, type LoopContext } from './context.ts';
import { saveAndReset } from './rollback.ts';

export interface SessionRequest {
  readonly iteration: number;
  readonly prompt: string;
  readonly transcriptPath: string;
  /** Told to the agent as BATON_ROLE ("worker" or "planner"). */
  readonly role: 'worker' | 'planner';
  readonly onStart?: (pid: number) => void;
}

/** Start one fresh session of an agent, with the run's identity in its environment and a scratch folder outside the workspace. */
export async function startSession(
  context: LoopContext,
  agent: Agent,
  request: SessionRequest,
): Promise<AgentSessionResult> {
  const sessionDir = mkdtempSync(join(tmpdir(), `baton-${request.role}-`));
  try {
    return await agent.startSession({
      prompt: request.prompt,
      cwd: context.workspace,
      env: {
        ...context.env,
        BATON_RUN_ID: context.runId,
        BATON_ITERATION: String(request.iteration),
        BATON_WORKSPACE: context.workspace,
        BATON_ROLE: request.role,
      },
      timeoutMs: context.agentTimeoutMs,
      signal: context.signal,
      transcriptPath: request.transcriptPath,
      sessionDir,
      ...(request.onStart === undefined ? {} : { onStart: request.onStart }),
    });
  } finally {
    rmSync(sessionDir, { recursive: true, force: true });
  }
}

/** Exponential backoff from the config, at least what the provider asked for. */
export function rateLimitWaitMs(
  limits: LoopContext['config']['rateLimits'],
  attempt: number,
  retryAfterMs: number | undefined,
): number {
  const backoff = Math.min(limits.maxBackoffMs, limits.initialBackoffMs * 2 ** (attempt - 1));
  return Math.min(limits.maxBackoffMs, Math.max(backoff, retryAfterMs ?? 0));
}

/**
 * Start one fresh worker session; its pid is recorded as soon as the process exists. A session that
 * ended on a rate limit or a usage limit is not a failed iteration: its partial work is put aside, the
 * harness waits (exponential backoff, at least the provider's retry-after) and runs the same iteration
 * again, up to rateLimits.retries times.
 */
export async function startWorkerSession(
  context: LoopContext,
  iteration: number,
  prompt: string,
  dir: string,
): Promise<AgentSessionResult> {
  const agent = activeAgent(context);
  const startCommit = (await headCommit(context.workspace)) ?? '';
  for (let attempt = 1; ; attempt += 1) {
    const result = await startSession(context, agent, {
      iteration,
      prompt,
      role: 'worker',
      transcriptPath: join(dir, attempt === 1 ? 'transcript.log' : `transcript-retry-${attempt - 1}.log`),
      onStart: (pid) => {
        context.emit({ type: 'agent.started', iteration, agent: agent.id, pid });
      },
    });
    const limit = result.rateLimit;
    if (limit === undefined || attempt > context.config.rateLimits.retries || context.signal.aborted) {
      return result;
    }
    const savedAs = await saveAndReset(
      context.workspace,
      `refs/baton/rate-limited/${context.runId}/${iteration}-${attempt}`,
      startCommit,
      `baton: partial work of a rate-limited session (iteration ${iteration})`,
    );
    const waitMs = rateLimitWaitMs(context.config.rateLimits, attempt, limit.retryAfterMs);
    context.emit({ type: 'agent.rate-limited', iteration, attempt, message: limit.message, waitMs, savedAs });
    await sleep(waitMs, context.signal);
  }
}
