import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runInit } from '../src/api/init.ts';
import { readRun } from '../src/api/inspect.ts';
import { resumeRun, runLoop, type RunBegin } from '../src/api/run.ts';
import { feature, git, tempDir, writeFiles } from './helpers.ts';

/**
 * A run on a repository a team already works in: history, a release tag, a feature branch, its own
 * README, AGENTS.md, tests and git hooks, and a person's git identity. The run must leave `main` where
 * it was, work on a branch of its own, one commit per iteration by the person with baton's trailers,
 * and run the project's hooks on each commit.
 */
const worker =
  'for f in a b; do if [ ! -f $f.txt ]; then echo "$f" > $f.txt; echo "feat: add $f.txt"; exit 0; fi; done; echo "nothing left"';

/** `git log --oneline main` of each team repository before `baton init` touched it. */
const mainBeforeInit = new Map<string, string>();

async function teamRepository(hooks: Record<string, string> = {}): Promise<string> {
  const workspace = join(tempDir(), 'project');
  writeFiles(workspace, {
    'README.md': '# project\n\nWritten by the team.\n',
    'AGENTS.md': '# Notes for agents\n\nKeep commits small.\n',
    'test/smoke.test.sh': 'true\n',
  });
  git(workspace, 'init', '-q', '--initial-branch=main');
  git(workspace, 'config', 'user.name', 'Pat Person');
  git(workspace, 'config', 'user.email', 'pat@example.org');
  git(workspace, 'add', '-A');
  git(workspace, 'commit', '-qm', 'first release');
  git(workspace, 'tag', '-a', 'v0.3.0', '-m', 'v0.3.0');
  git(workspace, 'switch', '-qc', 'feature/wip');
  writeFileSync(join(workspace, 'wip.txt'), 'half an idea\n');
  git(workspace, 'add', '-A');
  git(workspace, 'commit', '-qm', 'wip on a feature');
  git(workspace, 'switch', '-q', 'main');
  mainBeforeInit.set(workspace, git(workspace, 'log', '--oneline', 'main'));
  for (const [name, body] of Object.entries(hooks)) {
    const path = join(workspace, '.git', 'hooks', name);
    writeFileSync(path, body);
    chmodSync(path, 0o755);
  }
  await runInit({
    workspace,
    goal: 'Add a.txt and b.txt.',
    features: {
      version: 1,
      features: [feature('F1', 'test -f a.txt'), feature('F2', 'test -f b.txt')],
    },
    agentYaml: `agent:\n  type: command\n  command: ${JSON.stringify(worker)}\n  timeout: 1m`,
    smokeCommand: 'true',
  });
  return workspace;
}

function trailers(workspace: string, commit: string): Record<string, string> {
  const text = git(workspace, 'log', '-1', '--format=%(trailers:only,unfold)', commit);
  return Object.fromEntries(
    text
      .split('\n')
      .filter((line) => line.includes(': '))
      .map((line) => [line.slice(0, line.indexOf(': ')), line.slice(line.indexOf(': ') + 2)]),
  );
}

const recordingHooks = {
  // Both print what git would have given them: the staged paths, the message's subject.
  'pre-commit': '#!/bin/sh\necho "pre-commit saw: $(git diff --cached --name-only | tr "\\n" " ")"\n',
  'commit-msg': '#!/bin/sh\necho "commit-msg saw: $(head -n 1 "$1")"\n',
};

