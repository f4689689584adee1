import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runLoop } from '../src/api/run.ts';
import { createProgressReporter, statusLine } from '../src/cli/progress.ts';
import type { RunEvent } from '../src/log/events.ts';
import type { RunState } from '../src/log/reducer.ts';
import { createFunctionAgent } from '../src/testing/function-agent.ts';
import { feature, makeWorkspace } from './helpers.ts';

/** A terminal that keeps what was written and replays the carriage returns and line clears. */
class FakeTerminal {
  readonly columns = 120;
  raw = '';
  /** What each status redraw showed, in order. */
  readonly statusLines: string[] = [];
  write(text: string): boolean {
    this.raw += text;
    for (const part of text.split('\r\x1b[2K')) {
      if (part.startsWith('▶')) this.statusLines.push(part);
    }
    return true;
  }
}

describe('live terminal progress', () => {
  it('redraws one status line with the iteration, the step, features, budget, elapsed time and the judge', async () => {
    const workspace = await makeWorkspace({
      features: [feature('F1', 'test -f a.txt'), feature('F2', 'test -f b.txt')],
    });
    const pairs: [RunEvent, RunState][] = [];
    await runLoop({
      workspace,
      agent: createFunctionAgent(({ cwd }) => {
        const next = ['a.txt', 'b.txt'].find((file) => !existsSync(join(cwd, file)));
        if (next !== undefined) writeFileSync(join(cwd, next), 'ok\n');
        return `created ${next ?? 'nothing'}`;
      }),
      onEvent: (event, state) => pairs.push([event, state]),
    });
    const terminal = new FakeTerminal();
    const reporter = createProgressReporter(terminal, () => Date.parse(pairs.at(-1)?.[0].at ?? '') || 0);
    for (const [event, state] of pairs) reporter.onEvent(event, state);

    // The event lines scroll as plain lines; the status line is redrawn under them.
    expect(terminal.raw).toContain('iteration 2\n');
    expect(terminal.statusLines).toContainEqual(
      // The elapsed time is whatever this machine took (120ms, 1.2s...): its format, not its value.
      expect.stringMatching(
        /^▶ iteration 1: worker session · features 0\/2 · 0\/50 sessions · \d+(\.\d+)?(ms|s|m\d*s?)$/,
      ),
    );
    expect(terminal.statusLines).toContainEqual(
      expect.stringMatching(
        /^▶ iteration 2: judging · features 1\/2 .*judge: Not done: 1 of 2 features still fail/,
      ),
    );
    // The stop line replaces the status line, and no status line is drawn after it.
    const clear = '\r\x1b[2K';
    const afterLastClear = terminal.raw.slice(terminal.raw.lastIndexOf(clear) + clear.length);
    // Said once: the done message stands alone, no "stopped: done: Done:".
    expect(afterLastClear).toMatch(/^\nDone: .*\(exit 0\)\n/s);
    expect(afterLastClear).not.toMatch(/stopped: done/);
  });

  it('fits the status line to the terminal width', () => {
    const state = {
      parallel: null,
      currentIteration: 7,
      iterationsCompleted: 6,
      budgets: { iterations: 50, wallClockMs: 1, noProgressIterations: 1 },
      usage: { inputTokens: 1_000, outputTokens: 234, cachedInputTokens: 0, costUsd: 0.5 },
      featuresPassing: 3,
      featuresTotal: 9,
      lastVerdict: { reason: 'x'.repeat(300) },
      segmentStartedAt: '2026-11-24T10:00:00.000Z',
      activeMsBefore: 60_000,
      status: 'running',
    } as unknown as RunState;
    const at = Date.parse('2026-11-24T10:00:30.000Z');
    const wide = statusLine(state, 'agent codex working', at, 200);
    expect(wide).toHaveLength(200);
    expect(wide).toMatch(
      /^▶ iteration 7: agent codex working · features 3\/9 · 6\/50 sessions, 1,234 tokens, \$0\.50 · 1m30s · judge: x+…$/,
    );
    const narrow = statusLine(state, 'agent codex working', at, 80);
    expect(narrow).toHaveLength(80);
    expect(narrow.endsWith('…')).toBe(true);
  });
});
