import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../src/config/load.ts';
import { gatherTestEvidence } from '../src/core/test-evidence.ts';
import { noSandbox } from '../src/sandbox/sandbox.ts';
import { contractChanges, pathsNamedBy } from '../src/core/contract.ts';
import { behaviourChanges, checksAffectedBy, vacuousFlips } from '../src/core/test-changes.ts';
import { defaultTestGlobs } from '../src/config/schema.ts';
import type { CheckResult } from '../src/log/events.ts';
import type { Feature } from '../src/workspace/features.ts';
import { git, tempDir, writeFiles } from './helpers.ts';

const feature = (id: string, verify: string): Feature => ({
  id,
  title: `feature ${id}`,
  steps: [],
  verify,
  status: 'failing',
  evidence: null,
});

const check = (
  kind: CheckResult['kind'],
  name: string,
  passed: boolean,
  command = `run ${name}`,
): CheckResult => ({
  kind,
  name,
  command,
  passed,
  exitCode: passed ? 0 : 1,
  ended: passed ? 'exit 0' : 'exit 1',
  durationMs: 1,
  outputPath: `.baton/${name}.log`,
});

describe('the verification contract', () => {
  const base = {
    featuresBefore: [feature('F1', 'node --test'), feature('F2', 'bash scripts/check.sh')],
    versions: [],
    namedPaths: pathsNamedBy(
      ['node --test', 'bash scripts/check.sh', './init.sh smoke'],
      ['scripts/check.sh', 'init.sh', 'PLAN.md'],
    ),
    testFiles: defaultTestGlobs,
  };

  it('names the files a command runs, not the ones it reads', () => {
    expect(
      [
        ...pathsNamedBy(
          ['grep -q F5 PLAN.md', 'FOO=1 node tools/v.js --fast', './init.sh smoke'],
          ['PLAN.md', 'tools/v.js', 'init.sh'],
        ),
      ].sort(),
    ).toEqual(['init.sh', 'tools/v.js']);
  });

  it('sees a weakened or re-pointed verify, a dropped feature and a renamed title', () => {
    const changes = contractChanges({
      ...base,
      featuresAfter: [{ ...feature('F1', 'node --test || true'), title: 'renamed' }],
      changed: [{ status: 'modified', path: 'FEATURES.json' }],
    });
    expect(changes.map((change) => change.detail)).toEqual([
      'changed the verify command of F1 (`node --test` -> `node --test || true`)',
      'changed the title of F1 ("feature F1" -> "renamed")',
      'dropped the feature F2 from FEATURES.json',
    ]);
  });

  it('sees the test runner narrowed and the test script replaced, not a dependency added', () => {
    const manifest = (scripts: Record<string, string>, dependencies: Record<string, string> = {}) =>
      JSON.stringify({ name: 'x', scripts, dependencies });
    const gamed = contractChanges({
      ...base,
      featuresAfter: base.featuresBefore,
      changed: [
        { status: 'added', path: '.mocharc.yml' },
        { status: 'modified', path: 'package.json' },
        { status: 'modified', path: 'scripts/check.sh' },
        { status: 'modified', path: 'test/a.test.js' },
      ],
      versions: [
        { path: 'package.json', before: manifest({ test: 'mocha' }), after: manifest({ test: 'exit 0' }) },
      ],
    });
    expect(gamed.map((change) => change.detail)).toEqual([
      "added the test runner's configuration .mocharc.yml",
      'changed "scripts" in package.json, which decide what the checks run',
      'changed scripts/check.sh, which a verify, oracle or smoke command runs',
    ]);
    const legit = contractChanges({
      ...base,
      featuresAfter: [...base.featuresBefore, feature('F3', 'node --test')],
      changed: [{ status: 'modified', path: 'package.json' }],
      versions: [
        {
          path: 'package.json',
          before: manifest({ test: 'mocha' }),
          after: manifest({ test: 'mocha' }, { lodash: '4.17.21' }),
        },
      ],
    });
    expect(legit).toEqual([]);
  });
});

