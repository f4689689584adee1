import { spawn } from 'node:child_process';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { runLoop } from '../src/api/run.ts';
import { readEventLog } from '../src/log/event-log.ts';
import type { RunEvent } from '../src/log/events.ts';
import { startFakeModelServer, type FakeModelServer } from '../src/testing/fake-model/index.ts';
import type { FakeModelScriptInput } from '../src/testing/fake-model/script.ts';
import { readFeatureList } from '../src/workspace/features.ts';
import { eventLogPath } from '../src/workspace/paths.ts';
import { checkOutRunBranch, feature, git, makeWorkspace } from './helpers.ts';

/**
 * The real agents through baton, offline: the pinned Claude Code and Codex CLIs and the builtin agent
 * talk to the fake model server on 127.0.0.1, edit the workspace with their own tools, and the harness
 * verifies and judges as for any worker. Faults end in the harness responses docs/agents.md describes.
 */
type Rule = FakeModelScriptInput['rules'][number];
const bin = fileURLToPath(new URL('../bin/baton.js', import.meta.url));

const workRules: Rule[] = [
  {
    name: 'claude edits',
    when: { toolsInclude: ['Bash'], hasToolResult: false },
    reply: {
      text: 'Creating done.txt.',
      toolCalls: [
        { name: 'Bash', input: { command: "printf 'ok\\n' > done.txt", description: 'create done.txt' } },
      ],
    },
  },
  {
    name: 'codex edits',
    when: { toolsInclude: ['exec_command'], hasToolResult: false },
    reply: { toolCalls: [{ name: 'exec_command', input: { cmd: "printf 'ok\\n' > done.txt" } }] },
  },
  {
    name: 'builtin reads',
    when: { toolsInclude: ['bash', 'write'], hasToolResult: false },
    reply: { toolCalls: [{ name: 'read', input: { path: 'README.md' } }] },
  },
  {
    name: 'builtin writes',
    when: { toolResultIncludes: '# project' },
    reply: { toolCalls: [{ name: 'write', input: { path: 'done.txt', content: 'ok\n' } }] },
  },
  {
    name: 'builtin checks',
    when: { toolResultIncludes: 'wrote done.txt' },
    reply: { toolCalls: [{ name: 'bash', input: { command: 'cat done.txt' } }] },
  },
  {
    name: 'finish',
    when: { hasToolResult: true },
    reply: {
      text: 'Created done.txt and checked it.\nCLAIM: DONE',
      usage: { inputTokens: 300, outputTokens: 40 },
    },
  },
];

async function fakeServer(rules: Rule[]): Promise<FakeModelServer> {
  const server = await startFakeModelServer({ script: { rules } });
  onTestFinished(() => server.close());
  return server;
}

async function workspaceFor(agentYaml: string, extraYaml = ''): Promise<string> {
  const workspace = await makeWorkspace({
    features: [feature('F1', "grep -q '^ok$' done.txt")],
    // The oracle the judge requires: the file's content, checked by the harness, not claimed by the agent.
    oracles: [{ name: 'content', command: 'grep -qx ok done.txt' }],
    doneOracles: ['content'],
    agentYaml,
    budgets: { iterations: 1 },
  });
  // The agents reach the fake server on loopback: no sandbox network namespace for these runs.
  appendFileSync(
    join(workspace, 'baton.yaml'),
    `sandbox:\n  backend: none\nrateLimits:\n  retries: 2\n  initialBackoff: 200\n${extraYaml}`,
  );
  git(workspace, 'commit', '-qam', 'agent under test');
  return workspace;
}

const claudeYaml = (url: string, extra = ''): string =>
  `agent:\n  type: claude-code\n  model: claude-sonnet-4-5\n  baseUrl: ${url}\n  maxTurns: 4\n  timeout: 2m\n  env:\n    ANTHROPIC_API_KEY: sk-ant-fake\n    CLAUDE_CODE_MAX_RETRIES: "0"\n${extra}`;
const codexYaml = (url: string, extra = ''): string =>
  `agent:\n  type: codex\n  model: gpt-5\n  baseUrl: ${url}/v1\n  timeout: 2m\n  env:\n    BATON_CODEX_API_KEY: sk-fake\n${extra}`;

function events(workspace: string, runId: string): RunEvent[] {
  return readEventLog(eventLogPath(workspace, runId)).events;
}

function agentEnds(workspace: string, runId: string): Extract<RunEvent, { type: 'agent.ended' }>[] {
  return events(workspace, runId).filter(
    (event): event is Extract<RunEvent, { type: 'agent.ended' }> => event.type === 'agent.ended',
  );
}

