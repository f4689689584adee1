/**
 * A person's work survives every operation that moves a branch.
 *
 * Matrix: 8 operations x 3 kinds of work (a commit; an uncommitted edit of a tracked file; an
 * untracked file whose bytes hold non-ASCII and a NUL) x the moments each operation meets a person:
 * 12 (operation, moment) cells -- 1 regression rollback (between iterations), 2 guard refusal (between
 * iterations; a status flip, a locked test deleted), 3 stop --now + resume (between iterations),
 * 4 crash + resume (after the kill), 5 rollbackTo (on the run branch refused, forced + undo; on main),
 * 6 the run's end (during the last iteration; after it), 7 parallel merges (between merges), 8 guard
 * refusal (during the iteration) -- so 36 survivals asserted. Cell 4 holds because the resume refuses
 * (a person's commit on top of the unfinished iteration); cell 8 is a known gap (it.fails).
 *
 * Every case runs the default configuration: the run on its own branch, the default sandbox.
 */
import { execFileSync, execSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { rollbackTo } from '../src/api/checkpoints.ts';
import { stopRun } from '../src/api/control.ts';
import { readRun } from '../src/api/inspect.ts';
import { decideProposal } from '../src/api/proposals.ts';
import { resumeRun, runLoop } from '../src/api/run.ts';
import type { RunEvent } from '../src/log/events.ts';
import { createFunctionAgent } from '../src/testing/function-agent.ts';
import { taskPlan } from '../src/testing/task-plan.ts';
import { copyWorkspace, latestEvents, runCli } from './crash-helpers.ts';
import { checkOutRunBranch, feature, git, makeWorkspace } from './helpers.ts';

const person = 'Pat Person <pat@example.test>';
/** The tracked file a person edits without committing. */
const editedPath = 'README.md';
const editedBytes = Buffer.from('# project\n\nedited by a person, not committed: caf\u00e9 \u2603\n');
/** The file a person leaves untracked: non-ASCII and a NUL, so nothing may treat it as text. */
const untrackedPath = 'person-notes.dat';
const untrackedBytes = Buffer.concat([
  Buffer.from('untracked \u00e9 '),
  Buffer.from([0]),
  Buffer.from(' \u4e16\u754c\n'),
]);
const committedPath = 'person-commit.md';

interface PersonWork {
  readonly commit: string;
  /** The branch the person was on when they made it. */
  readonly branch: string;
}

function personIdentityIn(workspace: string): void {
  git(workspace, 'config', 'user.name', 'Pat Person');
  git(workspace, 'config', 'user.email', 'pat@example.test');
}

/** Git as the person runs it: their identity from the repository's config, nothing overridden. */
function personGit(workspace: string, ...args: string[]): Buffer {
  return execFileSync('git', ['-c', 'commit.gpgsign=false', ...args], { cwd: workspace });
}

/** The person makes all three kinds of work where they are: a commit, an edit, an untracked file. */
function personWorks(workspace: string): PersonWork {
  const branch = personGit(workspace, 'symbolic-ref', '--short', 'HEAD').toString().trim();
  writeFileSync(join(workspace, committedPath), `# committed by a person on ${branch}: \u00fcber\n`);
  personGit(workspace, 'add', committedPath);
  personGit(workspace, 'commit', '-qm', 'A person commits');
  const commit = personGit(workspace, 'rev-parse', 'HEAD').toString().trim();
  writeFileSync(join(workspace, editedPath), editedBytes);
  writeFileSync(join(workspace, untrackedPath), untrackedBytes);
  return { commit, branch };
}

function bytesAt(workspace: string, revision: string, path: string): Buffer | null {
  try {
    return execFileSync('git', ['show', `${revision}:${path}`], { cwd: workspace, stdio: 'pipe' });
  } catch {
    return null;
  }
}

function onDisk(workspace: string, path: string): Buffer | null {
  const full = join(workspace, path);
  return existsSync(full) ? readFileSync(full) : null;
}

function isAncestor(workspace: string, commit: string, of: string): boolean {
  try {
    execFileSync('git', ['merge-base', '--is-ancestor', commit, of], { cwd: workspace, stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
}

/** The branches (refs/heads/) holding a commit: empty means only a refs/baton/ ref (or nothing) keeps it. */
function branchesContaining(workspace: string, commit: string): string[] {
  return git(workspace, 'for-each-ref', '--contains', commit, '--format=%(refname)', 'refs/heads/')
    .split('\n')
    .filter(Boolean);
}

/**
 * The person's work survives byte for byte: the commit on the branch it was made on; the edit and the
 * untracked file either on disk where the person left them, or committed on that branch under the
 * person's identity. Nothing of theirs is kept only under a refs/baton/ ref.
 */
function expectKept(workspace: string, work: PersonWork, context: string): void {
  expect(isAncestor(workspace, work.commit, work.branch), `${context}: the commit on ${work.branch}`).toBe(
    true,
  );
  expect(branchesContaining(workspace, work.commit), context).toContain(`refs/heads/${work.branch}`);
  for (const [path, bytes] of [
    [editedPath, editedBytes],
    [untrackedPath, untrackedBytes],
  ] as const) {
    if (onDisk(workspace, path)?.equals(bytes) === true) continue;
    const committed = bytesAt(workspace, work.branch, path);
    expect(
      committed?.equals(bytes),
      `${context}: ${path} is neither on disk nor on ${work.branch}, byte for byte`,
    ).toBe(true);
    expect(
      git(workspace, 'log', '-1', '--format=%an <%ae>|%cn <%ce>', work.branch, '--', path).trim(),
      `${context}: ${path} committed as the person's`,
    ).toBe(`${person}|${person}`);
  }
}

function ofType<T extends RunEvent['type']>(
  events: readonly RunEvent[],
  type: T,
): Extract<RunEvent, { type: T }>[] {
  return events.filter((event): event is Extract<RunEvent, { type: T }> => event.type === type);
}

const twoFeatures = [feature('F1', 'test -f a.txt'), feature('F2', 'test -f b.txt')];

/** Iteration 1 makes a.txt; iteration 2 does what `second` says (and `during` lets a person act). */
function twoStepWorker(second: (cwd: string) => void, during?: (iteration: number) => void) {
  return createFunctionAgent(({ cwd, env }) => {
    const iteration = Number(env.BATON_ITERATION);
    during?.(iteration);
    if (iteration === 1) writeFileSync(join(cwd, 'a.txt'), '1\n');
    else second(cwd);
    return `iteration ${String(iteration)}`;
  });
}

describe("a person's work survives every operation that moves a branch", () => {
  it('1. a regression rollback: the person works between iterations 1 and 2', async () => {
    const workspace = await makeWorkspace({
      features: twoFeatures,
      budgets: { iterations: 2, noProgressIterations: 0 },
    });
    personIdentityIn(workspace);
    let work: PersonWork | undefined;
    const result = await runLoop({
      workspace,
      agent: twoStepWorker((cwd) => {
        rmSync(join(cwd, 'a.txt'));
        writeFileSync(join(cwd, 'b.txt'), '2\n');
      }),
      onEvent: (event) => {
        if (event.type === 'iteration.ended' && event.iteration === 1) work = personWorks(workspace);
      },
    });
    expect(result.state.rollbacks).toBe(1);
    expect(work?.branch).toBe(result.state.branch);
    expectKept(workspace, work as PersonWork, 'regression rollback');
  });

  it.each<{
    guard: string;
    reason: RegExp;
    files: Record<string, string>;
    second: (cwd: string) => void;
  }>([
    {
      guard: 'a status flipped in FEATURES.json',
      reason: /F1|status/,
      files: { 'README.md': '# project\n' },
      second: (cwd: string) => {
        const path = join(cwd, 'FEATURES.json');
        writeFileSync(path, readFileSync(path, 'utf8').replace('"failing"', '"passing"'));
        writeFileSync(join(cwd, 'b.txt'), '2\n');
      },
    },
    {
      // Tests are not locked any more (a change is judged by running the accepted version); a new test
      // that focuses the run is still refused outright.
      guard: 'a new test file that focuses the run',
      reason: /test\/focus\.test\.js/,
      files: { 'README.md': '# project\n', 'test/a.test.js': 'assert(1);\n' },
      second: (cwd: string) => {
        writeFileSync(join(cwd, 'test/focus.test.js'), "test.only('just this one', () => {});\n");
        writeFileSync(join(cwd, 'b.txt'), '2\n');
      },
    },
  ])(
    '2. a guard refusal ($guard): the person works between iterations 1 and 2',
    async ({ files, second, reason }) => {
      const workspace = await makeWorkspace({
        features: twoFeatures,
        files,
        budgets: { iterations: 2, noProgressIterations: 0 },
      });
      personIdentityIn(workspace);
      let work: PersonWork | undefined;
      const result = await runLoop({
        workspace,
        agent: twoStepWorker(second),
        onEvent: (event) => {
          if (event.type === 'iteration.ended' && event.iteration === 1) work = personWorks(workspace);
        },
      });
      const rolledBack = ofType(readRun(workspace).events, 'iteration.rolled-back');
      expect(rolledBack.map((event) => event.iteration)).toEqual([2]);
      expect(rolledBack[0]?.savedAs).toBe(`refs/baton/rejected/${result.runId}/2`);
      expect(rolledBack[0]?.reason).toMatch(reason);
      expectKept(workspace, work as PersonWork, 'guard refusal');
    },
  );

  it('3. stop --now during iteration 2, then resume: the person worked between iterations 1 and 2', async () => {
    const workspace = await makeWorkspace({ features: twoFeatures, budgets: { noProgressIterations: 0 } });
    personIdentityIn(workspace);
    let work: PersonWork | undefined;
    const worker = createFunctionAgent(async ({ cwd, env, signal }) => {
      if (env.BATON_ITERATION === '1') {
        writeFileSync(join(cwd, 'a.txt'), '1\n');
        return 'made a.txt';
      }
      writeFileSync(join(cwd, 'half-done.txt'), 'partial\n');
      stopRun(workspace, true);
      while (!signal.aborted) await new Promise((resolve) => setTimeout(resolve, 20));
      return 'interrupted';
    });
    const stopped = await runLoop({
      workspace,
      agent: worker,
      controlPollMs: 50,
      onEvent: (event) => {
        if (event.type === 'iteration.ended' && event.iteration === 1) work = personWorks(workspace);
      },
    });
    expect(stopped.stop.reason).toBe('stopped');
    expect(ofType(readRun(workspace).events, 'iteration.interrupted')).toHaveLength(1);
    expectKept(workspace, work as PersonWork, 'stop --now');
    const resumed = await resumeRun({
      workspace,
      agent: createFunctionAgent(({ cwd }) => {
        writeFileSync(join(cwd, 'b.txt'), '2\n');
        return 'made b.txt';
      }),
    });
    expect(resumed.stop.reason).toBe('done');
    expectKept(workspace, work as PersonWork, 'stop --now, then resume');
  });

  // After a crash mid-iteration (here: killed right after iteration 2's agent.ended), a person on the
  // run branch commits person-commit.md, edits README.md and leaves person-notes.dat untracked. Putting
  // the iteration aside would reset the branch to where iteration 2 started: the resume refuses
  // (RESUME_WOULD_TAKE_WORK) and changes nothing, so all three stay where the person left them.
  // KNOWN GAP, not asserted here: with no commit of the person's on top, an uncommitted edit or new file
  // made after the crash is set aside with the dead worker's leftovers under
  // refs/baton/interrupted/<run>/<n> (one tree holds both; nothing tells them apart).
  it('4. resume after a crash: the person commits and edits after the kill; the resume refuses and changes nothing', async () => {
    const workspace = await makeWorkspace({
      features: twoFeatures,
      agentYaml:
        'agent:\n  type: command\n  command: "if [ -f a.txt ]; then echo 2 > b.txt; else echo 1 > a.txt; fi"\n  timeout: 1m',
    });
    personIdentityIn(workspace);
    // Where to crash: the second iteration's agent.ended (its worker's work in the tree, uncommitted),
    // counted on an uninterrupted run of a copy.
    const reference = copyWorkspace(workspace);
    const finished = await runCli(['run', '-C', reference]);
    expect(finished.code, finished.output).toBe(0);
    const boundary =
      latestEvents(reference).findIndex((event) => event.type === 'agent.ended' && event.iteration === 2) + 1;
    expect(boundary).toBeGreaterThan(0);
    const crashedWorkspace = workspace;
    const crashed = await runCli(['run', '-C', crashedWorkspace], `kill-after-event:${String(boundary)}`);
    expect(crashed.signal, crashed.output).toBe('SIGKILL');
    const state = readRun(crashedWorkspace).state;
    expect(state.currentIteration).toBe(2);
    // The dead harness left its run branch checked out: the person works there.
    const work = personWorks(crashedWorkspace);
    expect(work.branch).toBe(state.branch);
    const head = git(crashedWorkspace, 'rev-parse', 'HEAD').trim();
    const resumed = await runCli(['resume', '-C', crashedWorkspace]);
    expect(resumed.code, resumed.output).toBe(2);
    expect(resumed.output).toContain(work.commit.slice(0, 8));
    expect(resumed.output).toContain('git branch my-work');
    expect(git(crashedWorkspace, 'rev-parse', 'HEAD').trim()).toBe(head);
    expectKept(crashedWorkspace, work, 'crash, then a refused resume');
  });

  describe('5. rollbackTo(ws, "1") after a run', () => {
    async function finishedRun(): Promise<{ workspace: string; state: ReturnType<typeof readRun>['state'] }> {
      const workspace = await makeWorkspace({ features: twoFeatures });
      personIdentityIn(workspace);
      const result = await runLoop({
        workspace,
        agent: twoStepWorker((cwd) => {
          writeFileSync(join(cwd, 'b.txt'), '2\n');
        }),
      });
      expect(result.stop.reason).toBe('done');
      return { workspace, state: result.state };
    }

    it('the person on the run branch: refused and all intact; with force kept under the backup ref, and the undo restores them exactly', async () => {
      const { workspace, state } = await finishedRun();
      checkOutRunBranch(workspace, state);
      const work = personWorks(workspace);
      const snapshot = (): string[] => [
        git(workspace, 'rev-parse', 'HEAD').trim(),
        git(workspace, 'symbolic-ref', '--short', 'HEAD').trim(),
        git(workspace, 'status', '--porcelain', '--untracked-files=all'),
      ];
      const before = snapshot();
      await expect(rollbackTo(workspace, '1')).rejects.toMatchObject({ code: 'ROLLBACK_WOULD_LOSE_WORK' });
      expect(snapshot()).toEqual(before);
      expect(onDisk(workspace, editedPath)).toEqual(editedBytes);
      expect(onDisk(workspace, untrackedPath)).toEqual(untrackedBytes);
      expectKept(workspace, work, 'refused rollback');

      const forced = await rollbackTo(workspace, '1', { force: true });
      expect(forced.backup).toMatch(/^refs\/baton\/backup\//);
      const backup = forced.backup ?? '';
      expect(isAncestor(workspace, work.commit, backup)).toBe(true);
      expect(bytesAt(workspace, backup, editedPath)).toEqual(editedBytes);
      expect(bytesAt(workspace, backup, untrackedPath)).toEqual(untrackedBytes);
      execSync(forced.undo ?? 'false', { cwd: workspace });
      expect(snapshot()).toEqual(before);
      expect(onDisk(workspace, editedPath)).toEqual(editedBytes);
      expect(onDisk(workspace, untrackedPath)).toEqual(untrackedBytes);
      expectKept(workspace, work, 'forced rollback, undone');
    });

    it('the person on main: only the run branch moves; main and their files are untouched', async () => {
      const { workspace, state } = await finishedRun();
      expect(git(workspace, 'symbolic-ref', '--short', 'HEAD').trim()).toBe('main');
      const work = personWorks(workspace);
      const runTip = git(workspace, 'rev-parse', state.branch ?? '').trim();
      const status = git(workspace, 'status', '--porcelain', '--untracked-files=all');
      const result = await rollbackTo(workspace, '1');
      expect(result.applied).toBe(true);
      expect(git(workspace, 'rev-parse', state.branch ?? '').trim()).not.toBe(runTip);
      expect(git(workspace, 'rev-parse', 'main').trim()).toBe(work.commit);
      expect(git(workspace, 'symbolic-ref', '--short', 'HEAD').trim()).toBe('main');
      expect(git(workspace, 'status', '--porcelain', '--untracked-files=all')).toBe(status);
      expect(onDisk(workspace, editedPath)).toEqual(editedBytes);
      expect(onDisk(workspace, untrackedPath)).toEqual(untrackedBytes);
      expectKept(workspace, work, 'rollback of the run branch from main');
    });
  });

  it.each([
    { moment: 'during the last iteration (the worker session runs)', during: true },
    { moment: 'after the last iteration ended, before the run stops', during: false },
  ])(
    "6. the run's end: the person's edit and untracked file are present at the stop, made $moment",
    async ({ during }) => {
      const workspace = await makeWorkspace({ features: twoFeatures });
      personIdentityIn(workspace);
      let work: PersonWork | undefined;
      const result = await runLoop({
        workspace,
        agent: twoStepWorker(
          (cwd) => {
            writeFileSync(join(cwd, 'b.txt'), '2\n');
          },
          (iteration) => {
            if (during && iteration === 2) work = personWorks(workspace);
          },
        ),
        onEvent: (event) => {
          if (!during && event.type === 'iteration.ended' && event.iteration === 2) {
            work = personWorks(workspace);
          }
        },
      });
      expect(result.stop.reason).toBe('done');
      const events = readRun(workspace).events;
      const current = git(workspace, 'symbolic-ref', '--short', 'HEAD').trim();
      if (during) {
        // Made while the worker's session ran, they are in the tree the iteration commits: they land in
        // the iteration's commit (by the person's identity, with the run's trailers), the tree is clean,
        // and the person's branch is checked out again.
        expect(current).toBe('main');
        const holder = git(
          workspace,
          'log',
          '-1',
          '--format=%B',
          result.state.branch ?? '',
          '--',
          untrackedPath,
        );
        expect(holder).toContain('Baton-Iteration: 2');
      } else {
        // Uncommitted at the stop: the run stays on its branch and says so; the files stay on disk.
        expect(current).toBe(result.state.branch);
        expect(ofType(events, 'branch.kept')).toHaveLength(1);
        expect(onDisk(workspace, editedPath)).toEqual(editedBytes);
        expect(onDisk(workspace, untrackedPath)).toEqual(untrackedBytes);
      }
      expectKept(workspace, work as PersonWork, "the run's end");
    },
  );

  it('7. a parallel merge (2 workers): the person works between merges; later tasks still land', async () => {
    const ids = ['a', 'b', 'c'];
    const workspace = await makeWorkspace({
      features: ids.map((id) => feature(`F-${id}`, `test -f src/${id}.txt`)),
    });
    writeFileSync(
      join(workspace, 'baton.yaml'),
      `${readFileSync(join(workspace, 'baton.yaml'), 'utf8')}parallel:\n  workers: 2\n  replans: 0\n`,
    );
    git(workspace, 'commit', '-qam', 'parallel');
    personIdentityIn(workspace);
    const planner = createFunctionAgent(({ cwd }) => {
      writeFileSync(
        join(cwd, 'TASKS.json'),
        JSON.stringify(
          taskPlan(
            ids.map((id) => ({
              id,
              features: [`F-${id}`],
              scope: [`src/${id}.txt`],
              dependsOn: id === 'a' ? [] : ['a'],
            })),
          ),
        ),
      );
      return 'planned';
    });
    const worker = createFunctionAgent(({ cwd, prompt }) => {
      const id = /# Task (\S+) /.exec(prompt)?.[1] ?? 'unknown';
      execFileSync('mkdir', ['-p', join(cwd, 'src')]);
      writeFileSync(join(cwd, `src/${id}.txt`), `${id} ok\n`);
      return `wrote src/${id}.txt`;
    });
    let work: PersonWork | undefined;
    const result = await runLoop({
      workspace,
      agent: worker,
      planner,
      onEvent: (event) => {
        if (event.type === 'task.merged' && work === undefined) work = personWorks(workspace);
      },
    });
    const events = readRun(workspace).events;
    const merged = ofType(events, 'task.merged').map((event) => event.task);
    expect(merged.slice().sort()).toEqual(ids);
    expect(result.state.featuresPassing).toBe(3);
    // The person's edit and file, made while tasks merged, are committed as theirs before the
    // integration judge (not counted as the run's leftovers), and the run is done.
    expect(result.stop.reason).toBe('done');
    const edited = ofType(events, 'human.edited');
    expect(edited.map((event) => event.author)).toEqual([person]);
    expect(edited[0]?.paths).toEqual(expect.arrayContaining([editedPath, untrackedPath]));
    // The tree is clean at the stop: main is checked out again.
    expect(ofType(events, 'branch.switched').at(-1)).toMatchObject({ to: 'main' });
    expect(work?.branch).toBe(result.state.branch);
    expectKept(workspace, work as PersonWork, 'parallel merges');
  });

  // KNOWN GAP: a person who works in the checkout while the worker's session runs shares its tree.
  // Here the person commits person-commit.md, edits README.md and leaves person-notes.dat untracked
  // during iteration 2, whose worker flips a status in FEATURES.json. guardWork
  // (src/loop/iteration/work.ts) commits everything (`git add --all`, the person's edit and file
  // included) as the iteration's work, the guard refuses it, and rollBack (src/loop/rollback.ts)
  // `reset --hard`s to where the iteration started: the person's commit, the edit and the untracked
  // file leave the run branch and the disk, kept only under refs/baton/rejected/<run>/2.
  it.fails('8. a guard refusal of an iteration the person worked during', async () => {
    const workspace = await makeWorkspace({
      features: twoFeatures,
      budgets: { iterations: 2, noProgressIterations: 0 },
    });
    personIdentityIn(workspace);
    let work: PersonWork | undefined;
    const result = await runLoop({
      workspace,
      agent: twoStepWorker(
        (cwd) => {
          const path = join(cwd, 'FEATURES.json');
          writeFileSync(path, readFileSync(path, 'utf8').replace('"failing"', '"passing"'));
        },
        (iteration) => {
          if (iteration === 2) work = personWorks(workspace);
        },
      ),
    });
    expect(ofType(readRun(workspace).events, 'iteration.rolled-back')[0]?.savedAs).toBe(
      `refs/baton/rejected/${result.runId}/2`,
    );
    expectKept(workspace, work as PersonWork, 'guard refusal during the iteration');
  });

  it('9. an accepted proposal put on the run branch: the person worked between iterations 2 and 3', async () => {
    const workspace = await makeWorkspace({
      features: twoFeatures,
      budgets: { iterations: 3, noProgressIterations: 0 },
    });
    personIdentityIn(workspace);
    let work: PersonWork | undefined;
    const worker = createFunctionAgent(({ cwd, env }) => {
      const iteration = Number(env.BATON_ITERATION);
      if (iteration === 1) writeFileSync(join(cwd, 'a.txt'), '1\n');
      else if (iteration === 2) {
        // A change to the verification contract: kept as proposal P1, the branch put back.
        const path = join(cwd, 'FEATURES.json');
        writeFileSync(
          path,
          readFileSync(path, 'utf8').replace('test -f b.txt', 'test -f b.txt && test -f a.txt'),
        );
      } else writeFileSync(join(cwd, 'b.txt'), '2\n');
      return `iteration ${String(iteration)}`;
    });
    const result = await runLoop({
      workspace,
      agent: worker,
      onEvent: (event) => {
        if (event.type === 'proposal.created') {
          decideProposal(workspace, event.id, 'accepted', 'stricter is fine');
        }
        // The person's commit, edit and untracked file are there when the proposal is cherry-picked.
        if (event.type === 'iteration.ended' && event.iteration === 2) work = personWorks(workspace);
      },
    });
    const applied = ofType(readRun(workspace).events, 'proposal.applied');
    expect(applied.map((event) => [event.id, event.iteration])).toEqual([['P1', 3]]);
    expect(applied[0]?.commit).toMatch(/^[0-9a-f]{40}$/);
    expect(work?.branch).toBe(result.state.branch);
    expectKept(workspace, work as PersonWork, 'an accepted proposal applied');
    checkOutRunBranch(workspace, result.state);
    expect(readFileSync(join(workspace, 'FEATURES.json'), 'utf8')).toContain(
      'test -f b.txt && test -f a.txt',
    );
  });
});
