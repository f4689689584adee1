import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AgentSessionResult } from '../agents/agent.ts';
import { activeAgent, type LoopContext } from './context.ts';

/** Start one fresh worker session; its pid is recorded as soon as the process exists. */
export async function startWorkerSession(
  context: LoopContext,
  iteration: number,
  prompt: string,
  dir: string,
): Promise<AgentSessionResult> {
  const agent = activeAgent(context);
  const sessionDir = mkdtempSync(join(tmpdir(), 'baton-session-'));
  try {
    return await agent.startSession({
      prompt,
      cwd: context.workspace,
      env: {
        ...context.env,
        BATON_RUN_ID: context.runId,
        BATON_ITERATION: String(iteration),
        BATON_WORKSPACE: context.workspace,
      },
      timeoutMs: context.agentTimeoutMs,
      signal: context.signal,
      transcriptPath: join(dir, 'transcript.log'),
      sessionDir,
      onStart: (pid) => {
        context.emit({ type: 'agent.started', iteration, agent: agent.id, pid });
      },
    });
  } finally {
    rmSync(sessionDir, { recursive: true, force: true });
  }
}
