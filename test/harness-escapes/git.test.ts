import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { detectBwrap } from '../../src/sandbox/bwrap.ts';
import { feature, git } from '../helpers.ts';
import {
  eventsOf,
  expectNothingLeaked,
  expectRefused,
  expectSurvivedToDone,
  firedGuards,
  hostileWorkspace,
  plainGit,
  probeRepository,
  runHostile,
  runHostileCli,
} from './hostile.ts';

/**
 * Class 1 of issue 14: code execution outside the sandbox through git. The harness runs git as its own
 * user, outside the sandbox, on a worktree the worker wrote; a repository the worker makes carries config
 * (fsmonitor, filter and diff drivers) that plain git runs. Each attack is first run through plain git
 * in a scratch repository, where it works, then against a real run, where it must not.
 */
const wgit = 'git -c user.name=w -c user.email=w@localhost -c init.defaultBranch=main';

/** Run an attack script (as the worker would) in a scratch repository, `$OUTSIDE` being that folder. */
function plantInProbe(attack: string): string {
  const probe = probeRepository();
  execFileSync('bash', ['-c', attack], { cwd: probe, env: { ...process.env, OUTSIDE: probe } });
  return probe;
}

/** No ref of the workspace (branch, tags, rejected and interrupted work, stashes) records a gitlink. */
function expectNoGitlinkAnywhere(workspace: string): void {
  for (const ref of git(workspace, 'for-each-ref', '--format=%(refname)').split('\n')) {
    if (ref === '') continue;
    expect(git(workspace, 'ls-tree', '-r', ref), ref).not.toMatch(/^160000 /m);
  }
}

