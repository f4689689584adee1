/**
 * Checks side by side (issue 18, deliver 2): up to `verify.concurrency` checks at once, each in its own
 * sandbox with its own output file, results in the checks' order; an exclusive check alone. Nothing here
 * waits on a clock: checks that can only pass together meet through files (a rendezvous), so running
 * them one after another fails them, and running them together passes them however slow the machine.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runLoop } from '../src/api/run.ts';
import { checkConcurrency, runChecks, verificationChecks } from '../src/core/check-specs.ts';
import type { CheckSpec } from '../src/checks/registry.ts';
import type { CheckResult } from '../src/log/events.ts';
import { detectBwrap } from '../src/sandbox/bwrap.ts';
import { createSandbox } from '../src/sandbox/sandbox.ts';
import { configSchema } from '../src/config/schema.ts';
import { feature, git, makeWorkspace, tempDir } from './helpers.ts';

/** Shell for a check that says it started, then waits (up to 60 s) for `others` to have started. */
function meets(name: string, others: readonly string[], after = ''): string {
  const waits = others.map((other) => `[ -f ${other}.started ]`).join(' && ');
  return `{ touch ${name}.started; for i in $(seq 600); do ${waits} && break; sleep 0.1; done; ${waits} && ${after}touch ${name}.done; }`;
}

function spec(name: string, command: string, exclusive = false): CheckSpec {
  return { type: 'command', name, kind: 'feature', command, timeoutMs: 120_000, exclusive };
}

async function run(
  workspace: string,
  specs: readonly CheckSpec[],
  concurrency: number,
  label: string,
): Promise<CheckResult[]> {
  const { sandbox } = createSandbox(workspace, configSchema.parse({ version: 1 }).sandbox);
  mkdirSync(join(workspace, '.baton', label), { recursive: true });
  try {
    return await runChecks(
      specs,
      {
        workspace,
        outputDir: join(workspace, '.baton', label),
        env: process.env,
        signal: new AbortController().signal,
        sandbox,
      },
      { concurrency },
    );
  } finally {
    await sandbox.close();
  }
}

function repository(): string {
  const workspace = tempDir();
  git(workspace, 'init', '-q');
  writeFileSync(join(workspace, '.gitignore'), '.baton/\n*.started\n*.done\n*.running\n');
  return workspace;
}

describe('which checks run alone', () => {
  it('verify.exclusive names features, an oracle says exclusive: true; the rest may run side by side', () => {
    const config = configSchema.parse({
      version: 1,
      verify: { concurrency: 3, exclusive: ['F2'] },
      oracles: [
        { name: 'db', command: 'npm run test:db', exclusive: true },
        { name: 'unit', command: 'npm test' },
      ],
    });
    const specs = verificationChecks([feature('F1', 'true'), feature('F2', 'true')], config);
    expect(specs.map((check) => [check.name, check.exclusive])).toEqual([
      ['F1', false],
      ['F2', true],
      ['db', true],
      ['unit', false],
    ]);
    expect(checkConcurrency(config)).toBe(3);
    expect(checkConcurrency(configSchema.parse({ version: 1 }))).toBe(availableParallelism());
    expect(configSchema.safeParse({ version: 1, verify: { concurrency: 0 } }).success).toBe(false);
  });
});