describe('test changes judged by running the accepted tests', () => {
  it('a check the accepted tests fail on the new code is a change of tested behaviour', () => {
    const changes = behaviourChanges({
      passedBefore: new Set(['feature:F1']),
      candidate: [check('feature', 'F1', true), check('feature', 'F2', true)],
      accepted: [check('feature', 'F1', false), check('feature', 'F2', false)],
      changedTests: ['test/a.test.js'],
      hints: [],
    });
    expect(changes.map((change) => change.features)).toEqual([['F1'], ['F2']]);
    expect(changes[0]?.detail).toContain('which passed it before');
    expect(changes[1]?.detail).toContain('passes only with the changed tests');
  });

  it('a tightened test the new code passes either way is accepted; a flagged one no check can validate is not', () => {
    expect(
      behaviourChanges({
        passedBefore: new Set(['feature:F1']),
        candidate: [check('feature', 'F1', true)],
        accepted: [check('feature', 'F1', true)],
        changedTests: ['test/a.test.js'],
        hints: [{ path: 'test/a.test.js', detail: 'removed 1 assertion(s) from test/a.test.js' }],
      }),
    ).toEqual([]);
    const unvalidated = behaviourChanges({
      passedBefore: new Set(),
      candidate: [
        check('feature', 'F4', false, 'node --test test/d.test.js'),
        check('oracle', 'tests', false),
      ],
      accepted: [
        check('feature', 'F4', false, 'node --test test/d.test.js'),
        check('oracle', 'tests', false),
      ],
      changedTests: ['test/d.test.js'],
      hints: [{ path: 'test/d.test.js', detail: 'removed 1 assertion(s) from test/d.test.js' }],
    });
    expect(unvalidated.map((change) => change.features)).toEqual([['F4']]);
    // Only oracles run it, and they fail both ways for other reasons: a hint for the record, no verdict.
    expect(
      behaviourChanges({
        passedBefore: new Set(),
        candidate: [check('oracle', 'tests', false)],
        accepted: [check('oracle', 'tests', false)],
        changedTests: ['test/d.test.js'],
        hints: [{ path: 'test/d.test.js', detail: 'removed 1 assertion(s) from test/d.test.js' }],
      }),
    ).toEqual([]);
  });

  it('a feature that passes also on the code it last failed on does not discriminate', () => {
    expect(
      vacuousFlips(
        [check('feature', 'F1', true), check('feature', 'F2', true), check('feature', 'F3', false)],
        [check('feature', 'F1', true), check('feature', 'F2', false), check('feature', 'F3', true)],
      ),
    ).toEqual(['F1']);
  });
});

describe('which checks a test change can affect', () => {
  const commands = ['node --test test/a.test.js', 'node --test test/b.test.js', 'npm test'];
  const tests = ['test/a.test.js', 'test/b.test.js', 'test/helpers.js'];
  it('the checks naming a changed file, and those that name none (a suite)', () => {
    expect(checksAffectedBy(commands, tests, ['test/a.test.js'])).toEqual([true, false, true]);
    expect(checksAffectedBy(commands, tests, ['test/b.test.js'])).toEqual([false, true, true]);
  });
  it('every check when the changed file is named by none (a helper any test may load)', () => {
    expect(checksAffectedBy(commands, tests, ['test/helpers.js'])).toEqual([true, true, true]);
  });
});

describe('the accepted tests that cannot be run', () => {
  it('are reported, not thrown: the work is refused and the run goes on', async () => {
    const workspace = tempDir('baton-gather-');
    git(workspace, 'init', '-q', '--initial-branch=main');
    writeFiles(workspace, { 'test/a.test.js': 'assert(1)\n' });
    git(workspace, 'add', '-A');
    git(workspace, 'commit', '-qm', 'a test');
    const base = git(workspace, 'rev-parse', 'HEAD').trim();
    const parsed = parseConfigText('version: 1\n');
    if (!parsed.ok) throw new Error('the minimal config does not parse');
    const gathered = await gatherTestEvidence(
      {
        workspace,
        runId: 'r1',
        label: '1',
        base,
        // A commit git does not have: the overlay cannot be built.
        candidate: '0123456789abcdef0123456789abcdef01234567',
        review: {
          violations: [],
          hints: [],
          contract: [],
          changed: [{ status: 'modified', path: 'test/a.test.js' }],
        },
        features: { version: 1, features: [feature('F1', 'node --test test/a.test.js')] },
        config: parsed.config,
        checkContext: {
          workspace,
          outputDir: join(workspace, '.baton', 'checks'),
          env: {},
          signal: new AbortController().signal,
          sandbox: noSandbox,
        },
      },
      new Set(),
      {},
    );
    expect(gathered.ok).toBe(false);
    expect(gathered.ok ? '' : gathered.problem).toMatch(/0123456789ab|not a valid|bad object|fatal/i);
  });
});
