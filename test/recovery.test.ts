import { execSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { listCheckpoints, rollbackTo } from '../src/api/checkpoints.ts';
import { pauseRun, resumeOrUnpause, steerRun, stopRun } from '../src/api/control.ts';
import { explain } from '../src/api/explain.ts';
import { readRun } from '../src/api/inspect.ts';
import { resumeRun, runLoop } from '../src/api/run.ts';
import { BatonError } from '../src/errors.ts';
import { acquireRunLock, lockPath } from '../src/run/lock.ts';
import { findRunProcesses } from '../src/run/orphans.ts';
import { createFunctionAgent } from '../src/testing/function-agent.ts';
import { readFeatureList } from '../src/workspace/features.ts';
import { checkOutRunBranch, feature, git, makeWorkspace } from './helpers.ts';

const threeFeatures = [
  feature('F1', 'test -f a.txt'),
  feature('F2', 'test -f b.txt'),
  feature('F3', 'test -f c.txt'),
];

/** A worker that creates the next missing file; `during` lets a test act as a person mid-run. */
function fileWorker(during: (iteration: number, cwd: string) => void = () => undefined) {
  return createFunctionAgent(({ cwd, env }) => {
    const iteration = Number(env.BATON_ITERATION);
    during(iteration, cwd);
    const next = ['a.txt', 'b.txt', 'c.txt'].find((file) => !existsSync(join(cwd, file)));
    if (next !== undefined) writeFileSync(join(cwd, next), `${iteration}\n`);
    return next === undefined ? 'nothing left' : `created ${next}`;
  });
}

describe('the run lock', () => {
  it('keeps a second harness out, and takes over a lock whose process is dead', async () => {
    const workspace = await makeWorkspace();
    const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      mkdirSync(dirname(lockPath(workspace)), { recursive: true });
      writeFileSync(
        lockPath(workspace),
        JSON.stringify({
          pid: sleeper.pid,
          runId: 'other',
          host: (await import('node:os')).hostname(),
          startedAt: '',
        }),
      );
      const error = await runLoop({ workspace, agent: fileWorker() }).catch((caught: unknown) => caught);
      expect((error as BatonError).code).toBe('LOCKED');
      expect((error as BatonError).message).toContain(`pid ${String(sleeper.pid)}`);
      expect((error as BatonError).fix).toContain('baton stop');
    } finally {
      sleeper.kill('SIGKILL');
    }
    await new Promise((resolve) => sleeper.once('exit', resolve));
    const lock = acquireRunLock(workspace, 'mine');
    expect(lock.recovered?.pid).toBe(sleeper.pid);
    expect(() => acquireRunLock(workspace, 'again')).toThrow(/another baton harness/);
    lock.release();
    expect(existsSync(lockPath(workspace))).toBe(false);
  });
});

describe('worker death', () => {
  it('ends the iteration as failed with evidence, sets its half-done work aside, and the next starts clean', async () => {
    // A real process that kills itself in its first session, after writing half of its work.
    const killed = await makeWorkspace({
      features: threeFeatures,
      agentYaml:
        'agent:\n  type: command\n  command: "echo partial > half-done.txt; if [ \\"$BATON_ITERATION\\" = 1 ]; then kill -9 $$; fi; for f in a b c; do [ -f $f.txt ] || { touch $f.txt; exit 0; }; done"\n  timeout: 1m',
    });
    const run = await runLoop({ workspace: killed });
    const first = run.state.iterations[0];
    expect(first?.agentStatus).toBe('failed');
    expect(first?.rolledBack).toBe(true);
    expect(first?.verdict?.reason).toContain('the worker did not finish');
    expect(git(killed, 'show', `refs/baton/rejected/${run.runId}/1:half-done.txt`)).toBe('partial\n');
    expect(
      readFileSync(join(killed, '.baton/runs', run.runId, 'iterations/00001/transcript.log'), 'utf8'),
    ).toBe('');
    expect(run.stop.reason).toBe('done');
  });
});

