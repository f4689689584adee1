import { ok, strictEqual } from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Agent, AgentSessionResult } from '../../agents/agent.ts';
import { noSandbox } from '../../sandbox/sandbox.ts';
import { liveGroupMembers } from '../../util/process-group.ts';
import { startFakeModelServer, type FakeModelServer } from '../fake-model/index.ts';
import type { FakeModelScriptInput } from '../fake-model/script.ts';
import { createRecordingSandbox, type RecordingSandbox } from '../recording-sandbox.ts';
import { waitUntil, withTempFolder, type ContractTestApi } from './test-api.ts';

/**
 * What a session of the agent under test must do. `works`: run a shell command that writes `ok` to
 * `contract.txt` in its workspace, report some usage (at least one input token), and end with a handoff
 * note containing `contract done`. `hangs`: start and never end by itself.
 */
export type AgentContractBehaviour = 'works' | 'hangs';

export interface AgentContractSetup {
  readonly behaviour: AgentContractBehaviour;
  /**
   * A fake model server already scripted for the behaviour, for agents that talk to a model: it asks for
   * the shell tool (`Bash`, `exec_command` or `bash`, whichever the request offers), then answers
   * `contract done`; or it never answers.
   */
  readonly model: FakeModelServer;
  /** A folder for the agent's own files (a script), outside the workspace; removed after the test. */
  readonly dir: string;
}

export interface AgentContractOptions extends ContractTestApi {
  /** Added to each session's environment (this process's): an API key for the fake model, say. */
  readonly env?: NodeJS.ProcessEnv;
  /** The time limit of a session that hangs (default 2 s; a CLI that starts slowly may need more). */
  readonly hangTimeoutMs?: number;
  /** Each test's own limit (default 120 s). */
  readonly testTimeoutMs?: number;
}

const marker = 'contract done';
const command = "printf 'ok\\n' > contract.txt";

/** The fake model's side of `works`, in the tool names of Claude Code, Codex and the builtin agent. */
const workingModel: FakeModelScriptInput = {
  rules: [
    {
      name: 'bash (claude-code)',
      when: { toolsInclude: ['Bash'], hasToolResult: false },
      reply: { toolCalls: [{ name: 'Bash', input: { command, description: 'write contract.txt' } }] },
    },
    {
      name: 'exec_command (codex)',
      when: { toolsInclude: ['exec_command'], hasToolResult: false },
      reply: { toolCalls: [{ name: 'exec_command', input: { cmd: command } }] },
    },
    {
      name: 'bash (builtin)',
      when: { toolsInclude: ['bash'], hasToolResult: false },
      reply: { toolCalls: [{ name: 'bash', input: { command } }] },
    },
    {
      name: 'finish',
      when: { hasToolResult: true },
      reply: { text: `Wrote contract.txt.\n${marker}`, usage: { inputTokens: 300, outputTokens: 40 } },
    },
  ],
  otherwise: { text: marker },
};

const hangingModel: FakeModelScriptInput = { rules: [{ name: 'hang', reply: { fault: 'hang' } }] };

interface Session {
  readonly result: AgentSessionResult;
  readonly workspace: string;
  readonly transcriptPath: string;
  readonly sandbox: RecordingSandbox;
  /** Every process group the session started (reported by onStart, or seen starting in the sandbox). */
  readonly groups: readonly number[];
}

interface SessionPlan {
  readonly behaviour: AgentContractBehaviour;
  readonly timeoutMs: number;
  /** Abort the session once the agent is seen running. */
  readonly abortWhenRunning?: boolean;
}

type MakeAgent = (setup: AgentContractSetup) => Agent | Promise<Agent>;

async function runSession(
  folder: string,
  makeAgent: MakeAgent,
  options: AgentContractOptions,
  plan: SessionPlan,
): Promise<Session> {
  const model = await startFakeModelServer({
    script: plan.behaviour === 'works' ? workingModel : hangingModel,
  });
  try {
    const workspace = join(folder, 'workspace');
    const sessionDir = join(folder, 'session');
    const dir = join(folder, 'agent');
    for (const path of [workspace, sessionDir, dir]) mkdirSync(path);
    const agent = await makeAgent({ behaviour: plan.behaviour, model, dir });
    const sandbox = createRecordingSandbox(noSandbox, folder);
    const started: number[] = [];
    const abort = new AbortController();
    const transcriptPath = join(folder, 'transcript.log');
    const session = agent.startSession({
      prompt: `Write ok to contract.txt with a shell command, then say "${marker}".`,
      cwd: workspace,
      env: { ...process.env, ...options.env },
      timeoutMs: plan.timeoutMs,
      signal: abort.signal,
      transcriptPath,
      sessionDir,
      sandbox,
      onStart: (pid) => started.push(pid),
    });
    if (plan.abortWhenRunning === true) {
      let ended = false;
      void session.finally(() => (ended = true)).catch(() => undefined);
      await waitUntil(
        'the agent to start (a process, a wrap or a model request)',
        () => ended || started.length > 0 || sandbox.requests.length > 0 || model.requests.length > 0,
        plan.timeoutMs,
      );
      abort.abort();
    }
    const result = await session;
    return {
      result,
      workspace,
      transcriptPath,
      sandbox,
      groups: [...new Set([...started, ...sandbox.startedPids()])],
    };
  } finally {
    await model.close();
  }
}

