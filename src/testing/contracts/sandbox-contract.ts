import { ok, strictEqual } from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Sandbox, WrapRequest } from '../../sandbox/sandbox.ts';
import { runProcess, type ProcessResult } from '../../util/run-process.ts';
import { withTempFolder, type ContractTestApi } from './test-api.ts';

export interface SandboxContractOptions extends ContractTestApi {
  /**
   * Whether the backend confines what a command may write, read and reach (default: it must). Only a
   * backend that is no sandbox at all (`none`) says false, and then only the basic promises are checked.
   */
  readonly confines?: boolean;
  /** Each test's own limit (default 60 s). */
  readonly testTimeoutMs?: number;
}

type MakeSandbox = (workspace: string) => Sandbox | Promise<Sandbox>;

interface Folders {
  readonly workspace: string;
  /** Beside the workspace, not given to the sandbox: where a host secret would be. */
  readonly outside: string;
}

function folders(root: string): Folders {
  const workspace = join(root, 'workspace');
  const outside = join(root, 'outside');
  mkdirSync(join(workspace, '.git'), { recursive: true });
  mkdirSync(outside);
  return { workspace, outside };
}

async function run(
  sandbox: Sandbox,
  workspace: string,
  command: string,
  request: Partial<WrapRequest> = {},
): Promise<ProcessResult> {
  const { env, ...rest } = request;
  const wrapped = sandbox.wrap({
    ...rest,
    command,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
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

/** A folder of the test, with a sandbox made for its workspace, closed afterwards. */
function withSandbox(
  makeSandbox: MakeSandbox,
  body: (sandbox: Sandbox, paths: Folders) => Promise<void>,
): Promise<void> {
  return withTempFolder('baton-sandbox-contract-', async (root) => {
    const paths = folders(root);
    const sandbox = await makeSandbox(paths.workspace);
    try {
      await body(sandbox, paths);
    } finally {
      await sandbox.close();
    }
  });
}

/**
 * The Sandbox contract, for any backend: a wrapped command runs in the workspace with the variables it
 * was given; a confining backend also keeps writes to the workspace and the folders named writable
 * (never .git, only a task's scope when one is named), hides folders outside it unless named readable,
 * lets no unnamed variable through, and connects nowhere directly unless its network is the host's.
 *
 * @example
 * import { describe, it } from 'vitest';
 * import { describeSandboxContract } from 'baton/testing';
 *
 * describeSandboxContract('my backend', (workspace) => createMySandbox(workspace), { describe, it });
 */
export function describeSandboxContract(
  name: string,
  makeSandbox: MakeSandbox,
  options: SandboxContractOptions,
): void {
  const { describe, it } = options;
  const confines = options.confines ?? true;
  const limit = options.testTimeoutMs ?? 60_000;

  describe(`${name}: the sandbox contract`, () => {
    it(
      'runs the wrapped command in the workspace, with its exit status and output',
      () =>
        withSandbox(makeSandbox, async (sandbox, { workspace }) => {
          const result = await run(sandbox, workspace, 'echo "in $(pwd)"; echo written > inside.txt; exit 3');
          strictEqual(result.exitCode, 3, result.output);
          ok(result.output.includes(`in ${workspace}`), result.output);
          strictEqual(readFileSync(join(workspace, 'inside.txt'), 'utf8'), 'written\n');
        }),
      limit,
    );

    it(
      'passes the variables it was given for the command (PATH, and those named in passEnv)',
      () =>
        withSandbox(makeSandbox, async (sandbox, { workspace }) => {
          const result = await run(sandbox, workspace, 'echo "value=$CONTRACT_PASSED_VALUE"; command -v sh', {
            env: { CONTRACT_PASSED_VALUE: 'kept' },
            passEnv: ['CONTRACT_PASSED_VALUE'],
          });
          strictEqual(result.exitCode, 0, result.output);
          ok(result.output.includes('value=kept'), result.output);
        }),
      limit,
    );

    it(
      'lets the command write the extra folders named writable',
      () =>
        withSandbox(makeSandbox, async (sandbox, { workspace, outside }) => {
          const result = await run(sandbox, workspace, `echo note > '${join(outside, 'note.txt')}'`, {
            writable: [outside],
          });
          strictEqual(result.exitCode, 0, result.output);
          strictEqual(readFileSync(join(outside, 'note.txt'), 'utf8'), 'note\n');
        }),
      limit,
    );

    it(
      'can release a wrap and be closed',
      () =>
        withSandbox(makeSandbox, (sandbox, { workspace }) => {
          const wrapped = sandbox.wrap({
            command: 'true',
            env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
            workspace,
          });
          wrapped.release();
          strictEqual(typeof sandbox.backend, 'string');
          ok(['none', 'allowlist', 'host'].includes(sandbox.network));
          return Promise.resolve();
        }),
      limit,
    );

    if (!confines) return;

    it(
      'refuses writes outside the workspace and the writable folders, and to its .git',
      () =>
        withSandbox(makeSandbox, async (sandbox, { workspace, outside }) => {
          const target = join(outside, 'planted.txt');
          const result = await run(
            sandbox,
            workspace,
            `echo x > '${target}'; echo x > .git/planted; echo x > kept.txt`,
          );
          ok(!existsSync(target), 'a write outside the workspace failed');
          ok(!existsSync(join(workspace, '.git', 'planted')), 'a write into .git failed');
          ok(existsSync(join(workspace, 'kept.txt')), `the workspace stayed writable: ${result.output}`);
        }),
      limit,
    );

    it(
      "writes only a task's folders when the wrap names them (writableInside)",
      () =>
        withSandbox(makeSandbox, async (sandbox, { workspace }) => {
          mkdirSync(join(workspace, 'scope'));
          await run(sandbox, workspace, 'echo x > scope/in.txt; echo x > out.txt', {
            writableInside: ['scope'],
          });
          ok(existsSync(join(workspace, 'scope', 'in.txt')), 'the scope was writable');
          ok(!existsSync(join(workspace, 'out.txt')), 'the rest of the workspace was not');
        }),
      limit,
    );

    it(
      'hides a folder outside the workspace unless the wrap names it readable',
      () =>
        withSandbox(makeSandbox, async (sandbox, { workspace, outside }) => {
          const secret = join(outside, 'secret.txt');
          writeFileSync(secret, 'host secret\n');
          const hidden = await run(sandbox, workspace, `cat '${secret}'`);
          ok(!hidden.output.includes('host secret'), 'the secret stayed hidden');
          const named = await run(sandbox, workspace, `cat '${secret}'`, { readOnly: [outside] });
          ok(named.output.includes('host secret'), `a folder named readable is: ${named.output}`);
        }),
      limit,
    );

    it(
      'lets no credential through that the wrap does not name',
      () =>
        withSandbox(makeSandbox, async (sandbox, { workspace }) => {
          const result = await run(sandbox, workspace, 'echo "secret=$CONTRACT_API_KEY"', {
            env: { CONTRACT_API_KEY: 'leaked' },
          });
          strictEqual(result.exitCode, 0, result.output);
          ok(!result.output.includes('leaked'), result.output);
        }),
      limit,
    );

    it(
      "reaches no address of the host directly unless its network is the host's",
      () =>
        withSandbox(makeSandbox, async (sandbox, { workspace }) => {
          const server = createServer((socket) => socket.end('reached\n'));
          await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
          try {
            const { port } = server.address() as AddressInfo;
            const probe = `require('node:net').connect(${port}, '127.0.0.1').on('data', (d) => { process.stdout.write(String(d)); process.exit(0); }).on('error', (e) => { console.log(e.code); process.exit(1); })`;
            const result = await run(sandbox, workspace, `'${process.execPath}' -e "${probe}"`);
            // With network none or allowlist the only way out is the harness's proxy, never a direct connection.
            strictEqual(result.output.includes('reached'), sandbox.network === 'host', result.output);
          } finally {
            await new Promise((resolve) => server.close(resolve));
          }
        }),
      limit,
    );
  });
}
