// Throughput of parallel mode: the same 16 tasks done by 1, 2, 4 and 8 workers whose agents mostly
// wait, as agents waiting on a model do (a sandboxed shell that sleeps, then writes its task's file).
// The planner, the worktrees, the merge queue (review, rebase, checks, fast-forward) and the judge are
// all real, so the speed-up shows what the coordinator costs around the agents.
//   node bench/parallel.ts                                 (npm run bench runs it)
//   BATON_BENCH_TASKS=8 BATON_BENCH_AGENT_SECONDS=0.5 node bench/parallel.ts    a quick run
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { runLoop } from '../src/index.ts';
import { createTaskWorkspace } from './task-workspace.ts';

const tasks = Number(process.env.BATON_BENCH_TASKS ?? '16');
const agentSeconds = Number(process.env.BATON_BENCH_AGENT_SECONDS ?? '2');
const workerCounts = [1, 2, 4, 8];

function workspaceFor(root: string, workers: number): Promise<string> {
  return createTaskWorkspace(
    root,
    `workers-${workers}`,
    tasks,
    agentSeconds,
    `  workers: ${workers}\n  replans: 0`,
  );
}

async function main(): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'baton-bench-parallel-'));
  const results: { workers: number; seconds: number; tasksPerMinute: number; speedup: number }[] = [];
  try {
    let serial: number | undefined;
    for (const workers of workerCounts) {
      const workspace = await workspaceFor(root, workers);
      const started = performance.now();
      const result = await runLoop({ workspace });
      const seconds = (performance.now() - started) / 1_000;
      if (result.stop.reason !== 'done') {
        throw new Error(
          `${workers} workers: the run stopped with ${result.stop.reason}: ${result.stop.message}`,
        );
      }
      serial ??= seconds;
      results.push({ workers, seconds, tasksPerMinute: (tasks / seconds) * 60, speedup: serial / seconds });
      process.stderr.write(`[bench] ${workers} workers: ${tasks} tasks in ${seconds.toFixed(1)} s\n`);
    }
  } finally {
    if (process.env.BATON_BENCH_KEEP === undefined) rmSync(root, { recursive: true, force: true });
    else process.stderr.write(`[bench] kept ${root}\n`);
  }
  const report = {
    benchmark: 'parallel throughput',
    at: new Date().toISOString(),
    machine: { cpus: cpus().length, node: process.version },
    tasks,
    agentSeconds,
    results,
  };
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
  writeFileSync(new URL('./results/parallel.json', import.meta.url), `${JSON.stringify(report, null, 2)}\n`);
  console.log(
    `parallel throughput: ${tasks} independent tasks, agents that wait ${agentSeconds} s, ${cpus().length} cores`,
  );
  console.log('  workers  wall clock  tasks/min  speed-up (vs 1 worker, same run)');
  for (const row of results) {
    console.log(
      `  ${String(row.workers).padStart(7)}  ${`${row.seconds.toFixed(1)} s`.padStart(10)}  ${row.tasksPerMinute.toFixed(1).padStart(9)}  ${row.speedup.toFixed(2)}x`,
    );
  }
  const eight = results.find((row) => row.workers === 8);
  if (eight !== undefined) console.log(`  8 workers: ${((eight.speedup / 8) * 100).toFixed(0)}% of linear`);
}

await main();