describe('a run on a team repository', () => {
  it('leaves main and its tags alone, works on its own branch with one commit per iteration by the person, with trailers, and runs the hooks', async () => {
    const workspace = await teamRepository(recordingHooks);
    const mainBefore = git(workspace, 'log', '--oneline', 'main');
    const begins: RunBegin[] = [];
    const result = await runLoop({ workspace, onBegin: (begin) => begins.push(begin) });
    expect(result.stop.reason).toBe('done');
    const branch = `baton/${result.runId}`;
    expect(begins).toEqual([
      {
        runId: result.runId,
        continued: false,
        message: `run ${result.runId} starts on its own branch ${branch}, made from main`,
      },
    ]);
    expect(readRun(workspace).events.find((event) => event.type === 'sandbox.chosen')).toMatchObject({
      backend: 'bwrap',
    });

    // main, its history and its tag are as they were; the person's checkout is main again. The one
    // commit main has beyond the team's history is init's baseline, made by the person who ran init.
    expect(git(workspace, 'log', '--oneline', 'main')).toBe(mainBefore);
    expect(
      git(workspace, 'log', '--format=%an|%s', `${mainBeforeInit.get(workspace)?.split(' ')[0] ?? ''}..main`),
    ).toBe('Pat Person|baton: baseline for "Add a.txt and b.txt."\n');
    expect(git(workspace, 'symbolic-ref', '--short', 'HEAD').trim()).toBe('main');
    expect(git(workspace, 'status', '--porcelain')).toBe('');
    expect(git(workspace, 'describe', 'main').trim()).toMatch(/^v0\.3\.0-1-g[0-9a-f]+$/);
    expect(git(workspace, 'describe', branch).trim()).toMatch(/^v0\.3\.0-3-g[0-9a-f]+$/);
    expect(git(workspace, 'tag', '--list')).toBe('v0.3.0\n');
    expect(git(workspace, 'log', '--oneline', 'feature/wip')).toContain('wip on a feature');

    // One commit per iteration, by the person, with the run's trailers and the verified tree.
    const commits = git(workspace, 'rev-list', '--reverse', `main..${branch}`).trim().split('\n');
    expect(commits).toHaveLength(result.state.iterationsCompleted);
    expect(commits).toHaveLength(2);
    for (const [index, commit] of commits.entries()) {
      expect(git(workspace, 'log', '-1', '--format=%an <%ae>|%cn <%ce>', commit).trim()).toBe(
        'Pat Person <pat@example.org>|Pat Person <pat@example.org>',
      );
      const found = trailers(workspace, commit);
      expect(found['Baton-Run']).toBe(result.runId);
      expect(found['Baton-Iteration']).toBe(String(index + 1));
      expect(found['Baton-Evidence']).toContain(`${index + 1}/2 features passing`);
      expect(found['Baton-Evidence']).toContain(`feature:F${index + 1} pass (exit 0)`);
      // The tree the checks ran on holds the worker's file, and the commit adds only baton's record.
      const verified = found['Baton-Verified-Tree'] ?? '';
      expect(git(workspace, 'ls-tree', '--name-only', verified)).toContain(`${'ab'[index]}.txt`);
      expect(git(workspace, 'diff', '--name-only', verified, commit).trim().split('\n').sort()).toEqual([
        'FEATURES.json',
        'PROGRESS.md',
      ]);
      const files = git(workspace, 'show', '--name-only', '--format=', commit).trim().split('\n').sort();
      expect(files).toEqual(['FEATURES.json', 'PROGRESS.md', `${'ab'[index]}.txt`]);
    }
    // The worker's conventional subject is the commit's subject.
    expect(git(workspace, 'log', '-1', '--format=%s', branch).trim()).toBe('feat: add b.txt');
    // Evidence in FEATURES.json names the verified tree too.
    const features = JSON.parse(git(workspace, 'show', `${branch}:FEATURES.json`)) as {
      features: { evidence: { tree?: string } | null }[];
    };
    expect(features.features[1]?.evidence?.tree).toBe(
      trailers(workspace, commits[1] ?? '')['Baton-Verified-Tree'],
    );

    // The hooks ran, in the sandbox, on what was staged, and their results are checks.
    const checks = readRun(workspace).events.filter((event) => event.type === 'verify.ended');
    expect(
      checks[0]?.checks.filter((check) => check.kind === 'hook').map((check) => [check.name, check.passed]),
    ).toEqual([
      ['pre-commit', true],
      ['commit-msg', true],
    ]);
    const iteration1 = join(workspace, '.baton', 'runs', result.runId, 'iterations', '00001', 'checks');
    expect(readFileSync(join(iteration1, 'hook-pre-commit.log'), 'utf8')).toContain('pre-commit saw: a.txt');
    expect(readFileSync(join(iteration1, 'hook-commit-msg.log'), 'utf8')).toContain('commit-msg saw: baton:');

    // Checkpoints are baton refs, never tags.
    expect(git(workspace, 'for-each-ref', '--format=%(refname)', `refs/baton/${result.runId}`)).toContain(
      'checkpoint-2',
    );
  });

  it('treats a failing hook as a failing check: not done, its output in the next prompt, done once it passes', async () => {
    const workspace = await teamRepository({
      'pre-commit':
        '#!/bin/sh\nif git grep --cached -q TODO -- "*.txt"; then echo "TODO left in a staged file"; exit 1; fi\n',
    });
    // The first session leaves a TODO; later ones remove it and finish the work.
    const script = join(workspace, '..', 'worker.sh');
    writeFileSync(
      script,
      '#!/bin/sh\nif [ "$BATON_ITERATION" = 1 ]; then echo "a TODO" > a.txt; echo "feat: a"; exit 0; fi\necho a > a.txt; echo b > b.txt; echo "fix: no TODO"\n',
    );
    chmodSync(script, 0o755);
    const yaml = readFileSync(join(workspace, 'baton.yaml'), 'utf8').replace(
      /command: .*\n/,
      `command: ["sh", "-c", ${JSON.stringify(readFileSync(script, 'utf8'))}]\n`,
    );
    writeFileSync(join(workspace, 'baton.yaml'), yaml);
    git(workspace, 'commit', '-qam', 'worker for this test');
    const result = await runLoop({ workspace });
    expect(result.stop.reason).toBe('done');
    const [first, second] = result.state.iterations;
    expect(first?.verdict?.done).toBe(false);
    expect(first?.verdict?.reason).toContain("the project's pre-commit hook fails");
    const prompt2 = readFileSync(
      join(workspace, '.baton', 'runs', result.runId, 'iterations', '00002', 'prompt.md'),
      'utf8',
    );
    expect(prompt2).toContain('TODO left in a staged file');
    expect(second?.verdict?.done).toBe(true);
  });

  it('`--in-place` commits onto the current branch, `--branch` names the run branch, and an existing one is refused', async () => {
    const workspace = await teamRepository();
    const inPlace = await runLoop({ workspace, inPlace: true });
    expect(inPlace.stop.reason).toBe('done');
    expect(git(workspace, 'symbolic-ref', '--short', 'HEAD').trim()).toBe('main');
    expect(git(workspace, 'log', '-1', '--format=%(trailers:key=Baton-Run,valueonly)', 'main').trim()).toBe(
      inPlace.runId,
    );
    expect(git(workspace, 'branch', '--list', 'baton/*')).toBe('');

    git(workspace, 'branch', 'taken');
    const refused = await runLoop({ workspace, branch: 'taken', newRun: true }).catch(
      (error: unknown) => error,
    );
    expect(refused).toMatchObject({ code: 'BRANCH_EXISTS' });
    expect((refused as Error & { fix: string }).fix).toContain('--branch');
    expect(git(workspace, 'symbolic-ref', '--short', 'HEAD').trim()).toBe('main');
  });
});

