import { describe, expect, it } from 'vitest';
import type { CheckResult } from '../src/log/events.ts';
import { judge, type JudgeInput } from '../src/core/deterministic-judge.ts';

const check = (name: string, kind: CheckResult['kind'], passed: boolean): CheckResult => ({
  name,
  kind,
  command: `verify ${name}`,
  passed,
  exitCode: passed ? 0 : 1,
  ended: passed ? 'exit 0' : 'exit 1',
  durationMs: 1,
  outputPath: `${name}.log`,
});

const base: JudgeInput = {
  done: { features: 'all', oracles: ['tests'], cleanTree: true, requireClaim: false },
  checks: [check('F1', 'feature', true), check('F2', 'feature', true), check('tests', 'oracle', true)],
  featureIds: ['F1', 'F2'],
  claimed: false,
  pollutedPaths: [],
  refusals: [],
};

describe('the judge', () => {
  it('says done only when every part of the condition holds', () => {
    expect(judge(base)).toMatchObject({ done: true, claimRejected: false, failing: [] });
  });

  it('rejects a claim when an oracle fails, naming the oracle', () => {
    const verdict = judge({
      ...base,
      claimed: true,
      checks: [check('F1', 'feature', true), check('F2', 'feature', true), check('tests', 'oracle', false)],
    });
    expect(verdict).toMatchObject({ done: false, claimed: true, claimRejected: true, failing: ['tests'] });
    expect(verdict.reason).toMatch(
      /^The worker claimed the goal is met; the claim was rejected: oracle tests \(`verify tests`: exit 1\) fails\.$/,
    );
  });

  it('counts unverified and failing features, a dirty tree, a refused checklist edit and a missing claim', () => {
    expect(
      judge({ ...base, checks: [check('F1', 'feature', false), check('tests', 'oracle', true)] }).failing,
    ).toEqual(['F1', 'F2']);
    expect(judge({ ...base, pollutedPaths: ['debug.log'] }).reason).toContain('debug.log');
    expect(judge({ ...base, refusals: ['restored'] }).failing).toEqual(['guards']);
    expect(judge({ ...base, done: { ...base.done, requireClaim: true } }).failing).toEqual(['claim']);
    expect(judge({ ...base, done: { ...base.done, requireClaim: true }, claimed: true }).done).toBe(true);
    expect(judge({ ...base, featureIds: [], checks: [check('tests', 'oracle', true)] }).done).toBe(false);
  });
});
