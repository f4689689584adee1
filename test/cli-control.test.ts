import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { readRun } from '../src/api/inspect.ts';
import { feature, git, makeWorkspace } from './helpers.ts';

const bin = fileURLToPath(new URL('../bin/baton.js', import.meta.url));

function baton(args: readonly string[]): { code: number; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

async function until(condition: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('controlling a run from another terminal', () => {
  it('pause, explain, steer, resume, stop --now, checkpoints and rollback work on a live CLI run', async () => {
    const workspace = await makeWorkspace({
      features: [1, 2, 3, 4].map((index) => feature(`F${index}`, `test -f f${index}.txt`)),
      agentYaml:
        'agent:\n  type: command\n  command: "for f in f1 f2 f3; do [ -f $f.txt ] || { sleep 0.2; touch $f.txt; echo made $f; exit 0; }; done; sleep 30"\n  timeout: 5m',
      budgets: { noProgressIterations: 0 },
    });
    const events = () => {
      try {
        return readRun(workspace).events;
      } catch {
        return [];
      }
    };
    // A pause with no harness running is not kept for a later run.
    expect(baton(['pause', '-C', workspace]).stdout).toContain('no harness is running');
    const harness = spawn(process.execPath, [bin, 'run', '-C', workspace], { stdio: 'ignore' });
    const exited = new Promise<number | null>((resolve) => harness.once('exit', resolve));
    await until(() => events().some((event) => event.type === 'agent.started'), 'the first session');
    expect(events().some((event) => event.type === 'run.paused')).toBe(false);
    expect(baton(['pause', '-C', workspace]).stdout).toContain('will pause after the current iteration');
    await until(() => events().some((event) => event.type === 'run.paused'), 'the run to pause');
    expect(baton(['explain', '-C', workspace]).stdout).toContain('Paused by a person');
    // status and explain agree: paused, not running.
    expect(baton(['status', '-C', workspace]).stdout).toMatch(/^run \S+: paused\n/);
    expect(baton(['steer', 'Create the files in order.', '-C', workspace]).code).toBe(0);
    expect(baton(['resume', '-C', workspace]).stdout).toContain('goes on');
    await until(
      () => events().filter((event) => event.type === 'iteration.ended').length >= 3,
      'three iterations',
    );
    // The fourth session sleeps: stop it now.
    await until(
      () => events().filter((event) => event.type === 'agent.started').length >= 4,
      'a fourth session',
    );
    expect(baton(['stop', '--now', '-C', workspace]).stdout).toContain('stopping now');
    expect(await exited).toBe(5);
    const all = events();
    expect(
      all.some((event) => event.type === 'steer.received' && event.message === 'Create the files in order.'),
    ).toBe(true);
    expect(all.some((event) => event.type === 'iteration.interrupted')).toBe(true);
    expect(all.at(-2)).toMatchObject({ type: 'run.stopped', reason: 'stopped' });
    // The person's branch is checked out again when the run stops.
    expect(all.at(-1)).toMatchObject({ type: 'branch.switched', to: 'main' });
    const runBranch = readRun(workspace).state.branch ?? '';
    const mainBefore = git(workspace, 'rev-parse', 'main');

    const checkpoints = JSON.parse(baton(['checkpoints', '--json', '-C', workspace]).stdout) as {
      iteration: number;
    }[];
    expect(checkpoints.map((entry) => entry.iteration)).toEqual([1, 2, 3]);
    const rollback = baton(['rollback', '2', '-C', workspace]);
    expect(rollback.stdout).toContain('2/4 features passing');
    // Only the run's branch moved; main and the checkout are untouched.
    expect(git(workspace, 'ls-tree', '--name-only', runBranch)).not.toContain('f3.txt');
    expect(git(workspace, 'rev-parse', 'main')).toBe(mainBefore);
    expect(git(workspace, 'symbolic-ref', '--short', 'HEAD').trim()).toBe('main');
    const explained = JSON.parse(baton(['explain', '--json', '-C', workspace]).stdout) as {
      headline: string;
      lastCheckpoint: { tag: string };
    };
    expect(explained.headline).toContain('Stopped (stopped)');
    expect(explained.lastCheckpoint.tag).toMatch(/checkpoint-2$/);
  });
});
