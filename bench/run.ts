// The harness's own overhead per iteration of runLoop, early in a run and late in it. The agent, the
// smoke test, the feature check and the oracle are all `true`/`false`, so what is left of an iteration
// once their durations are taken out is baton itself: git, the event log, the state files, the prompt.
//
//   npm run bench                                               1,000 iterations, 5,000 files
//   BATON_BENCH_ITERATIONS=30 BATON_BENCH_FILES=200 npm run bench   a quick smoke run
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { runLoop } from '../src/index.ts';
import { createCollector, type IterationTiming } from './collect.ts';
import { evaluateTargets, formatReport, windowStats, type BenchResult, type Window } from './report.ts';
import { median, ratio } from './stats.ts';
import { createBenchWorkspace } from './workspace.ts';

const earlyIteration = 10;
const progressEvery = 100;
const windowSize = 10;
// The early window (6–15) and the late one (the last 10) must not overlap.
const minIterations = 25;

function positiveIntegerFromEnv(name: string, fallback: number, minimum: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < minimum) {
    throw new Error(`${name} must be a whole number of at least ${minimum} (got ${JSON.stringify(raw)})`);
  }
  return value;
}

function progress(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

/** Every 100 iterations a line on stderr, so a person watching sees the run is alive and how it trends. */
function reportProgress(iterations: number, startedAt: number): (timing: IterationTiming) => void {
  const recent: number[] = [];
  return (timing) => {
    recent.push(timing.overheadMs);
    if (timing.iteration % progressEvery !== 0) return;
    const elapsed = ((performance.now() - startedAt) / 1000).toFixed(0);
    progress(
      `iteration ${timing.iteration}/${iterations}: median overhead of the last ${recent.length} is ${median(recent).toFixed(1)} ms (${elapsed} s so far)`,
    );
    recent.length = 0;
  };
}

function gitVersion(): string {
  return execFileSync('git', ['--version'], { encoding: 'utf8' }).trim();
}

async function main(): Promise<void> {
  const iterations = positiveIntegerFromEnv('BATON_BENCH_ITERATIONS', 1_000, minIterations);
  const files = positiveIntegerFromEnv('BATON_BENCH_FILES', 5_000, 0);
  const early: Window = { label: `near iteration ${earlyIteration}`, from: 6, to: 15 };
  const late: Window = {
    label: `near iteration ${iterations.toLocaleString('en-US')}`,
    from: iterations - windowSize + 1,
    to: iterations,
  };

  const root = mkdtempSync(join(tmpdir(), 'baton-bench-'));
  // Ctrl-C ends the run through its own abort path, so the temp dir is still removed.
  const controller = new AbortController();
  process.once('SIGINT', () => {
    controller.abort();
  });
  try {
    progress(`setting up ${files} committed files in ${root}`);
    const workspace = await createBenchWorkspace(root, files, iterations);
    progress(`running ${iterations} iterations`);
    const startedAt = performance.now();
    const collector = createCollector(
      workspace,
      new Set([earlyIteration, iterations]),
      reportProgress(iterations, startedAt),
    );
    const run = await runLoop({
      workspace,
      signal: controller.signal,
      onEvent: (event) => {
        collector.onEvent(event);
      },
    });
    const wallClockMs = performance.now() - startedAt;
    if (run.stop.reason !== 'budget-iterations' || collector.timings.length !== iterations) {
      throw new Error(
        `the run stopped early (${run.stop.reason} after ${collector.timings.length} iterations: ${run.stop.message}); the numbers would not mean anything`,
      );
    }
    const maxRssBytes = process.resourceUsage().maxRSS * 1024;
    const earlySample = collector.samples.get(earlyIteration);
    const lateSample = collector.samples.get(iterations);
    if (earlySample === undefined || lateSample === undefined) {
      throw new Error('a memory/prompt sample is missing');
    }

    const earlyStats = windowStats(early, collector.timings);
    const lateStats = windowStats(late, collector.timings);
    const ratios = {
      medianOverhead: ratio(lateStats.medianOverheadMs, earlyStats.medianOverheadMs),
      promptBytes: ratio(lateSample.promptBytes, earlySample.promptBytes),
      rss: ratio(lateSample.rssBytes, earlySample.rssBytes),
    };
    const result: BenchResult = {
      environment: {
        iterations,
        files,
        node: [process.version, ...process.execArgv].join(' '),
        git: gitVersion(),
        platform: `${process.platform} ${process.arch}`,
        cpus: cpus().length,
        date: new Date().toISOString(),
        wallClockMs: Math.round(wallClockMs),
      },
      early: earlyStats,
      late: lateStats,
      earlySample,
      lateSample,
      maxRssBytes,
      ratios,
      targets: evaluateTargets(earlyStats, lateStats, ratios),
      timings: collector.timings,
    };

    const resultsDir = join(import.meta.dirname, 'results');
    mkdirSync(resultsDir, { recursive: true });
    writeFileSync(join(resultsDir, 'latest.json'), `${JSON.stringify(result, null, 2)}\n`);
    process.stdout.write(formatReport(result));
    progress(`numbers written to ${join(resultsDir, 'latest.json')}`);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

try {
  await main();
} catch (error) {
  process.stderr.write(`[bench] failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
}
