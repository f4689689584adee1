import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { detectBwrap } from '../../src/sandbox/bwrap.ts';
import { git } from '../helpers.ts';
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
 * Class 4 of issue 14: crashing the harness with the worker's input. Each input made an unhardened
 * harness throw (git fatal, a broken commit message, a buffer overflow); the run must refuse the
 * iteration with the reason and go on.
 */
describe.runIf(detectBwrap().works)('class 4: crashing the harness with worker input', () => {
  it('NUL bytes, escape sequences and a bare CR in the handoff and on stdout (through the CLI)', async () => {
    // Plain `git commit -m` refuses a message with a NUL in it (execFile refuses the argument outright).
    const probe = probeRepository();
    expect(() => plainGit(probe, 'commit', '--allow-empty', '-m', 'a\0b')).toThrow();
    const hostile = await hostileWorkspace({
      attack: `
printf 'made a.txt\\0\\033[2J\\033]0;pwned\\007\\rhidden\\x9b31m\\n\\0\\0tail\\n' > "$BATON_HANDOFF_FILE"
printf 'stdout \\0 with \\033[31m escapes\\n'
echo a > a.txt`,
    });
    const run = await runHostileCli(hostile);
    expectSurvivedToDone(run);
    const first = eventsOf(run, 'agent.ended').find((event) => event.iteration === 1);
    expect(first?.finalMessage).toContain('made a.txt');
    // No control character reached a commit message, the event log or PROGRESS.md.
    // eslint-disable-next-line no-control-regex
    const control = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F]/;
    const subjects = git(hostile.workspace, 'log', '--all', '--format=%B%x01');
    expect(subjects.replaceAll('\u0001', '')).not.toMatch(control);
    expect(JSON.stringify(first?.finalMessage)).not.toMatch(/\\u001b|\\u0000|\\r/);
    expect(readFileSync(join(hostile.workspace, 'PROGRESS.md'), 'utf8')).not.toMatch(control);
    expect(run.stdout ?? '').not.toContain('\u001b]0;pwned');
    await expectNothingLeaked(hostile);
  });

  it('a .gitattributes with a bogus working-tree-encoding: uncommittable, set aside, the run goes on', async () => {
    const probe = probeRepository();
    writeFileSync(join(probe, '.gitattributes'), '*.txt working-tree-encoding=NO-SUCH-ENCODING\n');
    writeFileSync(join(probe, 'a.txt'), 'a\n');
    expect(spawnSync('git', ['add', '--all'], { cwd: probe }).status).not.toBe(0);
    const hostile = await hostileWorkspace({
      attack: `echo '* working-tree-encoding=NO-SUCH-ENCODING' > .gitattributes; echo a > a.txt`,
    });
    const run = await runHostile(hostile);
    expectSurvivedToDone(run);
    expect(firedGuards(run)).toContain('uncommittable');
    expectRefused(hostile, run, 1);
    // Nothing lost: what the worker left is kept aside.
    expect(
      existsSync(
        join(hostile.workspace, '.baton', 'scratch', run.runId, '1', 'uncommittable', '.gitattributes'),
      ),
    ).toBe(true);
    await expectNothingLeaked(hostile);
  });

  it('a nested repository with no commit, and FIFOs and a socket in the tree', async () => {
    const probe = probeRepository();
    mkdirSync(join(probe, 'empty'));
    plainGit(join(probe, 'empty'), 'init', '-q');
    writeFileSync(join(probe, 'empty', 'f'), 'x\n');
    expect(spawnSync('git', ['add', '--all'], { cwd: probe }).status).not.toBe(0);
    const hostile = await hostileWorkspace({
      attack: `
mkdir empty && git -C empty init -q && echo x > empty/f
mkfifo pipe.log src-pipe
${process.execPath} -e "require('net').createServer().listen('sock', () => process.exit(0))"
echo a > a.txt`,
    });
    const run = await runHostile(hostile);
    expectSurvivedToDone(run);
    expect(firedGuards(run)).toContain('nested-repository');
    expectRefused(hostile, run, 1);
    // Nothing opened the FIFOs (a reader would have blocked the run) and git recorded none of them.
    expect(statSync(join(hostile.workspace, 'pipe.log')).isFIFO()).toBe(true);
    expect(statSync(join(hostile.workspace, 'sock')).isSocket()).toBe(true);
    expect(git(hostile.workspace, 'log', '--all', '--name-only', '--format=')).not.toMatch(
      /^(pipe\.log|src-pipe|sock)$/m,
    );
    await expectNothingLeaked(hostile);
  });

  it('file names git and shells stumble on: leading dashes, newlines, invalid UTF-8, 255 bytes', async () => {
    // Unquoted, `-n` is an option: plain `git add -n` adds nothing; and git's line-based listing quotes
    // a name with a newline, so a parser of it reads another name than the file's.
    const probe = probeRepository();
    writeFileSync(join(probe, '-n'), 'x\n');
    writeFileSync(join(probe, 'line\nbreak'), 'x\n');
    plainGit(probe, 'add', '-n');
    expect(plainGit(probe, 'ls-files', '--', '-n')).toBe('');
    expect(plainGit(probe, 'status', '--porcelain')).toContain('"line\\nbreak"');
    const hostile = await hostileWorkspace({
      attack: `
echo x > ./--force; echo x > ./-n; echo x > "$(printf 'line\\nbreak')"; echo x > "$(printf 'bad\\xff\\xfename')"
echo x > "$(printf 'tab\\tname')"; echo x > "$(head -c 255 /dev/zero | tr '\\0' n)"
mkdir -p "$(printf 'd%.0s/' $(seq 1 60))" && echo x > "$(printf 'd%.0s/' $(seq 1 60))deep"
echo a > a.txt`,
    });
    const run = await runHostileCli(hostile);
    expectSurvivedToDone(run);
    expect(statSync(join(hostile.workspace, '--force')).isFile()).toBe(true);
    await expectNothingLeaked(hostile);
  });

  it('past guards.maxGrowth (the default 128 MiB): 160 MB of new files are refused and moved aside before git sees them', async () => {
    const hostile = await hostileWorkspace({
      attack: `mkdir -p assets; for i in $(seq 1 20); do head -c ${8 * 1024 * 1024} /dev/urandom > assets/blob-$i.bin; done; echo a > a.txt`,
      agentTimeout: '5m',
    });
    const run = await runHostile(hostile);
    expectSurvivedToDone(run);
    const reason = expectRefused(hostile, run, 1);
    expect(reason).toContain('limit guards.maxGrowth = 128.0 MiB');
    // Kept, not deleted; never in the repository.
    const scratch = join(hostile.workspace, '.baton', 'scratch', run.runId, '1', 'assets');
    expect(readdirSync(scratch)).toHaveLength(20);
    expect(git(hostile.workspace, 'log', '--all', '--name-only', '--format=')).not.toContain('blob-');
    expect(git(hostile.workspace, 'count-objects', '-v')).toMatch(/size-pack: \d{1,4}\n/);
    await expectNothingLeaked(hostile);
  }, 600_000);

  it('a 100 MB file with guards.maxGrowth raised past it: the review reads its diff up to the cap and refuses, the work kept, the run goes on', async () => {
    const megabytes = 100;
    const hostile = await hostileWorkspace({
      attack: `head -c ${megabytes * 1024 * 1024} /dev/urandom | base64 -w 120 > big.txt; echo a > a.txt`,
      agentTimeout: '5m',
      yaml: 'guards:\n  maxGrowth: 1GiB',
    });
    const started = performance.now();
    const run = await runHostile(hostile);
    const seconds = (performance.now() - started) / 1000;
    process.stdout.write(
      `a ${megabytes} MB file (base64, 135 MB): the whole run took ${seconds.toFixed(1)} s\n`,
    );
    expectSurvivedToDone(run);
    const reason = expectRefused(hostile, run, 1);
    expect(reason).toContain('the diff was cut at');
    // Nothing lost: the refused work, the big file included, is under its ref.
    const savedAs = eventsOf(run, 'iteration.rolled-back').find((event) => event.iteration === 1)?.savedAs;
    expect(
      Number(git(hostile.workspace, 'cat-file', '-s', `${savedAs ?? ''}:big.txt`).trim()),
    ).toBeGreaterThan(megabytes * 1024 * 1024);
    // Read whole, as a plain child process with its default buffer does, the diff overflows it.
    expect(() => git(hostile.workspace, 'show', savedAs ?? '')).toThrow(/ENOBUFS|maxBuffer/);
    // The event log and the saved diff stay small: nothing of the file's size was copied into them.
    const dir = join(hostile.workspace, '.baton', 'runs', run.runId);
    expect(statSync(join(dir, 'events.jsonl')).size).toBeLessThan(1024 * 1024);
    expect(statSync(join(dir, 'iterations', '00001', 'diff.patch')).size).toBeLessThan(17 * 1024 * 1024);
    await expectNothingLeaked(hostile);
  }, 600_000);
});
