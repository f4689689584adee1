import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { scriptedAgentMainPath } from '../src/testing/scripted-agent-session.ts';
import { git, makeWorkspace, tempDir } from './helpers.ts';

const bin = fileURLToPath(new URL('../bin/baton.js', import.meta.url));

function baton(args: readonly string[], cwd?: string): { code: number; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [bin, ...args], { cwd, encoding: 'utf8', timeout: 120_000 });
  return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

describe('the baton CLI', () => {
  it('runs the offline demo to a "done" verdict after rejecting an early claim, and the run can be inspected', () => {
    const dir = tempDir();
    const demo = baton(['demo', '--dir', dir]);
    expect(demo.stderr).toBe('');
    expect(demo.code).toBe(0);
    expect(demo.stdout).toContain('CLAIM REJECTED');
    expect(demo.stdout).toMatch(
      /verdict: Done: all 4 features pass, oracles tests pass, the tree is clean\./,
    );
    expect(demo.stdout).toContain('early claims rejected by the judge: 1');
    expect(demo.stdout).toMatch(/the work is on the run's branch baton\/\S+; main is checked out again/);
    const workspace = join(dir, 'textkit');

    const status = JSON.parse(baton(['status', '--json', '-C', workspace]).stdout) as {
      state: { featuresPassing: number; featuresTotal: number; stop: { reason: string } };
      features: { status: string }[];
    };
    expect(status.state).toMatchObject({ featuresPassing: 4, featuresTotal: 4, stop: { reason: 'done' } });
    expect(status.features.map((entry) => entry.status)).toEqual([
      'passing',
      'passing',
      'passing',
      'passing',
    ]);

    const log = JSON.parse(baton(['log', '--json', '-C', workspace]).stdout) as {
      iterations: { iteration: number; verdict: { claimRejected: boolean; done: boolean } }[];
    };
    expect(log.iterations.map((entry) => [entry.verdict.claimRejected, entry.verdict.done])).toEqual([
      [false, false],
      [false, false],
      [true, false],
      [false, false],
      [false, true],
    ]);
    const timeline = baton(['log', '-C', workspace]).stdout;
    expect(timeline).toContain('claim rejected');
    expect(timeline).toContain('stopped: done (exit 0)');

    const show = JSON.parse(baton(['show', '3', '--json', '-C', workspace]).stdout) as {
      handoff: string;
      prompt: string;
      judge: { reason: string };
      checks: { file: string }[];
    };
    expect(show.handoff).toContain('CLAIM: DONE');
    expect(show.judge.reason).toContain('the claim was rejected');
    expect(show.checks.map((check) => check.file)).toContain('feature-F3.log');
    const show5 = baton(['show', '5', '-C', workspace]).stdout;
    expect(show5).toContain('src/truncate.js');
    expect(show5).toContain('--- oracle-tests.log ---');

    // The receipt: written next to the log by the run, and again on demand, in each format.
    const receipt = JSON.parse(baton(['report', '--format', 'json', '-C', workspace]).stdout) as {
      schema: string;
      verdict: { done: boolean };
      rejectedClaims: { iteration: number }[];
      features: { passing: number; total: number };
    };
    expect(receipt).toMatchObject({ schema: 'baton.receipt/1', verdict: { done: true } });
    expect(receipt.features).toMatchObject({ passing: 4, total: 4 });
    expect(receipt.rejectedClaims.map((claim) => claim.iteration)).toEqual([3]);
    const markdown = baton(['report', '-C', workspace]).stdout;
    expect(markdown).toMatch(/^# baton run `[^`]+`: Done\n/);
    const runId = (JSON.parse(baton(['status', '--json', '-C', workspace]).stdout) as { runId: string })
      .runId;
    expect(readFileSync(join(workspace, '.baton/runs', runId, 'receipt.md'), 'utf8')).toBe(markdown);
    expect(baton(['report', '--format', 'html', '-C', workspace]).stdout).toContain('<!doctype html>');

    // The work is in git, on the run's branch: one commit per iteration with baton's trailers; main is
    // checked out again and the tree is clean.
    expect(git(workspace, 'status', '--porcelain')).toBe('');
    expect(git(workspace, 'symbolic-ref', '--short', 'HEAD').trim()).toBe('main');
    const branch = (status.state as unknown as { branch: string }).branch;
    expect(branch).toMatch(/^baton\//);
    expect(
      git(
        workspace,
        'log',
        '--reverse',
        '--format=%(trailers:key=Baton-Iteration,valueonly)',
        `main..${branch}`,
      )
        .split('\n')
        .filter((line) => line !== ''),
    ).toEqual(['1', '2', '3', '4', '5']);
    git(workspace, 'switch', '-q', branch);
    execFileSync('node', ['--test'], { cwd: workspace, stdio: 'ignore' });
  });

  it('says the error that ended a run once, with its fix, and exits with its code', async () => {
    const workspace = await makeWorkspace({
      agentYaml: 'agent:\n  type: command\n  command: no-such-agent-binary\n  timeout: 1m',
    });
    const run = baton(['run', '-C', workspace]);
    const both = `${run.stdout}\n${run.stderr}`;
    expect(both.split('no-such-agent-binary: not found').length - 1).toBe(1);
    expect(both.split('fix: install the agent program').length - 1).toBe(1);
    expect(run.stdout).toMatch(/stopped \(error\): the agent command was not found/);
    // The process exits with the code the stop line names.
    expect(run.code).toBe(Number(/\(exit (\d+)\)/.exec(run.stdout)?.[1]));
    expect(run.code).not.toBe(0);
    // With --json the event is data on stdout; the error is said on stderr, once.
    const json = baton(['run', '--json', '-C', workspace]);
    expect(json.stderr.split('no-such-agent-binary: not found').length - 1).toBe(1);
  });

  it('exits 2 with every problem and its fix when baton.yaml is broken, and changes nothing', async () => {
    const workspace = await makeWorkspace();
    const path = join(workspace, 'baton.yaml');
    writeFileSync(path, readFileSync(path, 'utf8').replace('iterations: 50', 'iteration: 50'));
    git(workspace, 'commit', '-qam', 'typo');
    const result = baton(['run', '-C', workspace]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('budgets.iteration: is not a known setting');
    expect(result.stderr).toContain('did you mean "iterations"?');
    expect(git(workspace, 'status', '--porcelain')).toBe('');
  });

  it('exits 2 with a usage message for an unknown command or a bad iteration number', async () => {
    expect(baton(['fly']).code).toBe(2);
    const workspace = await makeWorkspace();
    const result = baton(['show', 'three', '-C', workspace]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('is not an iteration number');
    expect(result.stderr).toContain('fix:');
  });

  it('initialises a workspace from a goal file and reports a missing run clearly', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'goal.md'), 'Build a tiny calculator.\n');
    const init = baton([
      'init',
      '--goal-file',
      join(dir, 'goal.md'),
      '-C',
      join(dir, 'calc'),
      '--agent',
      'my-agent --print',
      '--no-initializer',
    ]);
    expect(init.code).toBe(0);
    expect(init.stdout).toContain('initialised');
    expect(readFileSync(join(dir, 'calc/baton.yaml'), 'utf8')).toContain('command: "my-agent --print"');
    const status = baton(['status', '-C', join(dir, 'calc')]);
    expect(status.stdout).toContain('no run yet');
    const log = baton(['log', '-C', join(dir, 'calc')]);
    expect(log.code).toBe(2);
    expect(log.stderr).toContain('start one with `baton run`');
  });

  it('refuses a folder of files that is not a repository, and with --git-init says what it committed and left out', () => {
    const workspace = tempDir();
    writeFileSync(join(workspace, 'package.json'), '{"scripts": {"test": "node --test"}}\n');
    writeFileSync(join(workspace, 'index.js'), 'export {};\n');
    writeFileSync(join(workspace, 'id_ed25519'), 'PRIVATE KEY\n');
    const refused = baton(['init', 'Build it.', '-C', workspace]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('not a git repository');
    expect(refused.stderr).toContain('baton init --git-init');
    expect(readdirSync(workspace).sort()).toEqual(['id_ed25519', 'index.js', 'package.json']);

    const init = baton(['init', 'Build it.', '-C', workspace, '--git-init']);
    expect(init.stderr).toBe('');
    expect(init.code).toBe(0);
    expect(init.stdout).toContain('ran git init (--git-init) and wrote a .gitignore');
    expect(init.stdout).toMatch(/committed \d+ files: [^\n]*index\.js/);
    expect(init.stdout).toContain('left out id_ed25519 (looks like a secret)');
    expect(init.stdout).toContain(
      'using `npm test` (from package.json) as the oracle and smoke test; change it in baton.yaml and init.sh',
    );
    expect(git(workspace, 'ls-tree', '-r', '--name-only', 'HEAD')).not.toContain('id_ed25519');
  });

  it('runs the --agent command as the initializer, and says which command is missing when it is', () => {
    const dir = tempDir();
    // The initializer runs in the default sandbox, which hides /tmp: its script sits where baton's own
    // installation is readable inside it.
    const scripts = join(import.meta.dirname, '..', 'test-artifacts');
    mkdirSync(scripts, { recursive: true });
    const script = join(mkdtempSync(join(scripts, 'initializer-')), 'initializer.json');
    writeFileSync(
      script,
      JSON.stringify({
        rules: [
          {
            do: [
              {
                write: {
                  path: 'FEATURES.json',
                  content: JSON.stringify({
                    version: 1,
                    features: [{ id: 'add', title: 'adds', verify: 'true', status: 'failing' }],
                  }),
                },
              },
            ],
            say: 'wrote one feature',
          },
        ],
      }),
    );
    const command = `${process.execPath} ${scriptedAgentMainPath()} ${script}`;
    if (process.getuid?.() === 0) {
      // As root the sandbox runs as a uid of its own (sandbox.user: auto), which cannot enter mkdtemp's
      // 0700 folder: baton says so, and how to fix it, before the agent fails inside on a bare EACCES.
      const hidden = baton(['init', 'Build a calculator.', '-C', join(dir, 'hidden'), '--agent', command]);
      expect(hidden.code).not.toBe(0);
      expect(hidden.stderr).toContain(`cannot enter ${dirname(script)} (mode 700)`);
      expect(hidden.stderr).toContain(`chmod o+x ${dirname(script)}`);
    }
    chmodSync(dirname(script), 0o755);
    const init = baton(['init', 'Build a calculator.', '-C', join(dir, 'calc'), '--agent', command]);
    expect(init.stderr).toBe('');
    expect(init.stdout).toContain('the initializer wrote them (accepted on attempt 1)');
    expect(JSON.parse(readFileSync(join(dir, 'calc/FEATURES.json'), 'utf8'))).toMatchObject({
      features: [{ id: 'add', status: 'failing', evidence: null }],
    });

    const missing = baton(['init', 'Build it.', '-C', join(dir, 'other'), '--agent', 'baton-no-such-agent']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('the agent command was not found');
    expect(missing.stderr).toContain('fix: install the agent program');
  });
});
