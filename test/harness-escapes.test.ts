import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readRun } from '../src/api/inspect.ts';
import { runLoop } from '../src/api/run.ts';
import { createFunctionAgent } from '../src/testing/function-agent.ts';
import { feature, git, makeWorkspace, tempDir } from './helpers.ts';

/**
 * Hostile workers against what the harness does outside the sandbox, through a real run of the loop:
 * each first shows its attack works with plain git or plain fs, then that the run refuses the iteration,
 * leaves the target untouched and goes on to done.
 */
function plainGit(cwd: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'user.name=w', '-c', 'user.email=w@localhost', ...args], {
    cwd,
    encoding: 'utf8',
  });
}

const twoFeatures = [feature('F1', 'test -f a.txt'), feature('F2', 'test -f b.txt')];

describe('harness-side escapes, in a real run', () => {
  it('a nested repository with a hostile fsmonitor: never committed, never run, the run goes on', async () => {
    const outside = tempDir();
    const canary = join(outside, 'fsmonitor-ran');
    const workspace = await makeWorkspace({ features: twoFeatures });
    const plantRepository = (cwd: string): void => {
      const vendor = join(cwd, 'vendor');
      mkdirSync(vendor, { recursive: true });
      plainGit(vendor, 'init', '-q');
      writeFileSync(join(vendor, 'lib.js'), 'export {};\n');
      plainGit(vendor, 'add', 'lib.js');
      plainGit(vendor, 'commit', '-qm', 'vendored');
      plainGit(vendor, 'config', 'core.fsmonitor', `touch ${canary}; false`);
    };
    // The attack works: plain `git add` records a gitlink, and the next plain `git status` runs the command.
    const probe = tempDir();
    plainGit(probe, 'init', '-q');
    plantRepository(probe);
    plainGit(probe, 'add', '--all');
    plainGit(probe, 'status', '--porcelain');
    expect(existsSync(canary)).toBe(true);
    execFileSync('rm', ['-f', canary]);

    let sessions = 0;
    const worker = createFunctionAgent(({ cwd }) => {
      sessions += 1;
      if (sessions === 1) {
        plantRepository(cwd);
        writeFileSync(join(cwd, 'a.txt'), 'a\n');
        return 'vendored a library and made a.txt';
      }
      for (const file of ['a.txt', 'b.txt']) writeFileSync(join(cwd, file), `${file}\n`);
      return 'made a.txt and b.txt';
    });
    const result = await runLoop({ workspace, agent: worker });
    expect(result.stop.reason).toBe('done');
    expect(existsSync(canary)).toBe(false);
    const events = readRun(workspace).events;
    const fired = events.filter(
      (event) => event.type === 'guard.fired' && event.guard === 'nested-repository',
    );
    expect(fired).toHaveLength(1);
    expect(events.some((event) => event.type === 'iteration.rolled-back' && event.iteration === 1)).toBe(
      true,
    );
    // No gitlink anywhere in the branch, the repository kept aside (nothing deleted).
    expect(git(workspace, 'ls-tree', '-r', 'HEAD')).not.toContain('160000');
    expect(existsSync(join(workspace, 'vendor'))).toBe(false);
    expect(
      existsSync(join(workspace, '.baton', 'scratch', result.runId, '1', 'vendor', '.git', 'config')),
    ).toBe(true);
  });

  it('a state file replaced by a link to a host file: refused, the host file untouched, the run goes on', async () => {
    const outside = tempDir();
    const secret = join(outside, 'id_rsa');
    writeFileSync(secret, 'PRIVATE KEY\n');
    const workspace = await makeWorkspace({ features: twoFeatures });
    let sessions = 0;
    const worker = createFunctionAgent(({ cwd }) => {
      sessions += 1;
      if (sessions === 1) {
        execFileSync('rm', [join(cwd, 'PROGRESS.md')]);
        symlinkSync(secret, join(cwd, 'PROGRESS.md'));
        writeFileSync(join(cwd, 'a.txt'), 'a\n');
        return 'made a.txt';
      }
      for (const file of ['a.txt', 'b.txt']) writeFileSync(join(cwd, file), `${file}\n`);
      return 'made a.txt and b.txt';
    });
    const result = await runLoop({ workspace, agent: worker });
    expect(result.stop.reason).toBe('done');
    expect(readFileSync(secret, 'utf8')).toBe('PRIVATE KEY\n');
    const events = readRun(workspace).events;
    expect(events.some((event) => event.type === 'guard.fired' && event.guard === 'unsafe-file')).toBe(true);
    // The key reached no commit, no evidence, no log line.
    expect(git(workspace, 'log', '--all', '-p')).not.toContain('PRIVATE KEY');
    expect(JSON.stringify(events)).not.toContain('PRIVATE KEY');
    expect(readFileSync(join(workspace, 'PROGRESS.md'), 'utf8')).not.toContain('PRIVATE KEY');
  });
});
