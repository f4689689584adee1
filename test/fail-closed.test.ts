import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createCommandAgent } from '../src/agents/command-agent.ts';
import { agentDefinitions, createAgentFromConfig } from '../src/agents/registry.ts';
import { runLoop } from '../src/api/run.ts';
import { checkDefinitions, runCheck, type CheckSpec } from '../src/checks/registry.ts';
import { parseConfigText } from '../src/config/load.ts';
import type { AgentConfig } from '../src/config/resolve.ts';
import { sandboxBackendNames } from '../src/config/sandbox-settings.ts';
import { BatonError } from '../src/errors.ts';
import { runEventSchemas } from '../src/log/events.ts';
import { sandboxBackend, sandboxBackends } from '../src/sandbox/backends.ts';
import { chooseSandboxBackend, noSandbox } from '../src/sandbox/sandbox.ts';
import { createFunctionAgent } from '../src/testing/function-agent.ts';
import { createRecordingSandbox } from '../src/testing/recording-sandbox.ts';
import { createScriptedAgent } from '../src/testing/scripted-agent.ts';
import { feature, makeWorkspace, tempDir } from './helpers.ts';

/**
 * The sandbox is a required dependency of every process the harness starts for a worker or a check:
 * the types make a forgotten one a compile error; these tests are the runtime proof that what is handed
 * over is what runs the process, and that the registries behind the extension points fail closed.
 */
