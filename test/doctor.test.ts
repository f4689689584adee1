/**
 * `baton doctor` (issue 16, deliver 5), through the CLI as a person runs it: each check on a machine or
 * workspace state where it holds, and where it fails, with the fix it names; exit 1 when a run is blocked.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, lstatSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { DoctorReport } from '../src/api/doctor.ts';
import { detectBwrap } from '../src/sandbox/bwrap.ts';
import { git, makeWorkspace, tempDir } from './helpers.ts';
import { freePort, startRedis } from './redis-server.ts';

const bin = fileURLToPath(new URL('../bin/baton.js', import.meta.url));

/** `baton doctor --json` in `workspace` (async: a test's own servers must keep answering meanwhile). */
function doctor(
  workspace: string,
  extra: readonly string[] = [],
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ code: number | null; report: DoctorReport; text: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, 'doctor', '--json', '-C', workspace, ...extra], { env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      try {
        resolve({ code, report: JSON.parse(stdout) as DoctorReport, text: `${stdout}${stderr}` });
      } catch {
        reject(new Error(`baton doctor printed no report: ${stdout}${stderr}`));
      }
    });
  });
}

function check(report: DoctorReport, name: string): DoctorReport['checks'][number] | undefined {
  return report.checks.find((entry) => entry.name === name);
}

function statuses(report: DoctorReport): Record<string, string> {
  return Object.fromEntries(report.checks.map((entry) => [entry.name, entry.status]));
}

function setAgent(workspace: string, agentYaml: string, more = ''): void {
  const path = join(workspace, 'baton.yaml');
  const text = readFileSync(path, 'utf8').replace(/^agent:\n(?: {2}.*\n)+/m, `${agentYaml}\n`);
  writeFileSync(path, `${text}${more}`);
}

/** Every file and folder of the tree (not .git), with its mode and group. */
function modes(root: string): Record<string, string> {
  const found: Record<string, string> = {};
  const walk = (folder: string): void => {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      if (entry.name === '.git') continue;
      const path = join(folder, entry.name);
      const stats = lstatSync(path);
      found[path] = `${stats.mode.toString(8)} ${String(stats.gid)}`;
      if (entry.isDirectory()) walk(path);
    }
  };
  walk(root);
  return found;
}

const withoutKeys = (): NodeJS.ProcessEnv => {
  const env = { ...process.env };
  delete env.ANTHROPIC_API_KEY;
  delete env.CLAUDE_CODE_OAUTH_TOKEN;
  return env;
};

