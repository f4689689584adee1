import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from './chromium.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDemo } from '../src/api/demo.ts';
import { explain, runElapsedMs } from '../src/api/explain.ts';
import { resumeRun, runLoop } from '../src/api/run.ts';
import { formatDurationMs } from '../src/util/duration.ts';
import { startDashboard } from '../src/dashboard/server.ts';
import { createFunctionAgent } from '../src/testing/function-agent.ts';
import { checkOutRunBranch, feature, makeWorkspace, tempDir } from './helpers.ts';

/**
 * The dashboard in a real browser (Debian's Chromium driven by playwright-core): a recorded run (the
 * demo, with its rejected claim) and a live one whose iterations the test releases one at a time.
 */
const artifacts = fileURLToPath(new URL('../test-artifacts/', import.meta.url));
let browser: Browser;

beforeAll(async () => {
  mkdirSync(artifacts, { recursive: true });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser.close();
});

async function open(url: string): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  await page.goto(url);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 15_000 });
  return page;
}

describe('baton dashboard', () => {
  it(
    'shows a recorded run: the right counts, and an iteration’s diff and oracle output on click',
    { timeout: 120_000 },
    async () => {
      const demo = await runDemo({ directory: tempDir() });
      expect(demo.stop.reason).toBe('done');
      const dashboard = await startDashboard({ workspace: demo.workspace, port: 0 });
      try {
        const page = await open(dashboard.url);
        const iterations = demo.state.iterations.length;
        await expect
          .poll(() => page.getByTestId('timeline-total').textContent())
          .toBe(`${iterations} iterations`);
        expect(await page.getByTestId('iteration-row').count()).toBe(iterations);
        expect(await page.getByTestId('stat-features').textContent()).toContain('4/4');
        expect(await page.getByTestId('stat-outcomes').textContent()).toContain('1 claim rejected');
        expect(await page.getByTestId('status').textContent()).toContain('done');
        expect(await page.getByTestId('feature-row').count()).toBe(4);
        expect(await page.getByTestId('stop').textContent()).toContain('Done: all 4 features pass');

        // Iteration 2 did real work: its diff and the test oracle's output are one click away.
        await page.locator('[data-testid="iteration-row"][data-iteration="2"]').click();
        await page.getByTestId('evidence-diff').waitFor();
        const diff = (await page.getByTestId('evidence-diff').textContent()) ?? '';
        expect(diff).toMatch(/\+\+\+ b\/src\//);
        expect(await page.locator('[data-testid="evidence-diff"] .diff-add').count()).toBeGreaterThan(0);
        const checks = (await page.getByTestId('evidence-checks').textContent()) ?? '';
        expect(checks).toContain('oracle-tests.log');
        expect(checks).toMatch(/(ℹ|#) (pass|fail) \d+/);
        // The rejected claim shows the judge's reason.
        await page.locator('[data-testid="iteration-row"][data-iteration="3"]').click();
        await expect
          .poll(() => page.getByTestId('evidence-judge').textContent())
          .toContain('claim was rejected');
        await page.screenshot({ path: join(artifacts, 'dashboard-recorded.png'), fullPage: true });
        await page.close();
      } finally {
        await dashboard.close();
      }
    },
  );

  it('says the same wall-clock time as explain: active time only, a stop and a resume an hour later leave the gap out', async () => {
    const workspace = await makeWorkspace({
      features: [feature('F1', 'test -f a.txt'), feature('F2', 'test -f b.txt')],
      budgets: { iterations: 1 },
    });
    const worker = createFunctionAgent(({ cwd }) => {
      const next = ['a.txt', 'b.txt'].find((file) => !existsSync(join(cwd, file)));
      if (next !== undefined) writeFileSync(join(cwd, next), 'x\n');
      return 'made one';
    });
    // An injected clock: one second per reading; the resume comes an hour after the stop.
    let clock = Date.parse('2026-12-01T10:00:00.000Z');
    const now = (): Date => new Date((clock += 1_000));
    const first = await runLoop({ workspace, agent: worker, now });
    expect(first.stop.reason).toBe('budget-iterations');
    clock += 3_600_000;
    checkOutRunBranch(workspace, first.state);
    const yaml = join(workspace, 'baton.yaml');
    writeFileSync(yaml, readFileSync(yaml, 'utf8').replace('iterations: 1', 'iterations: 5'));
    const resumed = await resumeRun({ workspace, agent: worker, now });
    expect(resumed.stop.reason).toBe('done');
    const span = Date.parse(resumed.state.updatedAt ?? '') - Date.parse(resumed.state.startedAt ?? '');
    expect(span).toBeGreaterThan(3_600_000);

    const dashboard = await startDashboard({ workspace, port: 0 });
    try {
      const summary = (await (await fetch(`${dashboard.url}/api/runs/${resumed.runId}`)).json()) as {
        elapsedMs: number;
      };
      expect(summary.elapsedMs).toBeLessThan(3_600_000);
      expect(summary.elapsedMs).toBe(runElapsedMs(workspace, resumed.runId, resumed.state));
      const wall = explain(workspace).budgets.find((line) => line.name === 'wall clock');
      expect(wall?.used).toBe(formatDurationMs(summary.elapsedMs));
    } finally {
      await dashboard.close();
    }
  });

  it('shows a new iteration of a live run without a reload', { timeout: 120_000 }, async () => {
    const workspace = await makeWorkspace({
      features: [
        feature('F1', 'test -f a.txt'),
        feature('F2', 'test -f b.txt'),
        feature('F3', 'test -f c.txt'),
      ],
    });
    // Each session waits until the test lets it go, then creates the next missing file.
    const gates: (() => void)[] = [];
    const released: Promise<void>[] = [];
    for (let index = 0; index < 3; index += 1) {
      released.push(
        new Promise((resolve) => {
          gates.push(resolve);
        }),
      );
    }
    let session = 0;
    const agent = createFunctionAgent(async ({ cwd }) => {
      const gate = released[session];
      session += 1;
      await gate;
      const next = ['a.txt', 'b.txt', 'c.txt'].find((file) => !existsSync(join(cwd, file)));
      if (next !== undefined) writeFileSync(join(cwd, next), 'ok\n');
      return `created ${next ?? 'nothing'}`;
    });
    const run = runLoop({ workspace, agent });
    gates[0]?.();
    const dashboard = await startDashboard({ workspace, port: 0, pollMs: 100 });
    try {
      const page = await open(dashboard.url);
      await expect
        .poll(() => page.getByTestId('timeline-total').textContent(), { timeout: 20_000 })
        .toMatch(/^[12] iterations$/);
      await page.evaluate(() => {
        (globalThis as unknown as { marker: number }).marker = 42;
      });
      await expect
        .poll(
          () =>
            page.locator('[data-testid="iteration-row"][data-iteration="1"] td:nth-child(2)').textContent(),
          { timeout: 20_000 },
        )
        .toBe('progress');
      gates[1]?.();
      gates[2]?.();
      await expect
        .poll(() => page.getByTestId('timeline-total').textContent(), { timeout: 30_000 })
        .toBe('3 iterations');
      await expect
        .poll(() => page.getByTestId('stat-features').textContent(), { timeout: 30_000 })
        .toContain('3/3');
      await expect
        .poll(() => page.getByTestId('status').textContent(), { timeout: 30_000 })
        .toContain('done');
      // The same page, never reloaded: the marker set before is still there.
      expect(await page.evaluate(() => (globalThis as unknown as { marker?: number }).marker)).toBe(42);
      expect(await page.getByTestId('live').textContent()).toContain('updated');
      await page.screenshot({ path: join(artifacts, 'dashboard-live.png'), fullPage: true });
      await page.close();
      expect((await run).stop.reason).toBe('done');
    } finally {
      for (const gate of gates) gate();
      await dashboard.close();
    }
  });
});
