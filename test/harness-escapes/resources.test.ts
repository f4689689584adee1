import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { detectBwrap } from '../../src/sandbox/bwrap.ts';
import { ioLimits, maxCheckOutputBytes, maxTranscriptBytes } from '../../src/util/limits.ts';
import { feature, git } from '../helpers.ts';
import {
  checkLogPath,
  eventsOf,
  expectNothingLeaked,
  expectSurvivedToDone,
  hostileWorkspace,
  runHostile,
  runHostileCli,
  transcriptOf,
} from './hostile.ts';

/**
 * Class 5 of issue 14: resources the harness spends on the worker's behalf. Every size the worker
 * controls is capped by the harness; a cap hit refuses the iteration with the reason.
 */
const mebibyte = 1024 * 1024;
/** The marker a cut file carries is short; allow for it. */
const markerSlack = 4 * 1024;

describe.runIf(detectBwrap().works)('class 5: unbounded resources', () => {
  it('a session printing 40 MB: the transcript keeps its head and tail, marked where it was cut', async () => {
    const hostile = await hostileWorkspace({
      attack: `
echo HEAD-OF-OUTPUT
head -c ${40 * mebibyte} /dev/zero | tr '\\0' x | fold -w 100
echo; echo TAIL-OF-OUTPUT
echo a > a.txt`,
    });
    const run = await runHostileCli(hostile);
    expectSurvivedToDone(run);
    const transcript = join(
      hostile.workspace,
      '.baton',
      'runs',
      run.runId,
      'iterations',
      '00001',
      'transcript.log',
    );
    expect(statSync(transcript).size).toBeLessThanOrEqual(maxTranscriptBytes + markerSlack);
    const text = readFileSync(transcript, 'utf8');
    // (Booleans, not the text: a failure must not print megabytes.)
    expect(text.startsWith('HEAD-OF-OUTPUT')).toBe(true);
    expect(text.includes('TAIL-OF-OUTPUT')).toBe(true);
    // The worker did print that much: the marker counts what was cut.
    const cut = /\[… ([\d.]+) MB cut by baton …\]/.exec(text)?.[1];
    expect(Number(cut)).toBeGreaterThan(30);
    // The event log holds no copy of it.
    const log = join(hostile.workspace, '.baton', 'runs', run.runId, 'events.jsonl');
    expect(statSync(log).size).toBeLessThan(mebibyte);
    await expectNothingLeaked(hostile);
  });

  it('a check printing 30 MB (worker code in the verify command): its saved output is capped too', async () => {
    const hostile = await hostileWorkspace({
      features: [feature('F1', 'bash check.sh && test -f a.txt'), feature('F2', 'test -f b.txt')],
      files: { 'README.md': '# project\n', 'check.sh': '. ./lib.sh\n', 'lib.sh': 'true\n' },
      attack: `
cat > lib.sh <<'EOF'
head -c ${30 * mebibyte} /dev/zero | tr '\\0' y
EOF
echo a > a.txt`,
      honest: 'printf "true\\n" > lib.sh; echo a > a.txt; echo b > b.txt',
    });
    const run = await runHostile(hostile);
    expectSurvivedToDone(run);
    const output = checkLogPath(hostile, run, 'feature-F1');
    const size = statSync(output).size;
    expect(size).toBeGreaterThan(maxCheckOutputBytes / 2);
    const cut = /\[… ([\d.]+) MB cut by baton …\]/.exec(readFileSync(output, 'utf8'))?.[1];
    expect(Number(cut)).toBeGreaterThan(25);
    expect(size).toBeLessThanOrEqual(maxCheckOutputBytes + markerSlack);
    await expectNothingLeaked(hostile);
  });

  it('FEATURES.json made enormous, or given thousands of features: refused with the reason', async () => {
    for (const shape of ['enormous', 'many'] as const) {
      const attack =
        shape === 'enormous'
          ? // One feature whose title is larger than the whole file may be.
            `node -e "const f=JSON.parse(require('fs').readFileSync('FEATURES.json','utf8'));f.features[0].title='t'.repeat(${3 * mebibyte});require('fs').writeFileSync('FEATURES.json',JSON.stringify(f))"`
          : `node -e "const f=JSON.parse(require('fs').readFileSync('FEATURES.json','utf8'));for(let i=0;i<3000;i+=1)f.features.push({id:'X'+i,title:'x',steps:[],verify:'true',status:'failing',evidence:null});require('fs').writeFileSync('FEATURES.json',JSON.stringify(f))"`;
      const hostile = await hostileWorkspace({ attack: `${attack}\necho a > a.txt` });
      const run = await runHostile(hostile);
      expectSurvivedToDone(run);
      const details = eventsOf(run, 'guard.fired')
        .filter((event) => event.guard === 'features')
        .flatMap((event) => event.details)
        .join('\n');
      expect(details).toContain(shape === 'enormous' ? 'maxFeaturesFileBytes' : 'maxFeatureCount');
      // The list in force is the harness's: two features, never the worker's thousands.
      const final = JSON.parse(readFileSync(join(hostile.workspace, 'FEATURES.json'), 'utf8')) as {
        features: unknown[];
      };
      expect(final.features).toHaveLength(2);
      expect(ioLimits.maxFeatureCount).toBeLessThan(3000);
      await expectNothingLeaked(hostile);
    }
  });

  it('a file past sandbox.limits.fileSize is cut by the kernel, and the run goes on', async () => {
    const hostile = await hostileWorkspace({
      sandbox: ['limits:', '  fileSize: 8MiB'],
      attack: `head -c ${40 * mebibyte} /dev/zero > grown.bin; echo "exit=$?"; echo a > a.txt`,
    });
    const run = await runHostile(hostile);
    expectSurvivedToDone(run);
    expect(transcriptOf(hostile, run)).toMatch(/^exit=[1-9]/m);
    // What was committed of it is at most the limit.
    const blobs = git(hostile.workspace, 'log', '--all', '--format=', '--raw', '--no-abbrev')
      .split('\n')
      .filter((line) => line.endsWith('\tgrown.bin'))
      .map((line) => line.split(' ')[3] ?? '');
    expect(blobs.length).toBeGreaterThan(0);
    for (const blob of blobs) {
      expect(Number(git(hostile.workspace, 'cat-file', '-s', blob).trim())).toBeLessThanOrEqual(8 * mebibyte);
    }
    await expectNothingLeaked(hostile);
  });
});