describe('every worker and check process runs in the sandbox it is handed', () => {
  it('a command agent wraps its session in the session sandbox, and runs what the wrap returned', async () => {
    const dir = tempDir();
    const [workspace, sessionDir] = [join(dir, 'ws'), join(dir, 'session')];
    mkdirSync(workspace);
    mkdirSync(sessionDir);
    const sandbox = createRecordingSandbox(noSandbox, dir);
    const result = await createCommandAgent({ command: 'echo ok > out.txt', prompt: 'file' }).startSession({
      prompt: 'work',
      cwd: workspace,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
      timeoutMs: 30_000,
      signal: new AbortController().signal,
      transcriptPath: join(dir, 'transcript.log'),
      sessionDir,
      sandbox,
    });
    expect(result.status).toBe('completed');
    expect(sandbox.requests).toHaveLength(1);
    expect(sandbox.requests[0]).toMatchObject({ workspace, writable: [sessionDir] });
    expect(sandbox.startedPids()).toHaveLength(1);
    expect(sandbox.releases).toBe(1);
    expect(readFileSync(join(workspace, 'out.txt'), 'utf8')).toBe('ok\n');
  });

  it('a command check runs in the sandbox of its context, in the checkout it names', async () => {
    const dir = tempDir();
    const [workspace, candidate] = [join(dir, 'ws'), join(dir, 'candidate')];
    mkdirSync(join(workspace, '.baton'), { recursive: true });
    mkdirSync(candidate);
    const sandbox = createRecordingSandbox(noSandbox, dir);
    const spec: CheckSpec = {
      type: 'command',
      name: 'o',
      kind: 'oracle',
      command: 'touch ran',
      timeoutMs: 30_000,
    };
    const result = await runCheck(spec, {
      workspace,
      cwd: candidate,
      outputDir: join(workspace, '.baton'),
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
      signal: new AbortController().signal,
      sandbox,
    });
    expect(result).toMatchObject({ name: 'o', kind: 'oracle', passed: true });
    expect(sandbox.requests.map((request) => request.workspace)).toEqual([candidate]);
    expect(sandbox.startedPids()).toHaveLength(1);
    expect(existsSync(join(candidate, 'ran'))).toBe(true);
  });

  it("a run hands baton.yaml's sandbox (bwrap here) to the worker's session and to every check", async () => {
    const outside = tempDir('baton-outside-');
    const workspace = await makeWorkspace({
      // The check also tries to write outside: in the sandbox that write cannot reach the host.
      features: [feature('F1', `echo x > '${join(outside, 'check.txt')}'; test -f done.txt`)],
      smokeCommand: `echo x > '${join(outside, 'smoke.txt')}'; true`,
      budgets: { iterations: 1 },
    });
    const agent = createScriptedAgent(
      {
        rules: [
          {
            do: [
              { run: `echo x > '${join(outside, 'agent.txt')}'` },
              { write: { path: 'done.txt', content: 'ok\n' } },
            ],
            say: 'wrote done.txt',
            claimDone: true,
          },
        ],
      },
      tempDir(),
    );
    const result = await runLoop({ workspace, agent });
    expect(result.state.sandbox?.backend).toBe('bwrap');
    expect(result.state.featuresPassing).toBe(1);
    expect(readdirSync(outside)).toEqual([]);
  });

  it('a function agent (no process) is handed the same sandbox, and may ignore it', async () => {
    const workspace = await makeWorkspace({ budgets: { iterations: 1 } });
    const backends: string[] = [];
    const agent = createFunctionAgent((session) => {
      backends.push(session.sandbox.backend);
      return 'nothing done';
    });
    await runLoop({ workspace, agent });
    expect(backends).toEqual(['bwrap']);
  });

  it('no module outside sandbox/ and testing/ (and the public index) names noSandbox: none is chosen by baton.yaml, never in code', () => {
    const src = fileURLToPath(new URL('../src/', import.meta.url));
    const offenders: string[] = [];
    const walk = (folder: string): void => {
      for (const entry of readdirSync(folder)) {
        const path = join(folder, entry);
        if (statSync(path).isDirectory()) walk(path);
        else if (entry.endsWith('.ts') && readFileSync(path, 'utf8').includes('noSandbox')) {
          offenders.push(relative(src, path));
        }
      }
    };
    walk(src);
    // index.ts re-exports it for callers who choose it by name.
    expect(offenders.filter((path) => !/^(sandbox|testing)\//.test(path) && path !== 'index.ts')).toEqual([]);
  });
});

function thrown(action: () => unknown): BatonError {
  try {
    action();
  } catch (error) {
    if (BatonError.isInstance(error)) return error;
    throw error;
  }
  throw new Error('expected a BatonError, nothing was thrown');
}

describe('the registries behind the extension points', () => {
  it('has one agent definition per agent type of the config schema, under its own type', () => {
    for (const [type, definition] of Object.entries(agentDefinitions)) expect(definition.type).toBe(type);
    expect(Object.keys(agentDefinitions).sort()).toEqual(
      ['builtin', 'claude-code', 'codex', 'command', 'gemini', 'opencode', 'scripted'].sort(),
    );
  });

  it('refuses an agent type it does not know, naming the ones it does and the fix', () => {
    const error = thrown(() => createAgentFromConfig({ type: 'aider' } as unknown as AgentConfig, tempDir()));
    expect(error.code).toBe('AGENT_UNKNOWN');
    expect(error.message).toContain('"aider"');
    expect(error.fix).toContain('command, scripted, claude-code, codex, gemini, opencode, builtin');
  });

  it('names each sandbox backend once: the registry, the config schema and the event schema agree', () => {
    expect(Object.keys(sandboxBackends)).toEqual([...sandboxBackendNames]);
    for (const [name, backend] of Object.entries(sandboxBackends)) expect(backend.name).toBe(name);
    for (const name of sandboxBackendNames) {
      const parsed = parseConfigText(`version: 1\nsandbox:\n  backend: ${name}\n`);
      expect(parsed.ok && parsed.config.sandbox.backend).toBe(name);
      const chosen = {
        type: 'sandbox.chosen',
        seq: 1,
        at: '2026-01-01T00:00:00.000Z',
        backend: name,
        warning: null,
      };
      expect(runEventSchemas['sandbox.chosen'].safeParse(chosen).success).toBe(true);
    }
    const unknown = parseConfigText('version: 1\nsandbox:\n  backend: firejail\n');
    expect(unknown.ok).toBe(false);
    const error = thrown(() => sandboxBackend('firejail'));
    expect(error.code).toBe('SANDBOX_UNKNOWN');
    expect(error.fix).toContain('auto or one of: bwrap, none');
  });

  it('chooses none only when baton.yaml names it (with its warning) or auto finds no isolating backend', () => {
    const none = chooseSandboxBackend({ backend: 'none', user: 'auto' });
    expect(none.backend.name).toBe('none');
    expect(none.warning).toMatch(/without a sandbox/);
    // bwrap works on this machine, so auto takes it and says nothing.
    expect(chooseSandboxBackend({ backend: 'auto', user: 'auto' })).toMatchObject({
      backend: { name: 'bwrap' },
      warning: undefined,
    });
  });

  it('runs a check through the definition of its type, and refuses a type it does not know', () => {
    expect(Object.keys(checkDefinitions)).toEqual(['command']);
    const spec = { type: 'metric', name: 'speed', kind: 'oracle', timeoutMs: 1_000 } as unknown as CheckSpec;
    const context = {
      workspace: tempDir(),
      outputDir: tempDir(),
      env: {},
      signal: new AbortController().signal,
      sandbox: noSandbox,
    };
    const error = thrown(() => runCheck(spec, context));
    expect(error.code).toBe('CHECK_UNKNOWN');
    expect(error.fix).toContain('command');
  });
});
