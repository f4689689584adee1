import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Agent, AgentSessionOptions, AgentSessionResult } from '../src/agents/agent.ts';
import { readRun } from '../src/api/inspect.ts';
import { runLoop } from '../src/api/run.ts';
import { formatEvent } from '../src/cli/format.ts';
import { createFunctionAgent } from '../src/testing/function-agent.ts';
import { taskPlan } from '../src/testing/task-plan.ts';
import { feature, git, makeWorkspace } from './helpers.ts';

/** A planner that spends tokens, and either fails or writes what `work` writes. */
function spendingPlanner(
  status: AgentSessionResult['status'],
  work: (cwd: string) => void = () => undefined,
): Agent {
  return {
    specificationVersion: 'agent-v1',
    id: 'planner',
    startSession(session: AgentSessionOptions): Promise<AgentSessionResult> {
      work(session.cwd);
      writeFileSync(session.transcriptPath, 'planned\n');
      return Promise.resolve({
        status,
        exitCode: status === 'completed' ? 0 : 1,
        durationMs: 1,
        usage: { inputTokens: 1_000, outputTokens: 500, cachedInputTokens: 0, costUsd: 0.25 },
        transcriptPath: session.transcriptPath,
        finalMessage: status === 'completed' ? 'planned' : '',
        error: status === 'completed' ? undefined : 'API Error: Connection refused',
      });
    },
  };
}

describe('planner sessions are first-class sessions', () => {
  it('serial: a failed planning pass is reported as failed, and its tokens count in the budgets', async () => {
    const workspace = await makeWorkspace({
      features: [feature('F1', 'test -f a.txt'), feature('F2', 'test -f b.txt')],
    });
    appendFileSync(join(workspace, 'baton.yaml'), 'guards:\n  replanEvery: 1\n');
    git(workspace, 'commit', '-qam', 'replan every iteration');
    let sessions = 0;
    const worker = createFunctionAgent(({ cwd }) => {
      sessions += 1;
      writeFileSync(join(cwd, sessions === 1 ? 'a.txt' : 'b.txt'), 'x\n');
      return 'made a file';
    });
    const result = await runLoop({ workspace, agent: worker, planner: spendingPlanner('failed') });
    expect(result.stop.reason).toBe('done');
    const { events, state } = readRun(workspace);
    const refreshed = events.filter((event) => event.type === 'plan.refreshed');
    expect(refreshed).toHaveLength(1);
    expect(refreshed[0]?.type === 'plan.refreshed' && refreshed[0].session?.status).toBe('failed');
    const first = refreshed[0];
    expect(first === undefined ? '' : formatEvent(first)).toContain(
      'the planner session (planner) failed: API Error',
    );
    // The worker spent nothing: every token in the run's total is the planner's.
    expect(state.usage).toMatchObject({ inputTokens: 1_000, outputTokens: 500, costUsd: 0.25 });
  });

  it("parallel: the planner's sessions count in the run's usage, refused and accepted plans alike", async () => {
    const workspace = await makeWorkspace({ features: [feature('F-a', 'test -f src/a.txt')] });
    appendFileSync(join(workspace, 'baton.yaml'), 'parallel:\n  workers: 1\n');
    git(workspace, 'commit', '-qam', 'parallel');
    let plans = 0;
    const planner = spendingPlanner('completed', (cwd) => {
      plans += 1;
      // The first plan names a feature that does not exist: refused; the second is accepted.
      const features = plans === 1 ? ['F-missing'] : ['F-a'];
      writeFileSync(
        join(cwd, 'TASKS.json'),
        JSON.stringify(taskPlan([{ id: 'a', features, scope: ['src/**'] }])),
      );
    });
    const worker = createFunctionAgent(({ cwd }) => {
      mkdirSync(join(cwd, 'src'), { recursive: true });
      writeFileSync(join(cwd, 'src/a.txt'), 'a\n');
      return 'wrote src/a.txt';
    });
    const result = await runLoop({ workspace, agent: worker, planner });
    expect(result.stop.reason).toBe('done');
    const { events, state } = readRun(workspace);
    expect(events.filter((event) => event.type === 'plan.refused')).toHaveLength(1);
    expect(state.usage).toMatchObject({ inputTokens: 2_000, outputTokens: 1_000, costUsd: 0.5 });
  });
});