describe('real agents against the fake model server', () => {
  it(
    'Claude Code edits the workspace with its Bash tool; the oracle passes and the judge says done',
    { timeout: 60_000 },
    async () => {
      const server = await fakeServer(workRules);
      const workspace = await workspaceFor(claudeYaml(server.url));
      const result = await runLoop({ workspace });
      expect(result.stop.reason).toBe('done');
      const [ended] = agentEnds(workspace, result.runId);
      expect(ended?.status).toBe('completed');
      expect(ended?.usage.inputTokens).toBeGreaterThan(0);
      expect(ended?.usage.costUsd).toBeGreaterThan(0);
      expect(ended?.claimedDone).toBe(true);
      expect(server.requests.every((request) => request.wire === 'anthropic')).toBe(true);
      expect(server.requests.map((request) => request.rule)).toEqual(['claude edits', 'finish']);
      const verdict = result.state.lastVerdict;
      expect(verdict?.done).toBe(true);
      expect(verdict?.reason).toContain('oracles content pass');
      checkOutRunBranch(workspace, result.state);
      const list = readFeatureList(workspace);
      expect(list.ok && list.list.features[0]?.status).toBe('passing');
    },
  );

  it(
    'Codex edits the workspace with exec_command over the Responses API; the judge says done',
    { timeout: 60_000 },
    async () => {
      const server = await fakeServer(workRules);
      const workspace = await workspaceFor(codexYaml(server.url));
      const result = await runLoop({ workspace });
      expect(result.stop.reason).toBe('done');
      const [ended] = agentEnds(workspace, result.runId);
      expect(ended?.status).toBe('completed');
      expect(ended?.usage.inputTokens).toBeGreaterThan(0);
      expect(ended?.usage.costUsd).toBeGreaterThan(0);
      expect(server.requests.map((request) => `${request.wire}:${request.rule}`)).toEqual([
        'responses:codex edits',
        'responses:finish',
      ]);
    },
  );

  it.each([
    [
      'anthropic',
      (url: string) =>
        `agent:\n  type: builtin\n  provider: anthropic\n  model: claude-sonnet-4-5\n  baseUrl: ${url}\n  maxTurns: 6\n`,
      'anthropic',
    ],
    [
      'openai-compatible',
      (url: string) =>
        `agent:\n  type: builtin\n  provider: openai-compatible\n  model: qwen2.5-coder\n  baseUrl: ${url}/v1\n  maxTurns: 6\n`,
      'chat',
    ],
  ] as const)(
    'the builtin agent completes a multi-turn task over %s',
    { timeout: 60_000 },
    async (_name, yaml, wire) => {
      const server = await fakeServer(workRules);
      const workspace = await workspaceFor(yaml(server.url));
      const result = await runLoop({
        workspace,
        env: { ...process.env, ANTHROPIC_API_KEY: 'sk-ant-fake', OPENAI_API_KEY: 'sk-fake' },
      });
      expect(result.stop.reason).toBe('done');
      expect(server.requests.map((request) => request.rule)).toEqual([
        'builtin reads',
        'builtin writes',
        'builtin checks',
        'finish',
      ]);
      expect(server.requests.every((request) => request.wire === wire)).toBe(true);
      const [ended] = agentEnds(workspace, result.runId);
      expect(ended?.usage.inputTokens).toBe(100 * 3 + 300);
      const transcript = readFileSync(
        join(workspace, '.baton', 'runs', result.runId, 'iterations', '00001', 'transcript.log'),
        'utf8',
      );
      expect(transcript).toContain('"tool":"bash"');
    },
  );

  describe.each([
    ['claude-code', claudeYaml],
    ['codex', codexYaml],
  ] as const)('%s faults', (_agent, yaml) => {
    it(
      'a 429 pauses the run and retries the same iteration, which then completes',
      { timeout: 90_000 },
      async () => {
        const server = await fakeServer([
          { name: 'limited', when: {}, reply: { fault: 'rate-limit', retryAfterSeconds: 0 }, maxUses: 2 },
          ...workRules,
        ]);
        const workspace = await workspaceFor(yaml(server.url));
        const result = await runLoop({ workspace });
        const all = events(workspace, result.runId);
        const waits = all.filter((event) => event.type === 'agent.rate-limited');
        expect(waits.length).toBeGreaterThanOrEqual(1);
        expect(result.stop.reason).toBe('done');
        expect(result.state.iterationsCompleted).toBe(1);
        expect(result.state.rateLimitWaits).toBe(waits.length);
      },
    );

    it('a 500 ends the session as a failed iteration, nothing of it kept', { timeout: 90_000 }, async () => {
      const server = await fakeServer([{ name: 'broken', when: {}, reply: { fault: 'server-error' } }]);
      const workspace = await workspaceFor(yaml(server.url));
      const result = await runLoop({ workspace });
      expect(result.stop.reason).toBe('budget-iterations');
      expect(agentEnds(workspace, result.runId)[0]?.status).toBe('failed');
      expect(result.state.iterations[0]?.agentStatus).toBe('failed');
      expect(result.state.featuresPassing).toBe(0);
    });

    it(
      "a malformed stream ends the session as a failed iteration with the agent's message",
      { timeout: 90_000 },
      async () => {
        const server = await fakeServer([{ name: 'cut', when: {}, reply: { fault: 'malformed' } }]);
        const workspace = await workspaceFor(yaml(server.url));
        const result = await runLoop({ workspace });
        expect(agentEnds(workspace, result.runId)[0]?.status).toBe('failed');
        expect(result.state.featuresPassing).toBe(0);
        expect(result.stop.reason).toBe('budget-iterations');
      },
    );

    it('a model that never answers is ended by the silent-stream watchdog', { timeout: 90_000 }, async () => {
      const server = await fakeServer([{ name: 'hang', when: {}, reply: { fault: 'hang' } }]);
      const workspace = await workspaceFor(yaml(server.url, '  idleTimeout: 4s\n'));
      const result = await runLoop({ workspace });
      expect(agentEnds(workspace, result.runId)[0]?.status).toBe('timed-out');
      expect(result.stop.reason).toBe('budget-iterations');
    });

    it(
      'a model that calls tools forever is stopped (claude: --max-turns; codex: the session time limit)',
      { timeout: 90_000 },
      async () => {
        const forever: Rule = {
          name: 'forever',
          when: {},
          reply: {
            toolCalls: [
              { name: 'Bash', input: { command: 'true', description: 'again' } },
              { name: 'exec_command', input: { cmd: 'true' } },
            ].slice(_agent === 'codex' ? 1 : 0, _agent === 'codex' ? 2 : 1),
          },
        };
        const server = await fakeServer([forever]);
        const workspace = await workspaceFor(
          _agent === 'codex' ? codexYaml(server.url).replace('timeout: 2m', 'timeout: 5s') : yaml(server.url),
        );
        const result = await runLoop({ workspace });
        const ended = agentEnds(workspace, result.runId)[0];
        expect(ended?.status).toBe(_agent === 'codex' ? 'timed-out' : 'failed');
        expect(server.requests.length).toBeGreaterThan(1);
        expect(result.stop.reason).toBe('budget-iterations');
      },
    );
  });

  it.each([
    [
      'budgets:\n  iterations: 5\n  perIteration:\n    tokens: 50000\n',
      'budget-iteration',
      /ran away: \d+ tokens/,
    ],
    [
      'budgets:\n  iterations: 5\n  costUsd: 0.5\n',
      'budget-cost',
      /cost budget spent: \$\d+\.\d\d of \$0\.50/,
    ],
  ] as const)(
    'token and cost budgets hold against the usage claude reports (%#)',
    { timeout: 60_000 },
    async (budgetYaml, reason, message) => {
      // A session that burns 120,000 input tokens per model call, and never finishes the feature.
      const server = await fakeServer([
        {
          name: 'burn',
          when: { hasToolResult: false },
          reply: {
            toolCalls: [{ name: 'Bash', input: { command: 'true', description: 'think' } }],
            usage: { inputTokens: 120_000, outputTokens: 2_000 },
          },
        },
        {
          name: 'stop',
          when: { hasToolResult: true },
          reply: { text: 'Still working on it.', usage: { inputTokens: 120_000, outputTokens: 2_000 } },
        },
      ]);
      const workspace = await workspaceFor(claudeYaml(server.url));
      const yamlPath = join(workspace, 'baton.yaml');
      const text = readFileSync(yamlPath, 'utf8').replace(/budgets:\n(?: {2}.*\n)+/, '');
      writeFileSync(yamlPath, `${text}${budgetYaml}`);
      git(workspace, 'commit', '-qam', 'budgets');
      const result = await runLoop({ workspace });
      expect(result.stop.reason).toBe(reason);
      expect(result.stop.message).toMatch(message);
      expect(result.state.usage.inputTokens).toBeGreaterThanOrEqual(240_000);
    },
  );

  it(
    '`baton run` with agent: claude-code in baton.yaml works end to end from the CLI',
    { timeout: 60_000 },
    async () => {
      const server = await fakeServer(workRules);
      const workspace = await workspaceFor(claudeYaml(server.url));
      const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve) => {
        const child = spawn(process.execPath, [bin, 'run', '-C', workspace], {
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let text = '';
        child.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
        child.stderr.on('data', (chunk: Buffer) => (text += chunk.toString()));
        child.on('close', (exit) => {
          resolve({ code: exit, output: text });
        });
      });
      expect(code, output).toBe(0);
      expect(output).toContain('agent    completed');
      expect(output).toMatch(/\nDone: .*\(exit 0\)/);
    },
  );
});
