import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildRunReceipt } from '../src/api/report.ts';
import { resumeRun, runLoop } from '../src/api/run.ts';
import { readEventLog } from '../src/log/event-log.ts';
import type { RunEvent } from '../src/log/events.ts';
import { renderMarkdown } from '../src/observe/receipt/markdown.ts';
import { createFunctionAgent } from '../src/testing/function-agent.ts';
import { eventLogPath } from '../src/workspace/paths.ts';
import { checkOutRunBranch, feature, git, makeWorkspace } from './helpers.ts';
import { decideProposal } from '../src/api/proposals.ts';
import { readFeatureList } from '../src/workspace/features.ts';

function eventsOf(workspace: string, runId: string): readonly RunEvent[] {
  return readEventLog(eventLogPath(workspace, runId)).events;
}

function passedNames(checks: readonly { kind: string; name: string; passed: boolean }[]): string[] {
  return checks.filter((check) => check.passed).map((check) => `${check.kind}:${check.name}`);
}

describe('the run baseline', () => {
  it('is verified before the first worker, also when that worker is refused: what passed there is not progress, what failed there blocks nothing', async () => {
    const workspace = await makeWorkspace({
      features: [
        // Fails at the baseline; the third worker makes it pass.
        feature('F1', 'test -f a.txt'),
        // Already passes at the baseline, although FEATURES.json says failing.
        feature('F2', 'test -f README.md'),
        // Fails at the baseline and nobody fixes it: a pre-existing failure.
        feature('F3', 'test -f never.txt'),
      ],
      budgets: { iterations: 3, noProgressIterations: 0 },
    });
    const agent = createFunctionAgent(({ cwd, env }) => {
      if (env.BATON_ITERATION === '1') {
        // Refused: the worker flips a status itself.
        const path = join(cwd, 'FEATURES.json');
        writeFileSync(path, readFileSync(path, 'utf8').replaceAll('"failing"', '"passing"'));
        return 'flipped them\nCLAIM: DONE';
      }
      if (env.BATON_ITERATION === '2') return 'looked around, changed nothing';
      writeFileSync(join(cwd, 'a.txt'), 'a\n');
      return 'made a.txt';
    });
    const result = await runLoop({ workspace, agent });
    const events = eventsOf(workspace, result.runId);

    // Recorded once, before the first iteration started, on the commit the run started from.
    const baselines = events.filter((event) => event.type === 'baseline.verified');
    expect(baselines).toHaveLength(1);
    const baseline = baselines[0];
    if (baseline?.type !== 'baseline.verified') throw new Error('no baseline');
    expect(events.findIndex((event) => event.type === 'baseline.verified')).toBeLessThan(
      events.findIndex((event) => event.type === 'iteration.started'),
    );
    expect(baseline.commit).toBe(result.state.startCommit);
    expect(passedNames(baseline.checks)).toEqual(['feature:F2']);
    expect(result.state.baseline?.commit).toBe(result.state.startCommit);

    const [first, second, third] = result.state.iterations;
    expect(first?.rolledBack).toBe(true);
    expect(first?.guards).toContain('test-gaming');
    // F2 passes in iteration 2's checks and FEATURES.json said failing: without the baseline that would
    // be counted as the worker's progress.
    expect(second?.progressed).toBe(false);
    expect(third?.progressed).toBe(true);
    // F3 failing since the start blocks nothing: no regression, nothing rolled back.
    expect(third?.rolledBack).toBe(false);
    expect(third?.regressed).toEqual([]);
    expect(result.state.passingFeatures).toEqual(['F1', 'F2']);

    // The receipt says which features held at the baseline and which failures were there already.
    const receipt = await buildRunReceipt(workspace, result.runId);
    expect(receipt.baseline).toEqual({
      commit: result.state.startCommit,
      passing: ['feature:F2'],
      failing: ['feature:F1', 'feature:F3'],
    });
    expect(receipt.features.list.map((entry) => [entry.id, entry.passingAtBaseline])).toEqual([
      ['F1', false],
      ['F2', true],
      ['F3', false],
    ]);
    expect(renderMarkdown(receipt)).toContain('1 check(s) passed there');
  });

  it('gives the first worker evidence that discriminates: a test that passes on the code it started from is refused in iteration 1', async () => {
    // F1's test does not exist yet: it fails at the baseline, which is where a new passing check must
    // still fail.
    const workspace = await makeWorkspace({
      files: { 'README.md': '# project\n', 'lib.sh': 'echo 1\n' },
      features: [feature('F1', 'sh test/f1.test.sh')],
      budgets: { iterations: 1, noProgressIterations: 0 },
    });
    const agent = createFunctionAgent(({ cwd }) => {
      // A test that passes whatever lib.sh says, and lib.sh left as it was.
      mkdirSync(join(cwd, 'test'));
      writeFileSync(join(cwd, 'test/f1.test.sh'), '[ -n "$(sh lib.sh)" ]\n');
      return 'wrote the test\nCLAIM: DONE';
    });
    const result = await runLoop({ workspace, agent });
    const [first] = result.state.iterations;
    expect(first?.guards).toContain('vacuous-check');
    expect(first?.rolledBack).toBe(true);
    expect(result.state.passingFeatures).toEqual([]);
    expect(result.state.lastFailedAt.F1).toBe(result.state.startCommit);
    expect(result.stop.reason).not.toBe('done');
  });

  it('is not verified again on resume', async () => {
    const workspace = await makeWorkspace({
      features: [feature('F1', 'test -f a.txt')],
      budgets: { iterations: 1, noProgressIterations: 0 },
    });
    const idle = createFunctionAgent(() => 'nothing');
    const first = await runLoop({ workspace, agent: idle });
    expect(first.stop.reason).toBe('budget-iterations');
    // The run's baton.yaml is the one on its branch: the person raises the budget there.
    git(workspace, 'switch', '-q', first.state.branch ?? '');
    writeFileSync(
      join(workspace, 'baton.yaml'),
      readFileSync(join(workspace, 'baton.yaml'), 'utf8').replace(/iterations: \d+/, 'iterations: 2'),
    );
    git(workspace, 'commit', '-qam', 'one more iteration');
    const again = await resumeRun({ workspace, agent: idle });
    expect(again.runId).toBe(first.runId);
    expect(again.state.iterationsCompleted).toBe(2);
    expect(
      eventsOf(workspace, first.runId).filter((event) => event.type === 'baseline.verified'),
    ).toHaveLength(1);
  });
});