describe.runIf(detectBwrap().works)('checks side by side', () => {
  it('two checks that can only pass together pass with concurrency 2, in the order given', async () => {
    const workspace = repository();
    const results = await run(
      workspace,
      [spec('A', meets('A', ['B'])), spec('B', meets('B', ['A']))],
      2,
      'together',
    );
    expect(results.map((result) => [result.name, result.passed])).toEqual([
      ['A', true],
      ['B', true],
    ]);
  });

  it('an exclusive check runs alone: after what started before it ends, before anything after it starts', async () => {
    const workspace = repository();
    const alone =
      '[ -f A.done ] && [ -f B.done ] && [ ! -e C.started ] && [ ! -e D.started ] && touch X.done';
    const results = await run(
      workspace,
      [
        spec('A', meets('A', ['B'])),
        spec('B', meets('B', ['A'])),
        spec('X', alone, true),
        spec('C', meets('C', ['D'], '[ -f X.done ] && ')),
        spec('D', meets('D', ['C'], '[ -f X.done ] && ')),
      ],
      4,
      'exclusive',
    );
    expect(results.map((result) => [result.name, result.passed])).toEqual([
      ['A', true],
      ['B', true],
      ['X', true],
      ['C', true],
      ['D', true],
    ]);
  });

  it('an exclusive check runs alone across batches too: the judge runs other checks beside the main verification', async () => {
    const workspace = repository();
    // Each refuses to overlap the other: it fails if the other's marker is there when it starts or ends.
    const apart = (name: string, other: string) =>
      `[ ! -e ${other}.running ] && touch ${name}.running && sleep 0.3 && [ ! -e ${other}.running ] && rm ${name}.running`;
    const [main, overlay] = await Promise.all([
      run(workspace, [spec('X', apart('X', 'Y'), true)], 2, 'main'),
      run(workspace, [spec('Y', apart('Y', 'X')), spec('Z', apart('Z', 'X'))], 2, 'overlay'),
    ]);
    expect([...main, ...overlay].map((result) => [result.name, result.passed])).toEqual([
      ['X', true],
      ['Y', true],
      ['Z', true],
    ]);
  });

  it('a check its sandbox refuses ends the batch: nothing more starts, what runs is waited for, the error is thrown', async () => {
    const workspace = repository();
    const { sandbox: real } = createSandbox(workspace, configSchema.parse({ version: 1 }).sandbox);
    const refusing = {
      ...real,
      wrap: (request: Parameters<typeof real.wrap>[0]) => {
        if (JSON.stringify(request.command).includes('refused')) throw new Error('the sandbox refused it');
        return real.wrap(request);
      },
    };
    mkdirSync(join(workspace, '.baton', 'refusal'), { recursive: true });
    const batch = runChecks(
      [
        spec('slow', 'sleep 0.5; touch slow.done'),
        spec('refused', 'echo refused'),
        spec('after', 'touch after.started'),
      ],
      {
        workspace,
        outputDir: join(workspace, '.baton', 'refusal'),
        env: process.env,
        signal: new AbortController().signal,
        sandbox: refusing,
      },
      { concurrency: 2 },
    );
    await expect(batch).rejects.toThrow('the sandbox refused it');
    expect(existsSync(join(workspace, 'slow.done'))).toBe(true);
    expect(existsSync(join(workspace, 'after.started'))).toBe(false);
    await real.close();
  });

  it('gives the same results, in the same order, with the same saved output, one by one and side by side', async () => {
    const workspace = repository();
    const specs = [
      spec('pass', 'echo passing; exit 0'),
      spec('fail', 'echo failing >&2; exit 3'),
      spec('big', 'seq 1 20000'),
      spec('exclusive', 'echo alone', true),
      spec('missing', 'no-such-command-here'),
      spec('last', 'echo last'),
    ];
    const serial = await run(workspace, specs, 1, 'serial');
    const parallel = await run(workspace, specs, 4, 'parallel');
    const shape = (results: CheckResult[], label: string) =>
      results.map((result) => ({
        name: result.name,
        passed: result.passed,
        exitCode: result.exitCode,
        ended: result.ended,
        output: readFileSync(join(workspace, result.outputPath), 'utf8'),
        outputPath: result.outputPath.replace(label, '<label>'),
      }));
    expect(shape(parallel, 'parallel')).toEqual(shape(serial, 'serial'));
    expect(serial.map((result) => result.passed)).toEqual([true, false, true, true, false, true]);
  });

  it('verify.concurrency in baton.yaml reaches the loop: checks that can only pass together land the feature', async () => {
    const workspace = await makeWorkspace({
      features: [
        feature('A', `test -f work.txt && ${meets('A', ['B'])}`),
        feature('B', `test -f work.txt && ${meets('B', ['A'])}`),
      ],
      budgets: { iterations: 2, noProgressIterations: 0 },
      agentYaml: 'agent:\n  type: command\n  command: ["sh", "-c", "echo done > work.txt"]\n  timeout: 1m',
    });
    const path = join(workspace, 'baton.yaml');
    writeFileSync(path, `${readFileSync(path, 'utf8')}\nverify:\n  concurrency: 2\n`);
    writeFileSync(join(workspace, '.gitignore'), '*.started\n*.done\n');
    git(workspace, 'add', '.gitignore');
    git(workspace, 'commit', '-qam', 'two checks side by side');
    const result = await runLoop({ workspace });
    expect(result.stop.reason, result.stop.message).toBe('done');
  });
});
