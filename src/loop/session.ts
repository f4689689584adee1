import { join } from 'node:path';
import type { Agent, AgentSessionResult } from '../agents/agent.ts';
import { runAgentSession, withRateLimitRetries } from '../core/session.ts';
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

/** One fresh session of an agent on the run's workspace (the serial loop's and the planner's). */
export function startSession(
  context: LoopContext,
  agent: Agent,
  request: SessionRequest,
): Promise<AgentSessionResult> {
  return runAgentSession({
    agent,
    sandbox: context.sandbox,
    identity: {
      runId: context.runId,
      role: request.role,
      workspace: context.workspace,
      iteration: request.iteration,
    },
    prompt: request.prompt,
    env: context.env,
    timeoutMs: context.agentTimeoutMs,
    signal: context.signal,
    transcriptPath: request.transcriptPath,
    ...(request.onStart === undefined ? {} : { onStart: request.onStart }),
  });
}

/**
 * Start one fresh worker session; its pid is recorded as soon as the process exists. A rate-limited
 * session is retried after a wait (core/session.ts), its partial work kept under a ref.
 */
export async function startWorkerSession(
  context: LoopContext,
  iteration: number,
  prompt: string,
  dir: string,
): Promise<AgentSessionResult> {
  const agent = activeAgent(context);
  const startCommit = (await headCommit(context.workspace)) ?? '';
  const { result } = await withRateLimitRetries({
    start: (attempt) =>
      startSession(context, agent, {
        iteration,
        prompt,
        role: 'worker',
        transcriptPath: join(dir, attempt === 1 ? 'transcript.log' : `transcript-retry-${attempt - 1}.log`),
        onStart: (pid) => {
          context.emit({ type: 'agent.started', iteration, agent: agent.id, pid });
        },
      }),
    setAside: (attempt) =>
      saveAndReset(
        context.workspace,
        `refs/baton/rate-limited/${context.runId}/${iteration}-${attempt}`,
        startCommit,
        `baton: partial work of a rate-limited session (iteration ${iteration})`,
      ),
    limits: context.config.rateLimits,
    signal: context.signal,
    onWait: (wait) => {
      context.emit({
        type: 'agent.rate-limited',
        iteration,
        attempt: wait.attempt,
        message: wait.message,
        waitMs: wait.waitMs,
        savedAs: wait.savedAs,
      });
    },
  });
  return result;
}
