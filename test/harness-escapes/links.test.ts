import { existsSync, readFileSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findRunProcesses } from '../../src/run/orphans.ts';
import { detectBwrap } from '../../src/sandbox/bwrap.ts';
import { feature, tempDir } from '../helpers.ts';
import {
  eventsOf,
  expectNothingLeaked,
  expectRefused,
  expectSurvivedToDone,
  firedGuards,
  hostileWorkspace,
  runHostile,
  runHostileCli,
  transcriptOf,
} from './hostile.ts';

/**
 * Classes 2 and 3 of issue 14: writing and reading a host file through a link. The harness writes the
 * state files and reads them back, reads the handoff, and moves scratch files, all as its own user: a
 * link the worker planted (in its session, or later from a check it wrote) must never be followed.
 */

/** Plain fs follows a link: a write lands in the target, a read returns it, a move takes it. */
function expectPlainFsFollows(): void {
  const dir = tempDir('baton-probe-');
  const target = join(dir, 'target');
  writeFileSync(target, 'original');
  symlinkSync(target, join(dir, 'link'));
  writeFileSync(join(dir, 'link'), 'overwritten');
  expect(readFileSync(target, 'utf8')).toBe('overwritten');
  expect(readFileSync(join(dir, 'link'), 'utf8')).toBe('overwritten');
  // And a link to /proc/self/environ reads the environment of whoever opens it.
  symlinkSync('/proc/self/environ', join(dir, 'environ'));
  expect(readFileSync(join(dir, 'environ'), 'utf8')).toContain(`PATH=${process.env.PATH ?? ''}`);
}

/** A check script the worker writes: runs `body` during verification, then passes. */
function checkScript(body: string): string {
  return `cat > lib.sh <<EOF\n${body}\ntrue\nEOF`;
}

const checkedFeatures = [feature('F1', 'bash check.sh && test -f a.txt'), feature('F2', 'test -f b.txt')];
const checkFiles = { 'README.md': '# project\n', 'check.sh': '. ./lib.sh\n', 'lib.sh': 'true\n' };
const honestWithCheck = 'printf "true\\n" > lib.sh; echo a > a.txt; echo b > b.txt';

