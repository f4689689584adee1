import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, onTestFinished } from 'vitest';
import { runClaudeStopHook } from '../src/api/claude-hook.ts';
import { startFakeModelServer } from '../src/testing/fake-model/index.ts';
import { feature, makeWorkspace, tempDir } from './helpers.ts';

const bin = fileURLToPath(new URL('../bin/baton.js', import.meta.url));
const claude = fileURLToPath(new URL('../node_modules/.bin/claude', import.meta.url));

const input = (workspace: string, active = false, session = 's-1'): string =>
  JSON.stringify({
    session_id: session,
    stop_hook_active: active,
    cwd: workspace,
    hook_event_name: 'Stop',
    last_assistant_message: 'All done.\nCLAIM: DONE',
  });

describe('baton hook claude-stop', () => {
  it('blocks the stop while a check fails, lets it go once they pass, and gives up after the cap', async () => {
    const workspace = await makeWorkspace({
      features: [feature('F1', 'test -f done.txt')],
      oracles: [{ name: 'sane', command: 'true' }],
    });
    const first = await runClaudeStopHook({ input: input(workspace), cap: 2 });
    expect(JSON.parse(first.stdout)).toEqual({
      decision: 'block',
      reason: expect.stringContaining('feature F1 (`test -f done.txt`: exit 1)') as unknown,
    });
    expect(first.verdict.claimRejected).toBe(true);
    const second = await runClaudeStopHook({ input: input(workspace, true), cap: 2 });
    expect(second.blocks).toBe(2);
    // Blocked twice (the cap) and still failing: Claude may stop; the hook does not trap it.
    const third = await runClaudeStopHook({ input: input(workspace, true), cap: 2 });
    expect(third.stdout).toBe('');
    expect(third.verdict.done).toBe(false);
    // Another session starts its own count; once the feature passes, the stop is allowed.
    expect(
      JSON.parse((await runClaudeStopHook({ input: input(workspace, false, 's-2') })).stdout),
    ).toMatchObject({ decision: 'block' });
    writeFileSync(join(workspace, 'done.txt'), 'ok\n');
    const done = await runClaudeStopHook({ input: input(workspace, true, 's-2') });
    expect(done.stdout).toBe('');
    expect(done.verdict.done).toBe(true);
  });

  it('names the fix for input that is not the hook JSON', async () => {
    await expect(runClaudeStopHook({ input: 'not json', workspace: tempDir() })).rejects.toMatchObject({
      code: 'HOOK_INPUT',
    });
    await expect(runClaudeStopHook({ input: '{"cwd":"/tmp"}', workspace: tempDir() })).rejects.toMatchObject({
      code: 'HOOK_INPUT',
    });
  });

  it(
    'keeps the real Claude Code working until the checks pass (a hook in --settings, the fake model server)',
    { timeout: 60_000 },
    async () => {
      const workspace = await makeWorkspace({ features: [feature('F1', 'test -f done.txt')] });
      const server = await startFakeModelServer({
        script: {
          rules: [
            {
              name: 'fix',
              when: { anyTextIncludes: 'baton ran the checks', hasToolResult: false },
              reply: {
                toolCalls: [{ name: 'Bash', input: { command: 'touch done.txt', description: 'fix' } }],
              },
            },
            { name: 'after tool', when: { hasToolResult: true }, reply: { text: 'Created done.txt.' } },
            { name: 'lazy', when: { hasToolResult: false }, reply: { text: 'All done, I think.' } },
          ],
        },
      });
      onTestFinished(() => server.close());
      const home = tempDir();
      const settings = join(home, 'settings.json');
      writeFileSync(
        settings,
        JSON.stringify({
          hooks: {
            Stop: [
              {
                hooks: [
                  { type: 'command', command: `${process.execPath} ${bin} hook claude-stop`, timeout: 60 },
                ],
              },
            ],
          },
        }),
      );
      const result = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
        const child = spawn(
          claude,
          [
            '-p',
            'make F1 pass',
            '--output-format',
            'stream-json',
            '--verbose',
            '--include-hook-events',
            '--permission-mode',
            'acceptEdits',
            '--allowedTools',
            'Bash,Read,Edit',
            '--max-turns',
            '6',
            '--model',
            'claude-sonnet-4-5',
            '--settings',
            settings,
            '--setting-sources',
            '',
          ],
          {
            cwd: workspace,
            stdio: ['ignore', 'pipe', 'pipe'],
            env: {
              PATH: process.env.PATH,
              HOME: home,
              CLAUDE_CONFIG_DIR: join(home, '.claude'),
              ANTHROPIC_BASE_URL: server.url,
              ANTHROPIC_API_KEY: 'sk-ant-fake',
              DISABLE_TELEMETRY: '1',
              CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
              CLAUDE_CODE_MAX_RETRIES: '0',
            },
          },
        );
        let stdout = '';
        child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
        child.on('close', (code) => {
          resolve({ code, stdout });
        });
      });
      expect(result.code, result.stdout.slice(-2_000)).toBe(0);
      expect(server.requests.map((request) => request.rule)).toEqual(['lazy', 'fix', 'after tool']);
      expect(existsSync(join(workspace, 'done.txt'))).toBe(true);
      const lines = result.stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as Record<string, unknown>);
      expect(lines.filter((line) => line.subtype === 'hook_response')).toHaveLength(2);
      expect(lines.at(-1)).toMatchObject({ type: 'result', is_error: false });
    },
  );
});
