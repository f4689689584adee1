import { spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer, connect, type Server } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultLimits } from '../src/sandbox/policy.ts';
import { detectBwrap } from '../src/sandbox/bwrap.ts';
import { cgroupsUsable } from '../src/sandbox/cgroup.ts';
import { createSandbox, prepareSandbox, type Sandbox, type SandboxSettings } from '../src/sandbox/sandbox.ts';
import { findRunProcesses } from '../src/run/orphans.ts';
import { runProcess, type ProcessResult } from '../src/util/run-process.ts';
import { git, tempDir } from './helpers.ts';

/**
 * Hostile workers, each trying one way out of the bwrap sandbox. Every case first proves that what it
 * reaches for is really there (from outside), then that the attempt fails from inside.
 */
const settings: SandboxSettings = {
  backend: 'bwrap',
  network: 'none',
  allow: [],
  passEnv: [],
  readOnly: [],
  user: 'auto',
  limits: { ...defaultLimits, processes: 64, fileSizeBytes: 10 * 1024 * 1024, cpuSeconds: 60 },
};

let workspace = '';
let attempts = 0;
let successes = 0;

async function inside(
  script: string,
  env: NodeJS.ProcessEnv = {},
  sandbox: Sandbox = createSandbox(workspace, settings).sandbox,
  writable: readonly string[] = [],
): Promise<ProcessResult> {
  expect(sandbox.backend).toBe('bwrap');
  const wrapped = sandbox.wrap({
    command: script,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', BATON_RUN_ID: 'escape-suite', ...env },
    writable,
  });
  try {
    return await runProcess({
      command: wrapped.command,
      cwd: workspace,
      env: wrapped.env,
      timeoutMs: 30_000,
    });
  } finally {
    wrapped.release();
  }
}

function attempt(escaped: boolean): boolean {
  attempts += 1;
  if (escaped) successes += 1;
  return escaped;
}

function listen(server: Server | import('node:http').Server, target: number | string): Promise<void> {
  return new Promise((resolve) =>
    server.listen(target as number, '127.0.0.1', () => {
      resolve();
    }),
  );
}

function reachable(target: { port: number } | { path: string }): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = 'port' in target ? connect(target.port, '127.0.0.1') : connect(target.path);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => {
      resolve(false);
    });
  });
}