describe('a person steering a live run', () => {
  it('steer reaches the next prompt, pause waits for resume, edits made while paused are committed, stop ends the run, resume continues it', async () => {
    const workspace = await makeWorkspace({ features: threeFeatures, budgets: { noProgressIterations: 0 } });
    let unpausedAt = 0;
    const worker = fileWorker((iteration) => {
      if (iteration === 1) {
        steerRun(workspace, 'Prefer small commits; a.txt must end with a newline.');
        expect(pauseRun(workspace).live).toBe(true);
        // A person edits the plan once the run waits (its run.paused is in the log), then lets it go on.
        void (async () => {
          await untilLogged(workspace, 'run.paused');
          writeFileSync(
            join(workspace, 'IMPLEMENTATION_PLAN.md'),
            '# Plan\n\n- [ ] F3: c.txt (edited by a person)\n',
          );
          unpausedAt = Date.now();
          await resumeOrUnpause({ workspace });
        })();
      }
      if (iteration === 2) expect(stopRun(workspace, false).live).toBe(true);
    });
    const stopped = await runLoop({ workspace, agent: worker, controlPollMs: 50 });
    expect(stopped.stop.reason).toBe('stopped');
    expect(stopped.stop.exitCode).toBe(5);
    expect(unpausedAt).toBeGreaterThan(0);
    const types = stopped.state.iterations.map((entry) => entry.iteration);
    expect(types).toEqual([1, 2]);
    const prompt2 = readFileSync(
      join(workspace, '.baton/runs', stopped.runId, 'iterations/00002/prompt.md'),
      'utf8',
    );
    expect(prompt2).toContain('A person steering this run says');
    expect(prompt2).toContain('a.txt must end with a newline');
    const record = readRun(workspace);
    expect(record.events.some((event) => event.type === 'run.paused')).toBe(true);
    expect(
      record.events.some(
        (event) => event.type === 'human.edited' && event.paths.includes('IMPLEMENTATION_PLAN.md'),
      ),
    ).toBe(true);
    expect(git(workspace, 'show', `${stopped.state.branch ?? ''}:IMPLEMENTATION_PLAN.md`)).toContain(
      'edited by a person',
    );
    expect(explain(workspace).headline).toContain('Stopped (stopped)');

    const resumed = await resumeRun({ workspace, agent: fileWorker() });
    expect(resumed.resumed).toBe(true);
    expect(resumed.runId).toBe(stopped.runId);
    expect(resumed.stop.reason).toBe('done');
    expect(resumed.state.iterationsCompleted).toBe(3);
  });

  it('stop --now interrupts a long iteration within seconds, keeps its work under a ref, and leaves no process behind', async () => {
    const workspace = await makeWorkspace({
      features: threeFeatures,
      agentYaml: 'agent:\n  type: command\n  command: "echo started > wip.txt; sleep 60"\n  timeout: 5m',
    });
    const started = Date.now();
    setTimeout(() => {
      stopRun(workspace, true);
    }, 700);
    const result = await runLoop({ workspace, controlPollMs: 100 });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(result.stop.reason).toBe('stopped');
    const interrupted = readRun(workspace).events.find((event) => event.type === 'iteration.interrupted');
    expect(interrupted?.type === 'iteration.interrupted' && interrupted.savedAs).toBe(
      `refs/baton/interrupted/${result.runId}/1`,
    );
    expect(git(workspace, 'show', `refs/baton/interrupted/${result.runId}/1:wip.txt`)).toBe('started\n');
    expect(git(workspace, 'status', '--porcelain')).toBe('');
    expect(findRunProcesses(result.runId)).toEqual([]);
  });
});

