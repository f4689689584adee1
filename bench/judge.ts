// What the honest judge costs per iteration (issue 15): differential validation (the accepted tests run
// on the worker's code) and discriminating evidence (the worker's tests run on the code a feature last
// failed on), as a ratio to plain verification on the same repository, in one run of this script.
//
// The repository has one `node --test` file per feature, every feature failing at the baseline. Each
// iteration a worker fixes one feature; every other iteration it also tightens that feature's test. The
// same edits are replayed with `guards.testGaming: false` (plain verification: the worker's checks only),
// alternating the two settings, and the time from the end of the worker's session to the end of the
// verification is compared, separately for iterations that touched tests and those that did not.
//
//   node bench/judge.ts                      12 features, 2 runs of each setting
//   BATON_BENCH_FEATURES=6 node bench/judge.ts
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { runInit, runLoop } from '../src/index.ts';
import type { RunEvent } from '../src/log/events.ts';
import { createFunctionAgent } from '../src/testing/function-agent.ts';
import { median, ratio } from './stats.ts';
import { git } from './workspace.ts';

const targets = { touched: 1.5, untouched: 1.1 };

function progress(message: string): void {
  process.stderr.write(`[bench judge] ${message}\n`);
}

function featureCount(): number {
  const raw = process.env.BATON_BENCH_FEATURES ?? '12';
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 4) throw new Error('BATON_BENCH_FEATURES must be 4 or more');
  return value;
}

const testSource = (index: number, tightened: boolean): string =>
  [
    "const test = require('node:test');",
    "const assert = require('node:assert');",
    `const f = require('../src/f${index}.js');`,
    `test('f${index}', () => {`,
    `  assert.strictEqual(f(), ${index});`,
    ...(tightened ? ["  assert.strictEqual(typeof f(), 'number');"] : []),
    '});',
    '',
  ].join('\n');

async function createRepository(root: string, features: number, testGaming: boolean): Promise<string> {
  const workspace = join(root, `workspace-${testGaming ? 'judged' : 'plain'}-${Date.now()}`);
  mkdirSync(join(workspace, 'src'), { recursive: true });
  mkdirSync(join(workspace, 'test'));
  git(workspace, 'init', '--quiet', '--initial-branch=main');
  for (let index = 1; index <= features; index += 1) {
    writeFileSync(join(workspace, 'src', `f${index}.js`), 'module.exports = () => 0;\n');
    writeFileSync(join(workspace, 'test', `f${index}.test.js`), testSource(index, false));
  }
  git(workspace, 'add', '--all');
  git(workspace, 'commit', '--quiet', '--message', 'bench: a library whose features all fail');
  await runInit({
    workspace,
    goal: 'Make every feature pass.',
    features: {
      version: 1,
      features: Array.from({ length: features }, (_unused, offset) => ({
        id: `F${offset + 1}`,
        title: `f${offset + 1} returns ${offset + 1}`,
        steps: [],
        verify: `node --test test/f${offset + 1}.test.js`,
        status: 'failing' as const,
        evidence: null,
      })),
    },
    oraclesYaml: 'oracles: []',
    smokeCommand: 'true',
    agentYaml: 'agent:\n  type: command\n  command: ["true"]\n  timeout: 1m',
  });
  const path = join(workspace, 'baton.yaml');
  const document = parseDocument(readFileSync(path, 'utf8'));
  document.setIn(['budgets', 'iterations'], features);
  document.setIn(['budgets', 'noProgressIterations'], 0);
  document.setIn(['guards', 'testGaming'], testGaming);
  writeFileSync(path, document.toString());
  git(workspace, 'commit', '--quiet', '--all', '--message', 'bench: budgets');
  return workspace;
}

interface Phase {
  readonly iteration: number;
  readonly touched: boolean;
  readonly ms: number;
}

