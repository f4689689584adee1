// The dashboard's first load on a long run: a 10,000-iteration event log written by the real event log
// writer, a fresh dashboard server each time (so the log is read and folded cold), and Debian's
// Chromium (driven by playwright-core) timed from navigation until the timeline, the stats and the burn
// chart are on screen. Target: under 1 s.
//   node bench/dashboard.ts            (npm run bench runs it)
//   BATON_BENCH_DASHBOARD_ITERATIONS=1000 node bench/dashboard.ts
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchChromium } from '../test/chromium.ts';
import { startDashboard } from '../src/dashboard/server.ts';
import { EventLog } from '../src/log/event-log.ts';
import type { CheckResult, NewRunEvent } from '../src/log/events.ts';
import { eventLogPath, runDir } from '../src/workspace/paths.ts';
import { median } from './stats.ts';

const iterations = Number(process.env.BATON_BENCH_DASHBOARD_ITERATIONS ?? '10000');
const loads = 5;
const targetMs = 1_000;

function writeLongRun(workspace: string, runId: string): number {
  let count = 0;
  mkdirSync(runDir(workspace, runId), { recursive: true });
  writeFileSync(join(workspace, 'FEATURES.json'), JSON.stringify({ version: 1, features: [] }));
  const { log } = EventLog.open(eventLogPath(workspace, runId));
  let clock = Date.parse('2026-11-01T00:00:00.000Z');
  const append = (event: NewRunEvent): void => {
    clock += 1_500;
    log.append(event, new Date(clock));
    count += 1;
  };
  append({
    type: 'run.started',
    runId,
    goal: 'A long run for the dashboard benchmark.',
    workspace,
    headCommit: 'f'.repeat(40),
    budgets: { iterations: iterations + 1, wallClockMs: 1e12, noProgressIterations: 0 },
    featuresTotal: 20,
    featuresPassing: 0,
  });
  for (let iteration = 1; iteration <= iterations; iteration += 1) {
    const passing = Math.min(20, Math.floor(iteration / 500));
    const checks: CheckResult[] = [
      {
        name: 'F1',
        kind: 'feature',
        command: 'npm test -- f1',
        passed: iteration % 3 !== 0,
        exitCode: iteration % 3 === 0 ? 1 : 0,
        ended: 'exit 0',
        durationMs: 120,
        outputPath: 'x.log',
      },
      {
        name: 'tests',
        kind: 'oracle',
        command: 'npm test',
        passed: true,
        exitCode: 0,
        ended: 'exit 0',
        durationMs: 900,
        outputPath: 'y.log',
      },
    ];
    append({ type: 'iteration.started', iteration, headCommit: 'a'.repeat(40) });
    append({ type: 'smoke.ended', iteration, result: null });
    append({
      type: 'agent.ended',
      iteration,
      status: 'completed',
      exitCode: 0,
      durationMs: 60_000,
      usage: { inputTokens: 12_000, outputTokens: 1_500, cachedInputTokens: 8_000, costUsd: 0.04 },
      claimedDone: false,
      finalMessage: `Worked on feature ${iteration % 20}; next: the rest.`,
    });
    append({ type: 'verify.ended', iteration, commit: 'b'.repeat(40), checks });
    append({
      type: 'judge.ended',
      iteration,
      verdict: {
        done: false,
        claimed: false,
        claimRejected: false,
        reason: 'Not done: features still fail.',
        failing: ['F1'],
      },
    });
    append({
      type: 'commit.created',
      iteration,
      commit: 'c'.repeat(40),
      purpose: 'record',
    });
    append({
      type: 'iteration.ended',
      iteration,
      durationMs: 62_000,
      featuresPassing: passing,
      featuresTotal: 20,
      passingFeatures: [],
      progressed: iteration % 4 === 0,
      regressed: [],
      summary: `${iteration % 4 === 0 ? 'progress' : 'no progress'}: ${passing}/20 features passing; worker: worked on feature ${iteration % 20}`,
    });
  }
  log.close();
  return count;
}

async function main(): Promise<void> {
  const workspace = mkdtempSync(join(tmpdir(), 'baton-bench-dashboard-'));
  const browser = await launchChromium();
  try {
    const written = performance.now();
    const events = writeLongRun(workspace, '20261101T000000000Z-bench0');
    process.stderr.write(
      `[bench] wrote ${events.toLocaleString('en-US')} events (${iterations.toLocaleString('en-US')} iterations) in ${((performance.now() - written) / 1_000).toFixed(1)} s\n`,
    );
    const times: number[] = [];
    for (let index = 0; index < loads; index += 1) {
      // A new server each time: the log is read and folded from scratch, as on a first visit.
      const dashboard = await startDashboard({ workspace, port: 0 });
      const page = await browser.newPage();
      const started = performance.now();
      await page.goto(dashboard.url);
      await page.waitForSelector('body[data-ready="true"]');
      await page.waitForSelector('[data-testid="iteration-row"]');
      const total = await page.getByTestId('timeline-total').textContent();
      times.push(performance.now() - started);
      if (total !== `${iterations} iterations`) throw new Error(`the timeline says "${total ?? ''}"`);
      const rows = await page.getByTestId('iteration-row').count();
      if (rows !== 50) throw new Error(`the first page shows ${rows} rows, not 50`);
      await page.close();
      await dashboard.close();
    }
    const result = {
      benchmark: 'dashboard first load',
      at: new Date().toISOString(),
      machine: { cpus: cpus().length, node: process.version },
      iterations,
      events,
      loadsMs: times.map((ms) => Math.round(ms)),
      medianMs: Math.round(median(times)),
      targetMs,
    };
    mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
    writeFileSync(
      new URL('./results/dashboard.json', import.meta.url),
      `${JSON.stringify(result, null, 2)}\n`,
    );
    console.log(
      `dashboard first load on a ${iterations.toLocaleString('en-US')}-iteration log (${events.toLocaleString('en-US')} events), cold server, Chromium:`,
    );
    console.log(
      `  median ${result.medianMs} ms over ${loads} loads (${result.loadsMs.join(', ')} ms); target under ${targetMs} ms: ${result.medianMs < targetMs ? 'met' : 'NOT met'}`,
    );
  } finally {
    await browser.close();
    rmSync(workspace, { recursive: true, force: true });
  }
}

await main();