describe.runIf(detectBwrap().works)('the bwrap sandbox holds against hostile workers', () => {
  beforeAll(() => {
    workspace = mkdtempSync(join(tmpdir(), 'baton-escape-'));
    git(workspace, 'init', '-q', '--initial-branch=main');
    writeFileSync(join(workspace, 'README.md'), 'x\n');
    git(workspace, 'add', '-A');
    git(workspace, 'commit', '-qm', 'base');
    mkdirSync(join(workspace, '.baton'), { recursive: true });
    writeFileSync(join(workspace, '.baton', 'events.jsonl'), '{}\n');
  });

  afterAll(() => {
    rmSync(workspace, { recursive: true, force: true });
    process.stdout.write(`sandbox escape suite: ${attempts} attempts, ${successes} successes\n`);
    expect(successes).toBe(0);
  });

  it('works in its worktree: it can read and write there, and run node', async () => {
    const result = await inside(
      `echo made > made.txt && cat made.txt && ${process.execPath} -e "console.log(1+1)"`,
    );
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toBe('made\n2\n');
    expect(readFileSync(join(workspace, 'made.txt'), 'utf8')).toBe('made\n');
  });

  it("gets its session's scratch folder as TMPDIR, and never the harness's own (hidden) TMPDIR", async () => {
    const sessionDir = mkdtempSync(join(tmpdir(), 'baton-session-'));
    const scratch = join(sessionDir, 'tmp');
    mkdirSync(scratch);
    const sandbox = createSandbox(workspace, settings).sandbox;
    const run = (env: NodeJS.ProcessEnv, writable: string[]): Promise<ProcessResult> =>
      inside('echo "tmp=${TMPDIR:-unset}" && mktemp', env, sandbox, writable);
    const given = await run({ TMPDIR: scratch }, [sessionDir]);
    expect(given.stdout).toContain(`tmp=${scratch}\n${scratch}/`);
    expect(readdirSync(scratch)).toHaveLength(1);
    // A TMPDIR outside what the sandbox may write (the harness's own /tmp) is not passed on.
    const harnessOwn = await run({ TMPDIR: tmpdir() }, []);
    expect(harnessOwn.stdout).toContain('tmp=unset');
    rmSync(sessionDir, { recursive: true, force: true });
  });

  it('cannot read a secret file in the host home', async () => {
    const secret = join(homedir(), `.baton-escape-secret-${process.pid}`);
    writeFileSync(secret, 'TOP-SECRET');
    try {
      expect(readFileSync(secret, 'utf8')).toBe('TOP-SECRET');
      const result = await inside(`cat ${secret}`);
      expect(attempt(result.output.includes('TOP-SECRET'))).toBe(false);
    } finally {
      rmSync(secret, { force: true });
    }
  });

  it("cannot read the harness's secret environment", async () => {
    const result = await inside('env', {
      CLOUD_SECRET_TOKEN: 'TOP-SECRET-ENV',
      AWS_SECRET_ACCESS_KEY: 'TOP-SECRET-AWS',
    });
    expect(result.exitCode).toBe(0);
    expect(attempt(result.output.includes('TOP-SECRET'))).toBe(false);
    expect(result.output).toContain('BATON_RUN_ID=escape-suite');
  });

  it('cannot write outside its worktree', async () => {
    const outside = join(workspace, '..', `escaped-${process.pid}.txt`);
    const result = await inside(
      `echo x > ${outside}; echo y > /etc/baton-escaped; echo z > /usr/baton-escaped; true`,
    );
    expect(result.exitCode).toBe(0);
    expect(
      attempt(existsSync(outside) || existsSync('/etc/baton-escaped') || existsSync('/usr/baton-escaped')),
    ).toBe(false);
  });

  it('cannot move a git ref or touch the harness state', async () => {
    const result = await inside(
      'git branch evil; git update-ref refs/heads/main HEAD~0 2>&1; echo forged >> .baton/events.jsonl; git log --oneline | head -1',
    );
    expect(result.output).toContain('base');
    const branches = git(workspace, 'branch', '--list', 'evil');
    expect(
      attempt(
        branches.trim() !== '' ||
          readFileSync(join(workspace, '.baton/events.jsonl'), 'utf8').includes('forged'),
      ),
    ).toBe(false);
  });

  it('cannot reach a loopback service of the host over TCP', async () => {
    const server = createServer((socket) => {
      socket.on('error', () => undefined);
      socket.end('hello');
    });
    await listen(server, 0);
    const port = (server.address() as { port: number }).port;
    try {
      expect(await reachable({ port })).toBe(true);
      const result = await inside(
        `${process.execPath} -e "require('net').connect(${port},'127.0.0.1').on('connect',()=>{console.log('CONNECTED');process.exit(0)}).on('error',e=>{console.log(e.code);process.exit(1)})"`,
      );
      expect(attempt(result.output.includes('CONNECTED'))).toBe(false);
    } finally {
      server.close();
    }
  });

  it('cannot reach a unix socket of the host (in /tmp or /run)', async () => {
    for (const dir of [tempDir('baton-sock-'), '/run']) {
      const path = join(dir, `baton-escape-${process.pid}.sock`);
      const server = createServer((socket) => {
        socket.on('error', () => undefined);
        socket.end('hello');
      });
      await new Promise<void>((resolve) =>
        server.listen(path, () => {
          resolve();
        }),
      );
      try {
        expect(await reachable({ path })).toBe(true);
        const result = await inside(
          `${process.execPath} -e "require('net').connect('${path}').on('connect',()=>{console.log('CONNECTED');process.exit(0)}).on('error',e=>{console.log(e.code);process.exit(1)})"`,
        );
        expect(attempt(result.output.includes('CONNECTED'))).toBe(false);
      } finally {
        server.close();
        rmSync(path, { force: true });
      }
    }
  });

  it('cannot reach any other host: there is no network at all', async () => {
    const result = await inside(
      `${process.execPath} -e "fetch('http://example.com').then(()=>console.log('REACHED')).catch(e=>console.log('blocked', e.cause?.code ?? e.message))"`,
    );
    expect(result.output).toContain('blocked');
    expect(attempt(result.output.includes('REACHED'))).toBe(false);
  });

  it('with network: allowlist, reaches the allow-listed host through the proxy and nothing else', async () => {
    const server = createHttpServer((_request, response) => {
      response.end('hello-from-allowed');
    });
    await listen(server, 0);
    const port = (server.address() as { port: number }).port;
    const { sandbox } = await prepareSandbox(
      workspace,
      { ...settings, network: 'allowlist', allow: [`api.allowed.test:${port}`] },
      {
        overrides: {
          'api.allowed.test': { host: '127.0.0.1', port },
          // The blocked name leads to the same server: if the proxy let it through, the answer would show.
          'blocked.example.test': { host: '127.0.0.1', port },
        },
      },
    );
    const run = (script: string): Promise<ProcessResult> => inside(script, {}, sandbox);
    const fetchScript = (url: string): string =>
      `${process.execPath} -e "fetch('${url}').then(async r=>console.log('STATUS', r.status, await r.text())).catch(e=>console.log('ERROR', e.cause?.code ?? e.message))"`;
    const rawConnect = (host: string): string =>
      `${process.execPath} -e "const s=require('net').connect(3128,'127.0.0.1',()=>s.write('CONNECT ${host} HTTP/1.1\\r\\nHost: ${host}\\r\\n\\r\\n'));s.on('data',d=>{console.log(String(d).split('\\r\\n')[0]);s.destroy()})"`;
    try {
      expect(sandbox.network).toBe('allowlist');
      const allowed = await run(fetchScript(`http://api.allowed.test:${port}/`));
      expect(allowed.output).toContain('STATUS 200 hello-from-allowed');
      const tunnel = await run(rawConnect(`api.allowed.test:${port}`));
      expect(tunnel.output).toContain('HTTP/1.1 200 Connection Established');

      const blocked = await run(fetchScript('http://blocked.example.test/'));
      // Node's fetch tunnels through CONNECT, and a refused tunnel is a fetch error: either way, no answer.
      expect(blocked.output).toMatch(/STATUS 403|ERROR/);
      expect(attempt(blocked.output.includes('hello-from-allowed'))).toBe(false);
      const blockedTunnel = await run(rawConnect(`blocked.example.test:${port}`));
      expect(blockedTunnel.output).toContain('HTTP/1.1 403 Forbidden');
      expect(attempt(!blockedTunnel.output.includes('403'))).toBe(false);
      // An address instead of a name is refused too, and a direct connection has no route at all.
      const byAddress = await run(fetchScript(`http://127.0.0.1:${port}/`));
      expect(attempt(byAddress.output.includes('hello-from-allowed'))).toBe(false);
    } finally {
      await sandbox.close();
      server.close();
    }
  });

  it("cannot plant files in the proxy's socket folder, replace its socket, or keep the folder after release", async () => {
    const server = createHttpServer((_request, response) => {
      response.end('hello-from-allowed');
    });
    await listen(server, 0);
    const port = (server.address() as { port: number }).port;
    const before = new Set(readdirSync(tmpdir()).filter((entry) => entry.startsWith('baton-proxy-')));
    const { sandbox } = await prepareSandbox(
      workspace,
      { ...settings, network: 'allowlist', allow: [`api.allowed.test:${port}`] },
      { overrides: { 'api.allowed.test': { host: '127.0.0.1', port } } },
    );
    const created = readdirSync(tmpdir()).filter(
      (entry) => entry.startsWith('baton-proxy-') && !before.has(entry),
    );
    expect(created).toHaveLength(1);
    const folder = join(tmpdir(), created[0] ?? '');
    const socketPath = join(folder, 'proxy.sock');
    try {
      // From outside: the folder and the socket are there, and the socket answers.
      expect(statSync(socketPath).isSocket()).toBe(true);
      expect(await reachable({ path: socketPath })).toBe(true);
      const inode = statSync(socketPath).ino;
      const result = await inside(
        [
          `echo planted > ${folder}/planted.txt`,
          `mkdir ${folder}/planted-dir`,
          `ln -s /etc/passwd ${folder}/planted-link`,
          `mv ${socketPath} ${folder}/moved.sock`,
          `rm -f ${socketPath}`,
          // Try to put a socket of its own where the proxy's was.
          `${process.execPath} -e "require('net').createServer().listen('${socketPath}',()=>{console.log('REPLACED');process.exit(0)}).on('error',e=>console.log('listen',e.code))"`,
          `${process.execPath} -e "fetch('http://api.allowed.test:${port}/').then(async r=>console.log('STATUS', r.status, await r.text())).catch(e=>console.log('ERROR', e.cause?.code ?? e.message))"`,
        ].join('; '),
        {},
        sandbox,
      );
      // The proxy still works through the socket, inside...
      expect(result.output).toContain('STATUS 200 hello-from-allowed');
      const planted = readdirSync(folder).filter((entry) => entry !== 'proxy.sock');
      expect(attempt(planted.length > 0 || result.output.includes('REPLACED'))).toBe(false);
      // ... and outside: the same socket, still answering.
      expect(attempt(!existsSync(socketPath) || statSync(socketPath).ino !== inode)).toBe(false);
      expect(await reachable({ path: socketPath })).toBe(true);
    } finally {
      await sandbox.close();
      server.close();
    }
    expect(attempt(existsSync(folder))).toBe(false);
  });

  it('sweeps the proxy folder a killed harness left behind', async () => {
    const dead = spawn(process.execPath, ['-e', '']);
    await new Promise((resolve) => dead.once('exit', resolve));
    const stale = join(tmpdir(), `baton-proxy-${dead.pid ?? 0}-AbC123`);
    mkdirSync(stale);
    writeFileSync(join(stale, 'proxy.sock'), '');
    expect(existsSync(stale)).toBe(true);
    const { sandbox } = await prepareSandbox(workspace, {
      ...settings,
      network: 'allowlist',
      allow: ['api.allowed.test'],
    });
    await sandbox.close();
    expect(existsSync(stale)).toBe(false);
  });

  it('cannot kill the harness', async () => {
    const result = await inside(`kill -9 ${process.pid}; echo tried`);
    expect(result.output).toContain('tried');
    expect(attempt(false)).toBe(false); // This test process is the harness: it is still here to say so.
  });

  it('cannot fork-bomb the machine: it stops at its process limit', async () => {
    const result = await inside(
      'i=0; while [ $i -lt 400 ]; do (sleep 3) & i=$((i+1)); done; echo "forked $i"',
    );
    expect(attempt(result.output.includes('forked 400'))).toBe(false);
  });

  it('cannot fill the disk past its file-size limit', async () => {
    const result = await inside('head -c 50000000 /dev/zero > big.bin; echo "exit $?"');
    const size = existsSync(join(workspace, 'big.bin')) ? statSync(join(workspace, 'big.bin')).size : 0;
    rmSync(join(workspace, 'big.bin'), { force: true });
    expect(size).toBeLessThanOrEqual(settings.limits.fileSizeBytes);
    expect(attempt(size > settings.limits.fileSizeBytes || result.output.includes('exit 0'))).toBe(false);
  });

  // Killed in its first milliseconds, bwrap may not yet have tied its sandbox's init to its own life;
  // releasing the wrap ends whatever is left in its cgroup. Without cgroups (v2-only hosts, no root)
  // that window stays open: docs/sandbox.md says so.
  it.runIf(cgroupsUsable())(
    'leaves nothing running when an abort lands while bwrap is still starting',
    async () => {
      // Aborts spread over the window.
      const runId = `abort-while-starting-${process.pid}`;
      const sandbox = createSandbox(workspace, settings).sandbox;
      for (let round = 0; round < 30; round += 1) {
        const wrapped = sandbox.wrap({
          command: 'sleep 30',
          env: { PATH: process.env.PATH ?? '/usr/bin:/bin', BATON_RUN_ID: runId },
        });
        const abort = new AbortController();
        setTimeout(
          () => {
            abort.abort();
          },
          4 + (round % 12),
        );
        await runProcess({
          command: wrapped.command,
          cwd: workspace,
          env: wrapped.env,
          timeoutMs: 30_000,
          signal: abort.signal,
        });
        wrapped.release();
      }
      const deadline = Date.now() + 2_000;
      while (findRunProcesses(runId).length > 0 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(findRunProcesses(runId)).toEqual([]);
    },
  );

  it('cannot outlive the harness', async () => {
    // A harness of its own, started as a separate process, runs a sandboxed sleeper and is then killed.
    const script = join(tempDir('baton-harness-'), 'harness.ts');
    writeFileSync(
      script,
      `import { createSandbox } from ${JSON.stringify(new URL('../src/sandbox/sandbox.ts', import.meta.url).pathname)};
import { spawn } from 'node:child_process';
const { sandbox } = createSandbox(${JSON.stringify(workspace)}, ${JSON.stringify(settings)});
const wrapped = sandbox.wrap({ command: 'sleep 300', env: { PATH: process.env.PATH, BATON_RUN_ID: 'outlive-check' } });
spawn(wrapped.command[0], wrapped.command.slice(1), { env: wrapped.env, stdio: 'ignore' });
console.log('started');
setInterval(() => {}, 1000);
`,
    );
    const harness = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve) =>
      harness.stdout.once('data', () => {
        resolve();
      }),
    );
    const deadline = Date.now() + 5_000;
    while (findRunProcesses('outlive-check').length === 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(findRunProcesses('outlive-check').length).toBeGreaterThan(0);
    harness.kill('SIGKILL');
    const gone = Date.now() + 5_000;
    while (findRunProcesses('outlive-check').length > 0 && Date.now() < gone) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(attempt(findRunProcesses('outlive-check').length > 0)).toBe(false);
  });
});
