// What verifying an iteration costs as features grow (issue 18): F features, each verified by its own
// `node --test test/fK.test.js` in the default sandbox, run one after another (verify.concurrency: 1)
// and side by side (the machine's cores), against one plain `node --test` process over the same files
// (the floor). Rounds interleave the settings; medians and ratios come from one run; asserts nothing.
//
//   node bench/verify.ts                         F = 5, 50 and 200
//   BATON_BENCH_VERIFY_FEATURES=5,50 node bench/verify.ts
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { configSchema } from '../src/config/schema.ts';
import { runChecks, verificationChecks } from '../src/core/check-specs.ts';
import { detectBwrap } from '../src/sandbox/bwrap.ts';
import { createSandbox } from '../src/sandbox/sandbox.ts';
import type { Feature } from '../src/workspace/features.ts';
import { median, ratio } from './stats.ts';

const rounds = 3;
const targetSpeedUp = 1.8;

function featureCounts(): number[] {
  const raw = process.env.BATON_BENCH_VERIFY_FEATURES ?? '5,50,200';
  return raw.split(',').map((entry) => Number(entry.trim()));
}

function project(count: number): { workspace: string; features: Feature[] } {
  const workspace = mkdtempSync(join(tmpdir(), 'baton-bench-verify-'));
  mkdirSync(join(workspace, 'test'));
  execFileSync('git', ['init', '-q', workspace]);
  const features: Feature[] = [];
  for (let index = 1; index <= count; index += 1) {
    writeFileSync(
      join(workspace, 'test', `f${index}.test.js`),
      `import { test } from 'node:test';\nimport assert from 'node:assert/strict';\ntest('f${index}', () => assert.equal(${index} + 1, ${index + 1}));\n`,
    );
    features.push({
      id: `F${index}`,
      title: `feature ${index}`,
      steps: [],
      verify: `node --test test/f${index}.test.js`,
      status: 'failing',
      evidence: null,
    });
  }
  return { workspace, features };
}

async function verifyOnce(workspace: string, features: Feature[], concurrency: number): Promise<number> {
  const config = configSchema.parse({ version: 1 });
  const { sandbox } = createSandbox(workspace, config.sandbox);
  const outputDir = mkdtempSync(join(workspace, '.out-'));
  try {
    const started = performance.now();
    const results = await runChecks(
      verificationChecks(features, config),
      { workspace, outputDir, env: process.env, signal: new AbortController().signal, sandbox },
      { concurrency },
    );
    const elapsed = performance.now() - started;
    if (!results.every((result) => result.passed)) throw new Error('a check failed in the bench project');
    return elapsed;
  } finally {
    await sandbox.close();
    rmSync(outputDir, { recursive: true, force: true });
  }
}

function plainOnce(workspace: string): number {
  const started = performance.now();
  execFileSync(process.execPath, ['--test', '--test-isolation=none', 'test/*.test.js'], {
    cwd: workspace,
    stdio: 'ignore',
  });
  return performance.now() - started;
}

async function main(): Promise<void> {
  const detection = detectBwrap();
  if (!detection.works) {
    process.stdout.write(`verification: skipped (${detection.detail})\n`);
    return;
  }
  const cores = availableParallelism();
  const rows = [
    `| features | one by one, ms | side by side (${cores} at once), ms | speed-up (target ${targetSpeedUp}x on 2 cores) | one plain node --test, ms | side by side / plain |`,
    '|---|---|---|---|---|---|',
  ];
  const figures: Record<string, unknown>[] = [];
  for (const count of featureCounts()) {
    const { workspace, features } = project(count);
    try {
      const serial: number[] = [];
      const parallel: number[] = [];
      const plain: number[] = [];
      for (let round = 0; round < rounds; round += 1) {
        serial.push(await verifyOnce(workspace, features, 1));
        parallel.push(await verifyOnce(workspace, features, cores));
        plain.push(plainOnce(workspace));
      }
      const [one, side, floor] = [median(serial), median(parallel), median(plain)];
      rows.push(
        `| ${count} | ${one.toFixed(0)} | ${side.toFixed(0)} | ${ratio(one, side).toFixed(2)}x | ${floor.toFixed(0)} | ${ratio(side, floor).toFixed(1)}x |`,
      );
      figures.push({ features: count, serialMs: one, parallelMs: side, plainMs: floor, cores });
    } finally {
      rmSync(workspace, { recursive: true, force: true });
    }
  }
  process.stdout.write(
    `\nverification per iteration (medians of ${rounds} interleaved rounds)\n${rows.join('\n')}\n`,
  );
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
  writeFileSync(new URL('./results/verify.json', import.meta.url), `${JSON.stringify(figures, null, 2)}\n`);
}

await main();