/** One run: iteration i fixes feature i, and on even iterations tightens its test. */
async function oneRun(root: string, features: number, testGaming: boolean): Promise<Phase[]> {
  const workspace = await createRepository(root, features, testGaming);
  const agent = createFunctionAgent(({ cwd, env }) => {
    const index = Number(env.BATON_ITERATION);
    writeFileSync(join(cwd, 'src', `f${index}.js`), `module.exports = () => ${index};\n`);
    if (index % 2 === 0) writeFileSync(join(cwd, 'test', `f${index}.test.js`), testSource(index, true));
    return `fixed f${index}`;
  });
  const sessionEnded = new Map<number, number>();
  const phases: Phase[] = [];
  const run = await runLoop({
    workspace,
    agent,
    onEvent: (event: RunEvent) => {
      if (event.type === 'agent.ended') sessionEnded.set(event.iteration, Date.parse(event.at));
      if (event.type === 'verify.ended' && sessionEnded.has(event.iteration)) {
        const started = sessionEnded.get(event.iteration) ?? 0;
        sessionEnded.delete(event.iteration);
        phases.push({
          iteration: event.iteration,
          touched: event.iteration % 2 === 0,
          ms: Date.parse(event.at) - started,
        });
      }
    },
  });
  const landed = run.state.iterations.filter((entry) => entry.progressed).length;
  if (landed !== features || run.state.guardFirings['test-gaming'] !== undefined) {
    throw new Error(
      `expected all ${features} iterations to land and no test-gaming refusal (landed ${landed}, stop ${run.stop.reason}: ${run.stop.message}); the numbers would not mean anything`,
    );
  }
  return phases;
}

async function main(): Promise<void> {
  const features = featureCount();
  const root = mkdtempSync(join(tmpdir(), 'baton-bench-judge-'));
  try {
    const judged: Phase[] = [];
    const plain: Phase[] = [];
    for (let round = 1; round <= 2; round += 1) {
      progress(`round ${round}: judged`);
      judged.push(...(await oneRun(root, features, true)));
      progress(`round ${round}: plain`);
      plain.push(...(await oneRun(root, features, false)));
    }
    const medianOf = (phases: Phase[], touched: boolean): number =>
      median(phases.filter((phase) => phase.touched === touched).map((phase) => phase.ms));
    const result = {
      environment: { features, cpus: cpus().length, node: process.version, date: new Date().toISOString() },
      medianMs: {
        judgedTouched: medianOf(judged, true),
        plainTouched: medianOf(plain, true),
        judgedUntouched: medianOf(judged, false),
        plainUntouched: medianOf(plain, false),
      },
    };
    const touched = ratio(result.medianMs.judgedTouched, result.medianMs.plainTouched);
    const untouched = ratio(result.medianMs.judgedUntouched, result.medianMs.plainUntouched);
    const lines = [
      `honest judge, ${features} features (one node --test file each), ${cpus().length} CPUs; from the end of the worker's session to the end of verification, medians:`,
      `  worker touched tests:   ${result.medianMs.judgedTouched} ms judged vs ${result.medianMs.plainTouched} ms plain = ${touched.toFixed(2)}x (target < ${targets.touched}x) ${touched < targets.touched ? 'ok' : 'MISSED'}`,
      `  worker left tests alone: ${result.medianMs.judgedUntouched} ms judged vs ${result.medianMs.plainUntouched} ms plain = ${untouched.toFixed(2)}x (target < ${targets.untouched}x) ${untouched < targets.untouched ? 'ok' : 'MISSED'}`,
    ];
    const resultsDir = join(import.meta.dirname, 'results');
    mkdirSync(resultsDir, { recursive: true });
    writeFileSync(
      join(resultsDir, 'judge.json'),
      `${JSON.stringify({ ...result, ratios: { touched, untouched }, judged, plain }, null, 2)}\n`,
    );
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

try {
  await main();
} catch (error) {
  process.stderr.write(`[bench judge] failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
}
