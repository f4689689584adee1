import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Agent, AgentSessionResult } from '../agents/agent.ts';
import { activeAgent, type LoopContext } from './context.ts';

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

/** Start one fresh worker session; its pid is recorded as soon as the process exists. */
export async function startWorkerSession(
  context: LoopContext,
  iteration: number,
  prompt: string,
  dir: string,
): Promise<AgentSessionResult> {
  const agent = activeAgent(context);
  return startSession(context, agent, {
    iteration,
    prompt,
    role: 'worker',
    transcriptPath: join(dir, 'transcript.log'),
    onStart: (pid) => {
      context.emit({ type: 'agent.started', iteration, agent: agent.id, pid });
    },
  });
}