describe('run scope', () => {
  it('`baton run` continues an unfinished run with its budgets unless --new, says so first, and resumes on the run branch', async () => {
    const workspace = await teamRepository();
    // One iteration's budget: the run stops unfinished after a.txt.
    const yaml = readFileSync(join(workspace, 'baton.yaml'), 'utf8').replace(
      /iterations: \d+/,
      'iterations: 1',
    );
    writeFileSync(join(workspace, 'baton.yaml'), yaml);
    git(workspace, 'commit', '-qam', 'one iteration');
    const first = await runLoop({ workspace });
    expect(first.stop.reason).toBe('budget-iterations');
    expect(git(workspace, 'symbolic-ref', '--short', 'HEAD').trim()).toBe('main');

    // A person's uncommitted edit on main is theirs: a resume does not carry it into the run.
    writeFileSync(join(workspace, 'README.md'), '# project\n\nan edit on main\n');
    const refused = await runLoop({ workspace }).catch((error: unknown) => error);
    expect(refused).toMatchObject({ code: 'DIRTY_TREE' });
    expect(readFileSync(join(workspace, 'README.md'), 'utf8')).toBe('# project\n\nan edit on main\n');
    expect(git(workspace, 'symbolic-ref', '--short', 'HEAD').trim()).toBe('main');
    git(workspace, 'checkout', '--', 'README.md');

    // Continued: the same run, what it spent kept (the budget is still spent, so it stops at once).
    const begins: RunBegin[] = [];
    const again = await runLoop({ workspace, onBegin: (begin) => begins.push(begin) });
    expect(again.runId).toBe(first.runId);
    expect(again.resumed).toBe(true);
    expect(again.state.iterationsCompleted).toBe(1);
    expect(begins[0]?.message).toContain(`continuing run ${first.runId}`);
    expect(begins[0]?.message).toContain('--new');
    const moves = readRun(workspace).events.filter((event) => event.type === 'branch.switched');
    expect(moves.map((event) => [event.from, event.to])).toEqual([
      [`baton/${first.runId}`, 'main'],
      ['main', `baton/${first.runId}`],
      [`baton/${first.runId}`, 'main'],
    ]);

    // --new starts over, on a new branch.
    const fresh = await runLoop({ workspace, newRun: true });
    expect(fresh.runId).not.toBe(first.runId);
    expect(fresh.stop.reason).toBe('budget-iterations');
    expect(git(workspace, 'branch', '--list', 'baton/*').trim().split('\n')).toHaveLength(2);

    // The person raises the first run's budget on its branch and resumes it: it finishes there, their
    // edit committed as theirs, and main never sees any of it.
    git(workspace, 'switch', '-q', `baton/${first.runId}`);
    writeFileSync(join(workspace, 'baton.yaml'), yaml.replace('iterations: 1', 'iterations: 5'));
    const finished = await resumeRun({ workspace, runId: first.runId });
    expect(finished.stop.reason).toBe('done');
    expect(git(workspace, 'show', `baton/${first.runId}:b.txt`)).toBe('b\n');
    expect(git(workspace, 'log', '--format=%an|%s', `baton/${first.runId}`)).toContain(
      'Pat Person|Changes made between iterations',
    );
    expect(git(workspace, 'show', 'main:baton.yaml')).toContain('iterations: 1');
    expect(git(workspace, 'symbolic-ref', '--short', 'HEAD').trim()).toBe('main');
  });

  it("a person's edit of baton.yaml between iterations is applied at the next one (or refused with why), and each iteration records its config", async () => {
    const workspace = await teamRepository();
    const path = join(workspace, 'baton.yaml');
    const original = readFileSync(path, 'utf8').replace(/iterations: \d+/, 'iterations: 1');
    writeFileSync(path, original);
    git(workspace, 'commit', '-qam', 'one iteration');
    let edits = 0;
    const result = await runLoop({
      workspace,
      onEvent: (event) => {
        if (event.type !== 'iteration.ended') return;
        edits += 1;
        // After iteration 1 the person raises the budget and changes the sandbox (which waits for a
        // resume); after iteration 2 they break it (refused: the run goes on with what it had).
        if (edits === 1) {
          writeFileSync(
            path,
            original
              .replace('iterations: 1', 'iterations: 3')
              .concat('\nsandbox:\n  network: none\n  limits:\n    processes: 300\n'),
          );
        }
        if (edits === 2) writeFileSync(path, original.replace('iterations: 1', 'iterations: -3'));
      },
    });
    expect(result.stop.reason).toBe('done');
    expect(result.state.iterationsCompleted).toBe(2);
    const events = readRun(workspace).events;
    const applied = events.filter((event) => event.type === 'config.applied');
    expect(applied).toHaveLength(1);
    expect(applied[0]).toMatchObject({ iteration: 2, applied: ['budgets'], budgets: { iterations: 3 } });
    expect(applied[0]?.deferred.map((entry) => entry.section)).toEqual(['sandbox']);
    const refused = events.filter((event) => event.type === 'config.refused');
    expect(refused).toHaveLength(1);
    expect(refused[0]?.problems.join(' ')).toContain('budgets.iterations');
    // Each iteration names the config it ran with: the start's, then the edited one.
    const started = events.filter((event) => event.type === 'iteration.started');
    expect(started.map((event) => event.config)).toHaveLength(2);
    expect(started[0]?.config).not.toBe(started[1]?.config);
    expect(started[1]?.config).toBe(applied[0]?.config);
    // The person's edits were committed as theirs on the run's branch.
    expect(git(workspace, 'log', '--format=%an|%s', `baton/${result.runId}`)).toContain(
      'Pat Person|Changes made between iterations',
    );
  });
});
