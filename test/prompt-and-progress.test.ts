import { describe, expect, it } from 'vitest';
import { buildPrompt, type PromptInput } from '../src/loop/prompt.ts';
import { appendProgress, type ProgressEntry } from '../src/workspace/progress.ts';
import { parseDurationMs } from '../src/util/duration.ts';
import { feature } from './helpers.ts';

function promptWith(featureCount: number, noise: number): string {
  const input: PromptInput = {
    runId: 'run-1',
    iteration: noise,
    goal: 'g'.repeat(10 * noise),
    features: Array.from({ length: featureCount }, (_, index) => ({
      ...feature(`F${index}`, `test ${'x'.repeat(noise)}`),
      title: 't'.repeat(noise),
    })),
    parked: [],
    steering: Array.from({ length: noise }, () => 's'.repeat(10 * noise)),
    smoke: {
      passed: false,
      excerpt: {
        name: 'smoke',
        command: './init.sh smoke',
        ended: 'exit 1',
        output: 'o'.repeat(100 * noise),
      },
    },
    lastVerdict: {
      done: false,
      claimed: true,
      claimRejected: true,
      reason: 'r'.repeat(20 * noise),
      failing: [],
    },
    failing: Array.from({ length: featureCount }, (_, index) => ({
      name: `F${index}`,
      command: 'c',
      ended: 'exit 1',
      output: 'e'.repeat(100 * noise),
    })),
  };
  return buildPrompt(input);
}

describe('the orientation prompt', () => {
  it('stays the same size however long the run, the checklist and the failures get', () => {
    const tiny = promptWith(2, 1);
    const long = promptWith(100, 200);
    const huge = promptWith(1_000, 1_000);
    expect(tiny.length).toBeLessThan(long.length);
    // The sum of every section's bound (promptLimits), with room for the fixed contract text.
    expect(huge.length).toBeLessThan(18_000);
    // Past the limits, ten times more of everything adds almost nothing (only the counts' digits).
    expect(huge.length / long.length).toBeLessThan(1.02);
    expect(huge).toContain('… and 992 more failing features');
    expect(huge).toContain('more failing checks not shown');
  });

  it('carries the contract, the judge reason and the failing output', () => {
    const prompt = promptWith(2, 3);
    expect(prompt).toContain('## 1. Orient');
    expect(prompt).toContain('CLAIM: DONE');
    expect(prompt).toContain('The smoke test fails: fix this first');
    expect(prompt).toContain("The judge's verdict on the last iteration\nrrrrrr");
    expect(prompt).toContain('eee');
  });
});

describe('PROGRESS.md', () => {
  const entry = (iteration: number): ProgressEntry => ({
    iteration,
    at: '2026-11-24T00:00:00.000Z',
    outcome: 'progress',
    featuresPassing: iteration,
    featuresTotal: 100,
    commits: ['0123456789abcdef'],
    handoff: `did step ${iteration}`,
    verdict: 'Not done.',
  });

  it('keeps the newest entries and folds the older ones into a count', () => {
    let text = '';
    for (let iteration = 1; iteration <= 100; iteration += 1) {
      text = appendProgress(text, entry(iteration), 5);
    }
    expect(text.match(/^## Iteration /gm)).toHaveLength(5);
    expect(text).toContain('## Iteration 96 ');
    expect(text).toContain('## Iteration 100 ');
    expect(text).not.toContain('## Iteration 95 ');
    expect(text).toContain('_95 earlier entries are folded away');
    expect(text.match(/baton:folded/g)).toHaveLength(1);
    const size100 = text.length;
    for (let iteration = 101; iteration <= 1_000; iteration += 1) {
      text = appendProgress(text, entry(iteration), 5);
    }
    expect(text.length).toBeLessThanOrEqual(size100 + 20);
  });

  it('keeps what a person wrote above the entries', () => {
    const text = appendProgress('# Progress\n\nNotes from the team: use pnpm.\n', entry(1), 5);
    expect(text).toContain('Notes from the team: use pnpm.');
    expect(text).toContain('## Iteration 1 ');
  });
});

describe('durations', () => {
  it('reads human durations and refuses what it cannot', () => {
    expect(parseDurationMs('90s')).toBe(90_000);
    expect(parseDurationMs('1h30m')).toBe(5_400_000);
    expect(parseDurationMs('250ms')).toBe(250);
    expect(parseDurationMs('1500')).toBe(1_500);
    expect(parseDurationMs('soon')).toBeUndefined();
    expect(parseDurationMs('5 minutes')).toBeUndefined();
    expect(parseDurationMs('')).toBeUndefined();
  });
});