describe('a flaky check', () => {
  it('is run once more before it counts as a regression: a flip is marked flaky, not rolled back; a real regression still is', async () => {
    // F1 fails once whenever the (ignored) file .flip exists, and removes it: a flaky check the worker
    // can trigger. It fails for good once broken.txt is committed.
    const workspace = await makeWorkspace({
      files: {
        'README.md': '# project\n',
        '.gitignore': '.flip\n',
        'f1.sh': 'if [ -f .flip ]; then rm .flip; exit 1; fi\n[ ! -f broken.txt ]\n',
      },
      features: [feature('F1', 'sh f1.sh'), feature('F2', 'test -f b.txt'), feature('F3', 'test -f c.txt')],
      budgets: { iterations: 3, noProgressIterations: 0 },
    });
    const agent = createFunctionAgent(({ cwd, env }) => {
      if (env.BATON_ITERATION === '1') {
        writeFileSync(join(cwd, '.flip'), '');
        writeFileSync(join(cwd, 'b.txt'), 'b\n');
        return 'made b.txt';
      }
      if (env.BATON_ITERATION === '2') {
        writeFileSync(join(cwd, 'broken.txt'), 'x\n');
        writeFileSync(join(cwd, 'c.txt'), 'c\n');
        return 'made c.txt';
      }
      return 'nothing';
    });
    const result = await runLoop({ workspace, agent });
    const [first, second] = result.state.iterations;
    expect(first?.rolledBack).toBe(false);
    expect(first?.regressed).toEqual([]);
    expect(first?.progressed).toBe(true);
    expect(first?.guards).not.toContain('regression');
    const verifications = eventsOf(workspace, result.runId).filter(
      (event): event is Extract<RunEvent, { type: 'verify.ended' }> => event.type === 'verify.ended',
    );
    const f1 = verifications
      .find((event) => event.iteration === 1)
      ?.checks.find((check) => check.name === 'F1');
    expect(f1?.passed).toBe(true);
    expect(f1?.flaky?.ended).toBe('exit 1');
    expect(readFileSync(join(workspace, f1?.flaky?.outputPath ?? 'missing'), 'utf8')).toBe('');

    // Failing twice is a regression, rolled back as before.
    expect(second?.rolledBack).toBe(true);
    expect(second?.guards).toContain('regression');
    expect(result.state.passingFeatures).toEqual(['F1', 'F2']);

    const receipt = await buildRunReceipt(workspace, result.runId);
    expect(receipt.flaky).toEqual([
      {
        check: 'feature:F1',
        iteration: 1,
        failedRun: { ended: 'exit 1', outputPath: f1?.flaky?.outputPath },
      },
    ]);
    expect(renderMarkdown(receipt)).toContain('Flaky checks');
  });
});

