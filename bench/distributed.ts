// Task throughput of distributed mode: the same independent tasks through a real redis-server and a
// bare shared repository, with 1 and with 3 `baton worker` processes (one attempt at a time each).
// Agents wait (as agents waiting on a model do), then write their task's file.
//   node bench/distributed.ts                  (npm run bench runs it)
//   BATON_BENCH_TASKS=6 node bench/distributed.ts
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCoordinator } from '../src/api/distributed.ts';
import { startRedis } from '../test/redis-server.ts';
import { createTaskWorkspace } from './task-workspace.ts';
import { git } from './workspace.ts';

const tasks = Number(process.env.BATON_BENCH_TASKS ?? '12');
const agentSeconds = Number(process.env.BATON_BENCH_AGENT_SECONDS ?? '1');
const bin = fileURLToPath(new URL('../bin/baton.js', import.meta.url));

function workspaceFor(root: string, label: string): Promise<string> {
  return createTaskWorkspace(root, label, tasks, agentSeconds, '  replans: 0');
}

function startWorkers(count: number, redisUrl: string, queue: string, cache: string): ChildProcess[] {
  return Array.from({ length: count }, (_, index) =>
    spawn(
      process.execPath,
      [
        bin,
        'worker',
        '--redis',
        redisUrl,
        '--queue',
        queue,
        '--name',
        `w${index + 1}`,
        '--cache',
        join(cache, `w${index + 1}`),
      ],
      { stdio: 'ignore' },
    ),
  );
}

async function stopWorkers(workers: readonly ChildProcess[]): Promise<void> {
  await Promise.all(
    workers.map(
      (worker) =>
        new Promise<void>((resolve) => {
          if (worker.exitCode !== null) {
            resolve();
            return;
          }
          worker.once('exit', () => {
            resolve();
          });
          worker.kill('SIGTERM');
        }),
    ),
  );
}

async function main(): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'baton-bench-distributed-'));
  const redis = await startRedis();
  const results: { workers: number; seconds: number; tasksPerMinute: number }[] = [];
  try {
    for (const count of [1, 3]) {
      const workspace = await workspaceFor(root, `workers-${count}`);
      const remote = join(root, `shared-${count}.git`);
      git(root, 'init', '-q', '--bare', remote);
      const queue = `bench-${count}-${Date.now()}`;
      const workers = startWorkers(count, redis.url, queue, join(root, `cache-${count}`));
      try {
        const started = performance.now();
        const result = await runCoordinator({
          workspace,
          redisUrl: redis.url,
          remote,
          queueName: queue,
          workers: count,
        });
        const seconds = (performance.now() - started) / 1_000;
        if (result.stop.reason !== 'done') {
          throw new Error(`${count} workers: ${result.stop.reason}: ${result.stop.message}`);
        }
        results.push({ workers: count, seconds, tasksPerMinute: (tasks / seconds) * 60 });
        process.stderr.write(
          `[bench] ${count} worker processes: ${tasks} tasks in ${seconds.toFixed(1)} s\n`,
        );
      } finally {
        await stopWorkers(workers);
      }
    }
  } finally {
    await redis.stop();
    rmSync(root, { recursive: true, force: true });
  }
  const one = results[0]?.seconds ?? Number.NaN;
  const report = {
    benchmark: 'distributed throughput',
    at: new Date().toISOString(),
    machine: { cpus: cpus().length, node: process.version },
    tasks,
    agentSeconds,
    results: results.map((row) => ({ ...row, speedup: one / row.seconds })),
  };
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
  writeFileSync(
    new URL('./results/distributed.json', import.meta.url),
    `${JSON.stringify(report, null, 2)}\n`,
  );
  console.log(
    `distributed throughput: ${tasks} independent tasks, agents that wait ${agentSeconds} s, redis-server and a bare remote on this ${cpus().length}-core machine`,
  );
  for (const row of report.results) {
    console.log(
      `  ${row.workers} worker process(es): ${row.seconds.toFixed(1)} s, ${row.tasksPerMinute.toFixed(1)} tasks/min, ${row.speedup.toFixed(2)}x`,
    );
  }
}

await main();