/** Wait for an event of the workspace's run to be in its log (a failure after a minute, never a guess). */
async function untilLogged(workspace: string, type: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const seen = (() => {
      try {
        return readRun(workspace).events.some((event) => event.type === type);
      } catch {
        return false;
      }
    })();
    if (seen) return;
    if (Date.now() > deadline) throw new Error(`no ${type} event in the log after a minute`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('budgets across a resume', () => {
  it('raising a spent budget continues the run without resetting what was spent', async () => {
    const workspace = await makeWorkspace({ features: threeFeatures, budgets: { iterations: 2 } });
    const first = await runLoop({ workspace, agent: fileWorker() });
    expect(first.stop.reason).toBe('budget-iterations');
    expect(explain(workspace).budgets.find((line) => line.name === 'iterations')).toMatchObject({
      used: '2',
      limit: '2',
      left: '0',
    });
    // Resuming without raising the budget stops again at once.
    const again = await resumeRun({ workspace, agent: fileWorker() });
    expect(again.stop.reason).toBe('budget-iterations');
    expect(again.state.iterationsCompleted).toBe(2);
    // The run's baton.yaml is the one on its branch: the person raises the budget there.
    git(workspace, 'switch', '-q', again.state.branch ?? '');
    const path = join(workspace, 'baton.yaml');
    writeFileSync(path, readFileSync(path, 'utf8').replace('iterations: 2', 'iterations: 3'));
    git(workspace, 'commit', '-qam', 'raise the budget');
    const raised = await resumeRun({ workspace, agent: fileWorker() });
    expect(raised.stop.reason).toBe('done');
    expect(raised.state.iterationsCompleted).toBe(3);
    const error = await resumeRun({ workspace, agent: fileWorker() }).catch((caught: unknown) => caught);
    expect((error as BatonError).code).toBe('NOTHING_TO_RESUME');
  });
});

describe('checkpoints and rollback', () => {
  it('lists checkpoints and rolls back to one, keeping the later state and uncommitted changes under a backup ref', async () => {
    const workspace = await makeWorkspace({ features: threeFeatures });
    const run = await runLoop({ workspace, agent: fileWorker() });
    expect(run.stop.reason).toBe('done');
    // The person works on the run's branch (the run left main checked out).
    checkOutRunBranch(workspace, run.state);
    const checkpoints = listCheckpoints(workspace);
    expect(checkpoints.map((entry) => [entry.iteration, entry.featuresPassing])).toEqual([
      [1, 1],
      [2, 2],
      [3, 3],
    ]);
    writeFileSync(join(workspace, 'unsaved.txt'), 'a person was typing\n');
    const before = git(workspace, 'rev-parse', 'HEAD').trim();
    // Uncommitted work is never taken without --force; the refusal moves nothing.
    await expect(rollbackTo(workspace, '1')).rejects.toMatchObject({ code: 'ROLLBACK_WOULD_LOSE_WORK' });
    expect(git(workspace, 'rev-parse', 'HEAD').trim()).toBe(before);
    expect(readFileSync(join(workspace, 'unsaved.txt'), 'utf8')).toBe('a person was typing\n');
    const result = await rollbackTo(workspace, '1', { force: true });
    expect(result).toMatchObject({
      featuresPassing: 1,
      featuresTotal: 3,
      applied: true,
      uncommitted: ['unsaved.txt'],
    });
    expect(git(workspace, 'rev-parse', 'HEAD').trim()).toBe(checkpoints[0]?.commit);
    expect(existsSync(join(workspace, 'b.txt'))).toBe(false);
    expect(result.backup).toMatch(/^refs\/baton\/backup\//);
    expect(git(workspace, 'show', `${result.backup ?? ''}:unsaved.txt`)).toBe('a person was typing\n');
    git(workspace, 'merge-base', '--is-ancestor', before, result.backup ?? '');
    const list = readFeatureList(workspace);
    expect(list.ok && list.list.features.map((entry) => entry.status)).toEqual([
      'passing',
      'failing',
      'failing',
    ]);
    expect(readRun(workspace).state.featuresPassing).toBe(1);
    await expect(rollbackTo(workspace, '9')).rejects.toMatchObject({ code: 'CHECKPOINT_NOT_FOUND' });
    // The later checkpoints are still there (their refs exist): rolling forward again works.
    expect(listCheckpoints(workspace).map((entry) => entry.iteration)).toEqual([1, 2, 3]);
    await rollbackTo(workspace, '3');
    expect(git(workspace, 'rev-parse', 'HEAD').trim()).toBe(checkpoints[2]?.commit);
  });

  it("refuses to take a person's commit, shows it with --dry-run, and with --force keeps everything with a working undo", async () => {
    const workspace = await makeWorkspace({ features: threeFeatures });
    const run = await runLoop({ workspace, agent: fileWorker() });
    expect(run.stop.reason).toBe('done');
    checkOutRunBranch(workspace, run.state);
    writeFileSync(join(workspace, 'README.md'), '# the person wrote this\n');
    git(workspace, 'add', 'README.md');
    git(
      workspace,
      '-c',
      'user.name=Pat Person',
      '-c',
      'user.email=pat@example.test',
      'commit',
      '-qm',
      'Docs by a person',
    );
    const personCommit = git(workspace, 'rev-parse', 'HEAD').trim();
    writeFileSync(join(workspace, 'a.txt'), 'edited, not committed\n');
    writeFileSync(join(workspace, 'NOTES.txt'), 'untracked notes\n');
    const snapshot = (): string[] => [
      git(workspace, 'rev-parse', 'HEAD').trim(),
      readFileSync(join(workspace, 'a.txt'), 'utf8'),
      readFileSync(join(workspace, 'NOTES.txt'), 'utf8'),
      readFileSync(join(workspace, 'README.md'), 'utf8'),
    ];
    const before = snapshot();

    const dry = await rollbackTo(workspace, '1', { dryRun: true });
    expect(dry.applied).toBe(false);
    expect(dry.undone.find((entry) => entry.commit === personCommit)).toMatchObject({
      person: true,
      author: 'Pat Person <pat@example.test>',
    });
    expect(dry.undone.filter((entry) => entry.person)).toHaveLength(1);
    expect([...dry.uncommitted].sort()).toEqual(['NOTES.txt', 'a.txt']);
    expect(snapshot()).toEqual(before);

    const refused = await rollbackTo(workspace, '1').catch((caught: unknown) => caught);
    expect(refused).toMatchObject({ code: 'ROLLBACK_WOULD_LOSE_WORK' });
    expect((refused as BatonError).message).toContain(personCommit.slice(0, 8));
    expect(snapshot()).toEqual(before);

    const forced = await rollbackTo(workspace, '1', { force: true });
    expect(git(workspace, 'rev-parse', 'HEAD').trim()).toBe(forced.commit);
    expect(existsSync(join(workspace, 'NOTES.txt'))).toBe(false);
    expect(forced.undo).not.toBeNull();
    execSync(forced.undo ?? '', { cwd: workspace });
    expect(snapshot()).toEqual(before);
    expect(
      git(workspace, 'status', '--porcelain', '--untracked-files=all').split('\n').sort().filter(Boolean),
    ).toEqual([' M a.txt', '?? NOTES.txt']);
  });
});

describe('steering belongs to one run', () => {
  it("a later run never hears an earlier run's steering, and steering with no run is refused with the fix", async () => {
    const workspace = await makeWorkspace({ features: threeFeatures });
    expect(() => steerRun(workspace, 'too early')).toThrow(/no run to steer/);
    const first = await runLoop({
      workspace,
      agent: fileWorker((iteration) => {
        if (iteration === 1) steerRun(workspace, 'Only for the first run.');
      }),
    });
    expect(first.stop.reason).toBe('done');
    expect(
      readRun(workspace, first.runId).events.filter((event) => event.type === 'steer.received'),
    ).toHaveLength(1);
    // A new goal for the same workspace: a new run.
    writeFileSync(join(workspace, 'd.txt'), 'seed\n');
    git(workspace, 'add', 'd.txt');
    git(workspace, 'commit', '-qm', 'seed');
    const second = await runLoop({ workspace, agent: fileWorker() });
    expect(second.runId).not.toBe(first.runId);
    const heard = readRun(workspace, second.runId).events.filter((event) => event.type === 'steer.received');
    expect(heard).toEqual([]);
    expect(
      readFileSync(join(workspace, '.baton/runs', second.runId, 'iterations/00001/prompt.md'), 'utf8'),
    ).not.toContain('Only for the first run.');
  });
});

describe("a person's work around a regression rollback", () => {
  it("keeps a person's commit, uncommitted edit and untracked file made between iterations, byte for byte, under their identity", async () => {
    const workspace = await makeWorkspace({
      features: threeFeatures,
      budgets: { iterations: 2, noProgressIterations: 0 },
    });
    git(workspace, 'config', 'user.name', 'Pat Person');
    git(workspace, 'config', 'user.email', 'pat@example.test');
    let personCommit = '';
    const worker = createFunctionAgent(({ cwd, env }) => {
      if (env.BATON_ITERATION === '1') writeFileSync(join(cwd, 'a.txt'), '1\n');
      else {
        // Iteration 2 makes b.txt but breaks F1: a regression, rolled back.
        rmSync(join(cwd, 'a.txt'));
        writeFileSync(join(cwd, 'b.txt'), '2\n');
      }
      return 'done my part';
    });
    const result = await runLoop({
      workspace,
      agent: worker,
      onEvent: (event) => {
        if (event.type !== 'iteration.ended' || event.iteration !== 1) return;
        // A person works in the repository between the iterations.
        writeFileSync(join(workspace, 'docs.md'), '# docs\n');
        git(workspace, 'add', 'docs.md');
        git(workspace, 'commit', '-qm', 'Docs by a person');
        personCommit = git(workspace, 'rev-parse', 'HEAD').trim();
        writeFileSync(join(workspace, 'docs.md'), '# docs\n\nedited, not committed\n');
        writeFileSync(join(workspace, 'PERSON.txt'), 'untracked \u00e9\u0000 bytes\n');
      },
    });
    const rolledBack = result.state.rollbacks;
    expect(rolledBack).toBe(1);
    // The person looks at the run's branch, where they worked during the run.
    checkOutRunBranch(workspace, result.state);
    git(workspace, 'merge-base', '--is-ancestor', personCommit, 'HEAD');
    expect(readFileSync(join(workspace, 'docs.md'), 'utf8')).toBe('# docs\n\nedited, not committed\n');
    expect(readFileSync(join(workspace, 'PERSON.txt'), 'utf8')).toBe('untracked \u00e9\u0000 bytes\n');
    expect(git(workspace, 'show', 'HEAD:PERSON.txt')).toBe('untracked \u00e9\u0000 bytes\n');
    expect(existsSync(join(workspace, 'a.txt'))).toBe(true);
    expect(existsSync(join(workspace, 'b.txt'))).toBe(false);
    // The edits were committed as the person's, and the log says whose.
    const edited = readRun(workspace).events.find((event) => event.type === 'human.edited');
    expect(edited).toMatchObject({ author: 'Pat Person <pat@example.test>' });
    const commit = edited?.type === 'human.edited' ? (edited.commit ?? '') : '';
    expect(git(workspace, 'log', '-1', '--format=%an <%ae>|%cn <%ce>', commit).trim()).toBe(
      'Pat Person <pat@example.test>|Pat Person <pat@example.test>',
    );
    git(workspace, 'merge-base', '--is-ancestor', commit, 'HEAD');
  });
});

describe('a harness that died before it recorded anything', () => {
  it('leaves an empty run that the next `run` takes over instead of starting a second one', async () => {
    const workspace = await makeWorkspace({ features: threeFeatures });
    const { eventLogPath, runDir } = await import('../src/workspace/paths.ts');
    mkdirSync(runDir(workspace, '20261124T000000000Z-dead00'), { recursive: true });
    writeFileSync(
      eventLogPath(workspace, '20261124T000000000Z-dead00'),
      '{"seq":1,"at":"2026-11-24T00:00:00.000Z","type":"run.sta',
    );
    const result = await runLoop({ workspace, agent: fileWorker() });
    expect(result.resumed).toBe(true);
    expect(result.runId).toBe('20261124T000000000Z-dead00');
    expect(result.stop.reason).toBe('done');
    expect(readRun(workspace).events[0]?.type).toBe('run.started');
  });
});