/**
 * F1 and F2 both pass on one.sh; the first worker makes one.sh print 2 and changes F1's test to expect it
 * (a behaviour change, a proposal), which also breaks F2. Later workers do nothing.
 */
async function oneBecomesTwo(iterations: number) {
  const workspace = await makeWorkspace({
    files: {
      'README.md': '# project\n',
      'one.sh': 'echo 1\n',
      'test/one.test.sh': '[ "$(sh one.sh)" = 1 ]\n',
      'test/two.test.sh': '[ "$(sh one.sh)x" = 1x ]\n',
    },
    features: [feature('F1', 'sh test/one.test.sh'), feature('F2', 'sh test/two.test.sh')],
    budgets: { iterations, noProgressIterations: 0 },
  });
  const agent = createFunctionAgent(({ cwd, env }) => {
    if (env.BATON_ITERATION !== '1') return 'nothing to do';
    writeFileSync(join(cwd, 'one.sh'), 'echo 2\n');
    writeFileSync(join(cwd, 'test/one.test.sh'), '[ "$(sh one.sh)" = 2 ]\n');
    return 'one is 2 now';
  });
  return { workspace, agent };
}

describe('a proposal that also breaks another check', () => {
  it('says so in its reasons, so whoever accepts it knows', async () => {
    const { workspace, agent } = await oneBecomesTwo(1);
    const result = await runLoop({ workspace, agent });
    const [proposal] = result.state.proposals;
    expect(proposal?.kind).toBe('behaviour');
    expect(proposal?.reasons.join('\n')).toContain('it also breaks feature:F2, which passed before');
  });

  it('once accepted, is verified on the branch: what it broke is recorded, not blamed on the next worker', async () => {
    const { workspace, agent } = await oneBecomesTwo(2);
    const result = await runLoop({
      workspace,
      agent,
      onEvent: (event) => {
        if (event.type === 'proposal.created') {
          decideProposal(workspace, event.id, 'accepted', 'two is the new one');
        }
      },
    });
    const verified = eventsOf(workspace, result.runId).find((event) => event.type === 'proposals.verified');
    expect(verified?.type === 'proposals.verified' ? verified.ids : []).toEqual(['P1']);
    expect(verified?.type === 'proposals.verified' ? verified.passingFeatures : []).toEqual(['F1']);
    const [, second] = result.state.iterations;
    // F2 passed before the proposal and fails after it: the person's accepted change, not the worker's.
    expect(second?.rolledBack).toBe(false);
    expect(second?.regressed).toEqual([]);
    expect(result.state.passingFeatures).toEqual(['F1']);
    checkOutRunBranch(workspace, result.state);
    expect(readFileSync(join(workspace, 'one.sh'), 'utf8')).toBe('echo 2\n');
    const list = readFeatureList(workspace);
    expect(list.ok ? list.list.features.map((entry) => entry.status) : []).toEqual(['passing', 'failing']);
  });
});
