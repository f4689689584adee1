// Throughput of parallel mode: the same 16 tasks done by 1, 2, 4 and 8 workers whose agents mostly
// wait, as agents waiting on a model do (a sandboxed shell that sleeps, then writes its task's file).
// The planner, the worktrees, the merge queue (review, rebase, checks, fast-forward) and the judge are
// all real, so the speed-up shows what the coordinator costs around the agents.
//   node bench/parallel.ts                                 (npm run bench runs it)
//   BATON_BENCH_TASKS=8 BATON_BENCH_AGENT_SECONDS=0.5 node bench/parallel.ts    a quick run
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { runInit, runLoop } from '../src/index.ts';
import { taskPlan } from '../src/testing/index.ts';
import { git } from './workspace.ts';

const tasks = Number(process.env.BATON_BENCH_TASKS ?? '16');
const agentSeconds = Number(process.env.BATON_BENCH_AGENT_SECONDS ?? '2');
const workerCounts = [1, 2, 4, 8];

async function workspaceFor(root: string, workers: number): Promise<string> {
  const workspace = join(root, `workers-${workers}`);
  mkdirSync(workspace);
  git(workspace, 'init', '-q', '--initial-branch=main');
  writeFileSync(join(workspace, 'README.md'), '# bench project\n');
  const ids = Array.from({ length: tasks }, (_, index) => `t${String(index + 1).padStart(2, '0')}`);
  writeFileSync(
    join(workspace, 'plan.json'),
    JSON.stringify(
      taskPlan(
        ids.map((id) => ({
          id,
          features: [`F-${id}`],
          scope: [`src/${id}.txt`],
          verify: [`test -s src/${id}.txt`],
        })),
      ),
    ),
  );
  git(workspace, 'add', '-A');
  git(workspace, 'commit', '-qm', 'bench project');
  await runInit({
    workspace,
    goal: `Write ${tasks} files in parallel.`,
    features: {
      version: 1,
      features: ids.map((id) => ({
        id: `F-${id}`,
        title: `src/${id}.txt exists`,
        steps: [],
        verify: `test -s src/${id}.txt`,
        status: 'failing' as const,
        evidence: null,
      })),
    },
    agentYaml: `agent:\n  type: command\n  command: "if [ \\"$BATON_ROLE\\" = planner ]; then cp plan.json TASKS.json; else sleep ${agentSeconds}; mkdir -p src; echo ok > src/$BATON_TASK_ID.txt; fi"\n  timeout: 5m`,
    oraclesYaml: 'oracles: []',
    doneOracles: [],
    smokeCommand: 'true',
  });
  appendFileSync(join(workspace, 'baton.yaml'), `parallel:\n  workers: ${workers}\n  replans: 0\n`);
  git(workspace, 'commit', '-qam', `bench: ${workers} workers`);
  return workspace;
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
