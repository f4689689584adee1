import { writeFileSync } from 'node:fs';
import type { Agent, AgentSessionOptions, AgentSessionResult } from '../agents/agent.ts';
import { emptyUsage } from '../log/reducer.ts';

export type AgentFunction = (
  session: AgentSessionOptions,
) => Promise<string | undefined> | string | undefined;

/**
 * An in-process agent for tests and benchmarks: a function that edits the workspace and returns its
 * handoff note. No process is started, so it measures the harness alone.
 */
export function createFunctionAgent(work: AgentFunction, id = 'function'): Agent {
  return {
    specificationVersion: 'agent-v1',
    id,
    async startSession(session: AgentSessionOptions): Promise<AgentSessionResult> {
      const started = performance.now();
      const message = (await work(session)) ?? '';
      writeFileSync(session.transcriptPath, `${message}\n`);
      return {
        status: 'completed',
        exitCode: 0,
        durationMs: performance.now() - started,
        usage: emptyUsage,
        transcriptPath: session.transcriptPath,
        finalMessage: message,
        error: undefined,
      };
    },
  };
}