describe.runIf(detectBwrap().works)('class 2: writing a host file through a link', () => {
  it('every state file replaced by a link to a host file (through the CLI): refused, the host file unchanged', async () => {
    expectPlainFsFollows();
    const hostile = await hostileWorkspace({
      attack: `
for file in PROGRESS.md FEATURES.json IMPLEMENTATION_PLAN.md baton.yaml; do
  rm -f "$file" && ln -s "$OUTSIDE/bashrc" "$file"
done
echo a > a.txt`,
    });
    const run = await runHostileCli(hostile);
    expectSurvivedToDone(run);
    const unsafe = eventsOf(run, 'guard.fired')
      .filter((event) => event.guard === 'unsafe-file')
      .flatMap((event) => event.details)
      .join('\n');
    for (const file of ['PROGRESS.md', 'FEATURES.json', 'IMPLEMENTATION_PLAN.md', 'baton.yaml']) {
      expect(unsafe).toContain(`${file} was replaced by a symbolic link`);
    }
    expectRefused(hostile, run, 1);
    await expectNothingLeaked(hostile);
  });

  it("links at the old predictable temp names (the pid read from .baton/lock), and in the harness's temp folder", async () => {
    expectPlainFsFollows();
    // The old harness wrote `.<name>.<pid>.tmp` beside the target with a plain open, which followed a
    // link there. The worker reads the pid from the lock and plants a link at every such name.
    const hostile = await hostileWorkspace({
      attack: `
pid=$(sed -n 's/.*"pid": *\\([0-9]*\\).*/\\1/p' .baton/lock)
echo "pid=$pid"
for file in PROGRESS.md FEATURES.json IMPLEMENTATION_PLAN.md; do
  ln -s "$OUTSIDE/bashrc" ".$file.$pid.tmp"
done
ln -s "$OUTSIDE/bashrc" .baton/tmp/planted 2>/dev/null && echo "PLANTED IN .baton/tmp"
mkdir -p .baton/tmp 2>/dev/null && echo "MADE .baton/tmp"
echo a > a.txt`,
    });
    const run = await runHostileCli(hostile);
    expectSurvivedToDone(run);
    const transcript = transcriptOf(hostile, run);
    expect(transcript).toMatch(/pid=[1-9]/);
    expect(transcript).not.toContain('PLANTED IN .baton/tmp');
    await expectNothingLeaked(hostile);
  });

  it('state files turned into links by a verify command, after the guards looked, and a planter left running', async () => {
    expectPlainFsFollows();
    // The check script is project code the worker may change; it runs during verification and plants
    // the links then, just before the harness writes FEATURES.json and PROGRESS.md; it also leaves a
    // process behind that keeps planting them.
    const plant = `for file in PROGRESS.md FEATURES.json IMPLEMENTATION_PLAN.md; do rm -f "\\$file"; ln -s "$OUTSIDE/bashrc" "\\$file"; done`;
    const hostile = await hostileWorkspace({
      features: checkedFeatures,
      files: checkFiles,
      attack: `
${checkScript(`${plant}\nsetsid bash -c 'while :; do ${plant.replaceAll("'", '')} 2>/dev/null; done' > /dev/null 2>&1 &`)}
echo a > a.txt`,
      honest: honestWithCheck,
    });
    const run = await runHostile(hostile);
    // The links were there after verification (stashed as links, never followed)...
    const polluted = eventsOf(run, 'tree.polluted').find((event) => event.iteration === 1);
    expect(polluted?.paths).toEqual(expect.arrayContaining(['PROGRESS.md', 'FEATURES.json']));
    // ... and the planter died with its sandbox: nothing of the run is left running.
    expect(findRunProcesses(run.runId)).toEqual([]);
    expectSurvivedToDone(run);
    await expectNothingLeaked(hostile);
  });

  it('a link to a host folder named like a scratch folder, and a scratch file that is a link', async () => {
    // A naive scratch move through a folder link takes the host's own file.
    const host = tempDir('baton-probe-');
    const probe = tempDir('baton-probe-');
    writeFileSync(join(host, 'f'), 'host file');
    symlinkSync(host, join(probe, 'tmp'));
    renameSync(join(probe, 'tmp', 'f'), join(probe, 'moved'));
    expect(existsSync(join(host, 'f'))).toBe(false);

    const hostile = await hostileWorkspace({
      attack: `
ln -s "$OUTSIDE" tmp
ln -s "$OUTSIDE/bashrc" debug-output.log
mkdir -p build && ln -s "$OUTSIDE" build/scratch-host
echo a > a.txt`,
    });
    const run = await runHostile(hostile);
    expectSurvivedToDone(run);
    // The scratch file was moved as the link it is; the folder links were never walked into.
    expect(firedGuards(run)).toContain('pollution');
    await expectNothingLeaked(hostile);
  });
});

describe.runIf(detectBwrap().works)('class 3: reading a host file through a link', () => {
  it("the handoff file as a link to a host secret, and to the harness's /proc/self/environ (through the CLI)", async () => {
    expectPlainFsFollows();
    for (const target of ['"$OUTSIDE/id_rsa"', '/proc/self/environ']) {
      const hostile = await hostileWorkspace({
        attack: `ln -sf ${target} "$BATON_HANDOFF_FILE"; echo a > a.txt`,
      });
      // The CLI's /proc/self/environ holds the secrets: they are in the environment it was started with.
      const run = await runHostileCli(hostile);
      expectSurvivedToDone(run);
      const first = eventsOf(run, 'agent.ended').find((event) => event.iteration === 1);
      expect(first?.finalMessage).toContain('baton refused the handoff file: it is a symbolic link');
      await expectNothingLeaked(hostile);
    }
  });

  it('state files as links to a host secret and to /proc/self/environ, one retargeted by a check (through the CLI)', async () => {
    expectPlainFsFollows();
    // PROGRESS.md is a link to an ignored link that a check retargets at the harness's environment.
    const hostile = await hostileWorkspace({
      features: checkedFeatures,
      files: { ...checkFiles, '.gitignore': '.cache/\n' },
      attack: `
mkdir -p .cache && ln -s ../README.md .cache/progress
rm PROGRESS.md && ln -s .cache/progress PROGRESS.md
rm IMPLEMENTATION_PLAN.md && ln -s "$OUTSIDE/id_rsa" IMPLEMENTATION_PLAN.md
rm FEATURES.json && ln -s /proc/self/environ FEATURES.json
${checkScript('ln -sfn /proc/self/environ .cache/progress')}
echo a > a.txt`,
      honest: honestWithCheck,
    });
    const run = await runHostileCli(hostile);
    expectSurvivedToDone(run);
    expect(firedGuards(run)).toContain('unsafe-file');
    expectRefused(hostile, run, 1);
    await expectNothingLeaked(hostile);
  });
});