describe.runIf(detectBwrap().works)('baton doctor', () => {
  it('a workspace a run can use: every check ok or not applicable, exit 0, and one line each in text', async () => {
    const workspace = await makeWorkspace({
      agentYaml: 'agent:\n  type: command\n  command: ["sh", "-c", "true"]\n  timeout: 1m',
    });
    const before = modes(workspace);
    const { code, report } = await doctor(workspace);
    expect(code).toBe(0);
    expect(report.blocking).toBe(false);
    // A diagnostic changes nothing of the person's checkout (as root a run shares it with the sandbox's
    // group; doctor probes in a scratch folder instead).
    expect(modes(workspace)).toEqual(before);
    expect(statuses(report)).toMatchObject({
      git: 'ok',
      'baton.yaml': 'ok',
      agent: 'ok',
      sandbox: 'ok',
      'agent program': 'ok',
      credentials: 'skip',
    });
    expect(check(report, 'sandbox')?.detail).toMatch(/^bwrap/);
    const text = await new Promise<string>((resolve) => {
      const child = spawn(process.execPath, [bin, 'doctor', '-C', workspace]);
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
      child.on('close', () => {
        resolve(out);
      });
    });
    expect(text).toMatch(/^ {2}ok {4}agent program +\S*sh, visible inside the sandbox$/m);
    expect(text.trimEnd().split('\n').at(-1)).toBe('nothing blocks a run');
  });

  it('not a repository, then a broken baton.yaml, then none naming an agent: each blocks with its fix', async () => {
    const bare = tempDir();
    const notRepository = await doctor(bare);
    expect(notRepository.code).toBe(1);
    expect(check(notRepository.report, 'git')).toMatchObject({ status: 'fail' });
    expect(check(notRepository.report, 'git')?.fix).toContain('--git-init');
    expect(check(notRepository.report, 'baton.yaml')?.fix).toContain('baton init');

    const workspace = await makeWorkspace();
    const path = join(workspace, 'baton.yaml');
    const good = readFileSync(path, 'utf8');
    writeFileSync(path, good.replace('version: 1', 'version: 7'));
    const broken = await doctor(workspace);
    expect(broken.code).toBe(1);
    expect(check(broken.report, 'baton.yaml')?.status).toBe('fail');
    expect(check(broken.report, 'baton.yaml')?.detail).toMatch(/version/);

    writeFileSync(path, good.replace(/^agent:\n(?: {2}.*\n)+/m, ''));
    const noAgent = await doctor(workspace);
    expect(noAgent.code).toBe(1);
    expect(check(noAgent.report, 'agent')).toMatchObject({
      status: 'fail',
      detail: 'baton.yaml names no agent',
    });
  });

  it('an agent program missing from the host, and one the sandbox does not see, each named with the fix', async () => {
    const workspace = await makeWorkspace();
    setAgent(workspace, 'agent:\n  type: command\n  command: baton-no-such-agent --go\n  timeout: 1m');
    const missing = await doctor(workspace);
    expect(missing.code).toBe(1);
    expect(check(missing.report, 'agent program')).toMatchObject({
      status: 'fail',
      detail: 'baton-no-such-agent is not on PATH',
    });

    // A shell line: assignments before the program are skipped; a line that starts with a shell word is
    // not guessed at; a relative program is the workspace's.
    setAgent(workspace, 'agent:\n  type: command\n  command: FOO=1 BAR=2 sh -c true\n  timeout: 1m');
    expect(check((await doctor(workspace)).report, 'agent program')?.detail).toMatch(
      /\/sh, visible inside the sandbox$/,
    );
    setAgent(workspace, 'agent:\n  type: command\n  command: cd tools && ./run.sh\n  timeout: 1m');
    expect(check((await doctor(workspace)).report, 'agent program')?.status).toBe('skip');
    writeFileSync(join(workspace, 'agent.sh'), '#!/bin/sh\nexit 0\n');
    chmodSync(join(workspace, 'agent.sh'), 0o755);
    setAgent(workspace, 'agent:\n  type: command\n  command: ./agent.sh --go\n  timeout: 1m');
    expect(check((await doctor(workspace)).report, 'agent program')).toMatchObject({
      status: 'ok',
      detail: `${join(workspace, 'agent.sh')}, in the workspace (which sessions see)`,
    });

    // On the host, under /tmp: hidden inside the sandbox, which the person fixes with sandbox.readOnly.
    const folder = tempDir('baton-doctor-agent-');
    const script = join(folder, 'my-agent');
    writeFileSync(script, '#!/bin/sh\nexit 0\n');
    chmodSync(script, 0o755);
    chmodSync(folder, 0o755);
    setAgent(workspace, `agent:\n  type: command\n  command: ["${script}"]\n  timeout: 1m`);
    const hidden = await doctor(workspace);
    expect(hidden.code).toBe(1);
    expect(check(hidden.report, 'agent program')?.detail).toBe(
      `${script} is on the host but not inside the bwrap sandbox`,
    );
    expect(check(hidden.report, 'agent program')?.fix).toContain(`readOnly: [${JSON.stringify(folder)}]`);
    // `baton run` says the same when its first session cannot start the program.
    git(workspace, 'add', '-A');
    git(workspace, 'commit', '-qm', 'the agent');
    const run = spawnSync(process.execPath, [bin, 'run', '-C', workspace], {
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(run.status).toBe(1);
    expect(run.stdout).toContain(`the agent program ${script} is on the host but not inside the sandbox`);
    expect(run.stdout).toContain(
      `fix: add its folder to sandbox.readOnly in baton.yaml (readOnly: [${JSON.stringify(folder)}])`,
    );
    writeFileSync(
      join(workspace, 'baton.yaml'),
      `${readFileSync(join(workspace, 'baton.yaml'), 'utf8')}\nsandbox:\n  readOnly: [${JSON.stringify(folder)}]\n`,
    );
    const fixed = await doctor(workspace);
    expect(check(fixed.report, 'agent program')?.status).toBe('ok');
    expect(fixed.code).toBe(0);
  });

  it('claude-code with no key and no network: both block, named with their fixes; a key set is said, never shown', async () => {
    const workspace = await makeWorkspace();
    setAgent(workspace, 'agent:\n  type: claude-code');
    const blind = await doctor(workspace, [], withoutKeys());
    expect(blind.code).toBe(1);
    expect(check(blind.report, 'agent version')?.detail).toMatch(/Claude Code/);
    expect(check(blind.report, 'credentials')).toMatchObject({ status: 'fail' });
    expect(check(blind.report, 'credentials')?.fix).toContain('export ANTHROPIC_API_KEY=');
    expect(check(blind.report, 'network')?.fix).toContain('sandbox.allow: [api.anthropic.com]');

    // A wildcard rule allows the provider's host as the proxy would (no request is made to it).
    setAgent(
      workspace,
      'agent:\n  type: claude-code',
      '\nsandbox:\n  network: allowlist\n  allow: ["*.anthropic.com"]\n',
    );
    const wildcard = await doctor(workspace, [], { ...withoutKeys(), ANTHROPIC_API_KEY: 'x' });
    expect(check(wildcard.report, 'network')?.detail).toBe(
      'api.anthropic.com:443 is allowed through the proxy (*.anthropic.com)',
    );
    expect(check(wildcard.report, 'model endpoint')?.status).toBe('skip');
    expect(wildcard.code).toBe(0);
    writeFileSync(
      join(workspace, 'baton.yaml'),
      readFileSync(join(workspace, 'baton.yaml'), 'utf8').replace(/\nsandbox:\n[\s\S]*$/, '\n'),
    );

    // A local model server (a listening loopback port stands in for it), allowed by host and port.
    const server = createServer((socket) => socket.end());
    const port = await new Promise<number>((resolve) => {
      server.listen(0, '127.0.0.1', () => {
        const address = server.address();
        resolve(typeof address === 'object' && address !== null ? address.port : 0);
      });
    });
    try {
      setAgent(
        workspace,
        `agent:\n  type: claude-code\n  baseUrl: http://localhost:${String(port)}`,
        `\nsandbox:\n  network: allowlist\n  allow: ["localhost:${String(port)}"]\n`,
      );
      const secret = 'sk-doctor-test-secret-0123456789';
      const reached = await doctor(workspace, [], { ...withoutKeys(), ANTHROPIC_API_KEY: secret });
      expect(reached.text).not.toContain(secret);
      expect(statuses(reached.report)).toMatchObject({
        credentials: 'ok',
        network: 'ok',
        'model endpoint': 'ok',
      });
      expect(reached.code).toBe(0);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    // The same configuration with the server gone: the endpoint blocks.
    const gone = await doctor(workspace, [], { ...withoutKeys(), ANTHROPIC_API_KEY: 'x' });
    expect(check(gone.report, 'model endpoint')).toMatchObject({ status: 'fail' });
    expect(gone.code).toBe(1);
  });

  it('--redis: a real redis-server answers; a closed port blocks with the fix', async () => {
    const workspace = await makeWorkspace({
      agentYaml: 'agent:\n  type: command\n  command: ["sh", "-c", "true"]\n  timeout: 1m',
    });
    const redis = await startRedis();
    try {
      const up = await doctor(workspace, ['--redis', redis.url]);
      expect(check(up.report, 'redis')).toMatchObject({ status: 'ok' });
      expect(up.code).toBe(0);
    } finally {
      await redis.stop();
    }
    const closed = await doctor(workspace, [
      '--redis',
      `redis://:hunter2-pw@127.0.0.1:${String(await freePort())}`,
    ]);
    expect(closed.text).not.toContain('hunter2-pw');
    expect(check(closed.report, 'redis')?.status).toBe('fail');
    expect(check(closed.report, 'redis')?.fix).toMatch(/redis-server/);
    expect(closed.code).toBe(1);
  });

  it('a person with no git identity is warned, not blocked', async () => {
    const workspace = await makeWorkspace({
      agentYaml: 'agent:\n  type: command\n  command: ["sh", "-c", "true"]\n  timeout: 1m',
    });
    // No identity anywhere git looks: the repository has none (the helpers commit with -c), and the
    // person's global and system config are out of reach.
    expect(() => git(workspace, 'config', '--local', '--get', 'user.name')).toThrow();
    const home = tempDir();
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      HOME: home,
      GIT_CONFIG_NOSYSTEM: '1',
      XDG_CONFIG_HOME: home,
    };
    delete env.GIT_AUTHOR_NAME;
    delete env.GIT_AUTHOR_EMAIL;
    const { code, report } = await doctor(workspace, [], env);
    expect(check(report, 'git identity')).toMatchObject({ status: 'warn' });
    expect(code).toBe(0);
  });
});