describe.runIf(detectBwrap().works)('class 1: code execution through git', () => {
  it('a nested repository with core.fsmonitor (through the CLI): never committed, never run', async () => {
    const attack = `
mkdir vendor && cd vendor && ${wgit} init -q && echo 'export {};' > lib.js && ${wgit} add lib.js
${wgit} commit -qm vendored
${wgit} config core.fsmonitor "touch $OUTSIDE/fsmonitor-ran; env > $OUTSIDE/fsmonitor-env; false"
cd ..`;
    // The attack works: plain git records a gitlink, and the next plain status runs the command.
    const probe = plantInProbe(attack);
    plainGit(probe, 'add', '--all');
    plainGit(probe, 'status', '--porcelain');
    expect(existsSync(join(probe, 'fsmonitor-ran'))).toBe(true);

    const hostile = await hostileWorkspace({ attack: `${attack}\necho a > a.txt` });
    const run = await runHostileCli(hostile);
    expectSurvivedToDone(run);
    expect(firedGuards(run)).toContain('nested-repository');
    expectRefused(hostile, run, 1);
    expectNoGitlinkAnywhere(hostile.workspace);
    // Kept aside, not deleted; and a person's own `git status` afterwards runs nothing either.
    expect(
      existsSync(join(hostile.workspace, '.baton', 'scratch', run.runId, '1', 'vendor', '.git', 'config')),
    ).toBe(true);
    plainGit(hostile.workspace, 'status', '--porcelain');
    expect(existsSync(join(hostile.outside, 'fsmonitor-ran'))).toBe(false);
    await expectNothingLeaked(hostile);
  });

  it('a .git file, and a .git link, pointing at a repository planted elsewhere in the worktree', async () => {
    const attack = `
mkdir -p .cache && ${wgit} init -q --separate-git-dir="$PWD/.cache/planted" sub
echo 'gitdir: ../.cache/planted' > sub/.git
echo y > sub/f && ${wgit} -C sub add f && ${wgit} -C sub commit -qm s
${wgit} -C sub config core.fsmonitor "touch $OUTSIDE/gitfile-ran; false"
mkdir linked && ln -s ../.cache/planted linked/.git`;
    const probe = plantInProbe(attack);
    plainGit(probe, 'add', '--all');
    plainGit(probe, 'status', '--porcelain');
    expect(existsSync(join(probe, 'gitfile-ran'))).toBe(true);

    const hostile = await hostileWorkspace({ attack: `${attack}\necho a > a.txt` });
    const run = await runHostile(hostile);
    expectSurvivedToDone(run);
    const details = eventsOf(run, 'guard.fired')
      .filter((event) => event.guard === 'nested-repository')
      .flatMap((event) => event.details)
      .join('\n');
    expect(details).toContain('sub/.git is a gitdir file');
    expect(details).toContain('linked/.git is a link');
    expectRefused(hostile, run, 1);
    expectNoGitlinkAnywhere(hostile.workspace);
    expect(existsSync(join(hostile.workspace, 'sub'))).toBe(false);
    expect(existsSync(join(hostile.outside, 'gitfile-ran'))).toBe(false);
    await expectNothingLeaked(hostile);
  });

  it("a filter and a textconv driver defined in a nested repository's config: never run", async () => {
    const attack = `
mkdir lib && cd lib && ${wgit} init -q && echo '* filter=evil diff=evil' > .gitattributes && echo y > f
${wgit} add . && ${wgit} commit -qm s
${wgit} config filter.evil.clean "sh -c 'touch $OUTSIDE/filter-ran; cat'"
${wgit} config diff.evil.textconv "sh -c 'touch $OUTSIDE/textconv-ran; cat \\$0'"
echo z >> f && touch -d 2000-01-01 f
cd ..`;
    const probe = plantInProbe(attack);
    plainGit(probe, 'add', '--all');
    plainGit(probe, 'status', '--porcelain');
    // The outer status runs the clean filter when it looks into the nested repository (not on every
    // machine state: once in five loaded runs it did not); the diff a person runs there always does.
    plainGit(join(probe, 'lib'), 'diff');
    expect(existsSync(join(probe, 'filter-ran'))).toBe(true);
    expect(existsSync(join(probe, 'textconv-ran'))).toBe(true);

    const hostile = await hostileWorkspace({ attack: `${attack}\necho a > a.txt` });
    const run = await runHostile(hostile);
    expectSurvivedToDone(run);
    expect(firedGuards(run)).toContain('nested-repository');
    expectRefused(hostile, run, 1);
    expect(existsSync(join(hostile.outside, 'filter-ran'))).toBe(false);
    expect(existsSync(join(hostile.outside, 'textconv-ran'))).toBe(false);
    await expectNothingLeaked(hostile);
  });

  it('a nested repository planted by a verify command, after the guards looked: moved aside, never run', async () => {
    // The verify command runs the project's check script, which the worker may edit: its code runs again
    // during verification, after every guard looked at the tree. `git stash` skips a nested repository,
    // so before the fix it stayed, and the next iteration's `git add` ended the run with an error.
    const plant = `
mkdir late && cd late && ${wgit} init -q && echo x > x && ${wgit} add x && ${wgit} commit -qm x
${wgit} config core.fsmonitor "touch $OUTSIDE/late-ran; false"
cd ..`;
    const probe = plantInProbe(plant);
    plainGit(probe, 'stash', 'push', '--include-untracked');
    expect(existsSync(join(probe, 'late', '.git'))).toBe(true); // the stash left it where it was
    plainGit(probe, 'add', '--all');
    plainGit(probe, 'status', '--porcelain');
    expect(existsSync(join(probe, 'late-ran'))).toBe(true);

    const hostile = await hostileWorkspace({
      features: [feature('F1', 'bash check.sh && test -f a.txt'), feature('F2', 'test -f b.txt')],
      files: { 'README.md': '# project\n', 'check.sh': '. ./lib.sh\n', 'lib.sh': 'true\n' },
      attack: `
cat > lib.sh <<EOF
if [ ! -d late ]; then
${plant}
fi
true
EOF
echo a > a.txt`,
      honest: 'printf "true\\n" > lib.sh; echo a > a.txt; echo b > b.txt',
    });
    const run = await runHostile(hostile);
    expectSurvivedToDone(run);
    const moved = eventsOf(run, 'guard.fired').find(
      (event) => event.guard === 'nested-repository' && event.action === 'moved',
    );
    expect(moved?.iteration).toBe(1);
    expect(moved?.details.join('\n')).toContain('late/.git is a nested git repository');
    // Iteration 1 could not be "done", the repository is kept aside, and nothing ran it.
    const verdict = eventsOf(run, 'judge.ended').find((event) => event.iteration === 1)?.verdict;
    expect(verdict?.reason).toContain('verification left nested git repositories');
    expect(
      existsSync(
        join(hostile.workspace, '.baton', 'scratch', run.runId, '1', 'after-checks', 'late', '.git'),
      ),
    ).toBe(true);
    expect(existsSync(join(hostile.workspace, 'late'))).toBe(false);
    expect(eventsOf(run, 'human.edited')).toEqual([]);
    expectNoGitlinkAnywhere(hostile.workspace);
    plainGit(hostile.workspace, 'status', '--porcelain');
    expect(existsSync(join(hostile.outside, 'late-ran'))).toBe(false);
    await expectNothingLeaked(hostile);
  });
});