function assertCompleted(result: AgentSessionResult): void {
  strictEqual(result.status, 'completed', `the session ended ${result.status}: ${result.error ?? ''}`);
}

function assertGroupsReaped(session: Session): void {
  for (const group of session.groups) {
    const live = liveGroupMembers(group);
    strictEqual(live.length, 0, `process group ${group} still has live members ${live.join(', ')}`);
  }
}

/**
 * The Agent contract, for any adapter: a session does its work in its workspace and reports it; every
 * process it starts runs in the sandbox the session was handed; its time limit and the abort signal end
 * it with the right status and nothing of it left running.
 *
 * @example
 * import { describe, it } from 'vitest';
 * import { describeAgentContract, createScriptedAgent } from 'baton/testing';
 *
 * describeAgentContract('my agent', ({ behaviour, model }) => createMyAgent(model.url, behaviour), {
 *   describe,
 *   it,
 * });
 */
export function describeAgentContract(
  name: string,
  makeAgent: MakeAgent,
  options: AgentContractOptions,
): void {
  const { describe, it } = options;
  const hangTimeoutMs = options.hangTimeoutMs ?? 2_000;
  const testTimeoutMs = options.testTimeoutMs ?? 120_000;
  const workingSession = (folder: string): Promise<Session> =>
    runSession(folder, makeAgent, options, { behaviour: 'works', timeoutMs: testTimeoutMs / 2 });

  describe(`${name}: the agent contract`, () => {
    it(
      'is a version 1 agent with a stable id',
      () =>
        withTempFolder('baton-agent-contract-', async (folder) => {
          const model = await startFakeModelServer({ script: workingModel });
          try {
            const agent = await makeAgent({ behaviour: 'works', model, dir: folder });
            strictEqual(agent.specificationVersion, 'agent-v1');
            ok(agent.id.length > 0, 'the agent has an id');
          } finally {
            await model.close();
          }
        }),
      testTimeoutMs,
    );

    it(
      'completes a session: does the work in its workspace, writes the transcript, returns its handoff note and usage',
      () =>
        withTempFolder('baton-agent-contract-', async (folder) => {
          const { result, workspace, transcriptPath } = await workingSession(folder);
          assertCompleted(result);
          strictEqual(result.error, undefined);
          strictEqual(readFileSync(join(workspace, 'contract.txt'), 'utf8'), 'ok\n');
          strictEqual(result.transcriptPath, transcriptPath);
          ok(existsSync(transcriptPath) && statSync(transcriptPath).size > 0, 'the transcript was written');
          ok(
            result.finalMessage.includes(marker),
            `the handoff note says "${marker}": ${result.finalMessage}`,
          );
          ok(result.durationMs >= 0);
          for (const [key, value] of Object.entries(result.usage)) {
            ok(Number.isFinite(value) && value >= 0, `usage.${key} is a count: ${value}`);
          }
          ok(result.usage.inputTokens > 0, 'the session reported the usage it had');
        }),
      testTimeoutMs,
    );

    it(
      'runs every process it starts in the sandbox the session was given, in its workspace, and releases each wrap',
      () =>
        withTempFolder('baton-agent-contract-', async (folder) => {
          const { result, workspace, sandbox } = await workingSession(folder);
          assertCompleted(result);
          ok(sandbox.requests.length > 0, 'the agent wrapped its command in the sandbox');
          ok(sandbox.startedPids().length > 0, 'a process started from what the sandbox returned');
          for (const request of sandbox.requests) strictEqual(request.workspace, workspace);
          strictEqual(sandbox.releases, sandbox.requests.length, 'every wrap was released');
        }),
      testTimeoutMs,
    );

    it(
      'ends a session that outlives its time limit as timed-out, with its process group reaped',
      () =>
        withTempFolder('baton-agent-contract-', async (folder) => {
          const session = await runSession(folder, makeAgent, options, {
            behaviour: 'hangs',
            timeoutMs: hangTimeoutMs,
          });
          strictEqual(session.result.status, 'timed-out', session.result.error);
          ok(session.result.error !== undefined, 'a timed-out session says why');
          assertGroupsReaped(session);
        }),
      testTimeoutMs,
    );

    it(
      'ends an aborted session as aborted, long before its time limit, with its process group reaped',
      () =>
        withTempFolder('baton-agent-contract-', async (folder) => {
          const started = performance.now();
          const session = await runSession(folder, makeAgent, options, {
            behaviour: 'hangs',
            timeoutMs: testTimeoutMs / 2,
            abortWhenRunning: true,
          });
          strictEqual(session.result.status, 'aborted', session.result.error);
          ok(
            performance.now() - started < testTimeoutMs / 2,
            'the abort ended the session, not its time limit',
          );
          assertGroupsReaped(session);
        }),
      testTimeoutMs,
    );
  });
}
