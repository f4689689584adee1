import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { AgentSessionResult } from '../src/agents/agent.ts';
import { createCliAgent } from '../src/agents/cli-agents.ts';
import type { CliAgentConfig } from '../src/config/resolve.ts';
import { noSandbox } from '../src/sandbox/sandbox.ts';
import { tempDir } from './helpers.ts';

/**
 * One contract, every adapter: each agent CLI's recorded output (captured from the real claude 2.1.328
 * and codex 0.169.0 against the fake model server; gemini and opencode written from their documented
 * schemas) is played back through the adapter itself, process and all, and must come out as the same
 * normalized session result.
 */
const fixtures = fileURLToPath(new URL('./fixtures/transcripts/', import.meta.url));
const replay = fileURLToPath(new URL('./fixtures/replay-agent.sh', import.meta.url));

function config(type: CliAgentConfig['type'], fixture: string, exit = 0, model?: string): CliAgentConfig {
  return {
    type,
    binary: replay,
    model,
    maxTurns: 10,
    baseUrl: undefined,
    apiKeyEnv: undefined,
    allowedTools: [],
    extraArgs: [],
    env: { BATON_REPLAY: join(fixtures, fixture), BATON_REPLAY_EXIT: String(exit) },
    timeoutMs: 30_000,
    idleTimeoutMs: 10_000,
  };
}

async function run(agentConfig: CliAgentConfig): Promise<AgentSessionResult> {
  const dir = tempDir();
  const sessionDir = mkdtempSync(join(tmpdir(), 'baton-contract-'));
  mkdirSync(join(dir, 'ws'));
  return createCliAgent(agentConfig).startSession({
    prompt: 'Make F1 pass.',
    cwd: join(dir, 'ws'),
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
    timeoutMs: agentConfig.timeoutMs,
    signal: new AbortController().signal,
    transcriptPath: join(dir, 'transcript.log'),
    sessionDir,
    // The adapter's parsing is under test, not the sandbox: run unconfined, by name.
    sandbox: noSandbox,
  });
}

interface Case {
  readonly type: CliAgentConfig['type'];
  readonly success: string;
  readonly failure: string;
  readonly model?: string;
  readonly sessionId: RegExp;
  readonly finalMessage: RegExp;
  readonly reportsCost: boolean;
}

const cases: readonly Case[] = [
  {
    type: 'claude-code',
    success: 'claude-success.jsonl',
    failure: 'claude-api-error.jsonl',
    sessionId: /^[0-9a-f-]{36}$/,
    finalMessage: /CLAIM: DONE/,
    reportsCost: true,
  },
  {
    type: 'codex',
    success: 'codex-success.jsonl',
    failure: 'codex-failed.jsonl',
    model: 'gpt-5',
    sessionId: /^01a20f23-/,
    finalMessage: /CLAIM: DONE/,
    reportsCost: true,
  },
  {
    type: 'gemini',
    success: 'gemini-success.jsonl',
    failure: 'gemini-error.jsonl',
    model: 'gemini-2.5-pro',
    sessionId: /^gem-5c2a$/,
    finalMessage: /^Created done\.txt\.\nCLAIM: DONE$/,
    reportsCost: true,
  },
  {
    type: 'opencode',
    success: 'opencode-success.jsonl',
    failure: 'opencode-error.jsonl',
    sessionId: /^ses_4a1b2c$/,
    finalMessage: /CLAIM: DONE/,
    reportsCost: true,
  },
];

describe.each(cases)('the $type adapter', (entry) => {
  it('turns a successful session into status, turns, session id, tokens, cost and the final message', async () => {
    const result = await run(config(entry.type, entry.success, 0, entry.model));
    expect(result.status).toBe('completed');
    expect(result.error).toBeUndefined();
    expect(result.sessionId).toMatch(entry.sessionId);
    expect(result.finalMessage).toMatch(entry.finalMessage);
    expect(result.turns).toBeGreaterThan(0);
    expect(result.usage.inputTokens).toBeGreaterThan(0);
    expect(result.usage.outputTokens).toBeGreaterThan(0);
    if (entry.reportsCost) expect(result.usage.costUsd).toBeGreaterThan(0);
    expect(result.rateLimit).toBeUndefined();
  });

  it('reports a failed session as failed, with the reason, and recognizes a rate limit (unknown and non-JSON lines skipped)', async () => {
    const result = await run(config(entry.type, entry.failure, 1, entry.model));
    expect(result.status).toBe('failed');
    expect(result.error).toMatch(/429|rate limit/i);
    expect(result.rateLimit?.message).toMatch(/429|rate limit/i);
  });

  it('treats a crash before the final event as a failure, even with exit 0', async () => {
    const partial = join(tempDir(), 'partial.jsonl');
    const first =
      (await import('node:fs')).readFileSync(join(fixtures, entry.success), 'utf8').split('\n')[0] ?? '';
    writeFileSync(partial, `${first}\n`);
    const result = await run({
      ...config(entry.type, entry.success, 0, entry.model),
      env: { BATON_REPLAY: partial, BATON_REPLAY_EXIT: '0' },
    });
    expect(result.status).toBe('failed');
    expect(result.error).toBeDefined();
  });

  it('names the fix when the CLI is not installed', async () => {
    await expect(
      run({ ...config(entry.type, entry.success), binary: '/nonexistent/agent-cli' }),
    ).rejects.toMatchObject({ code: 'AGENT_MISSING' });
  });
});
