import { spawn } from 'node:child_process';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { listRuns, readRun } from '../src/api/inspect.ts';
import { findRunProcesses } from '../src/run/orphans.ts';
import { taskPlan } from '../src/testing/task-plan.ts';
import { readFeatureList } from '../src/workspace/features.ts';
import { feature, git, makeWorkspace } from './helpers.ts';

/**
 * SIGKILL the coordinator of a parallel run at a random moment (planning, workers mid-session, a
 * rebase, a merge's checks, the fast-forward, the evidence commit), then resume: every task lands
 * exactly once, no worktree, branch or process is left behind, and the tree is clean.
 */
const bin = fileURLToPath(new URL('../bin/baton.js', import.meta.url));
const trials = Number(process.env.BATON_PARALLEL_CHAOS_TRIALS ?? '12');
const ids = ['a', 'b', 'c', 'd', 'e', 'f'];
const dependsOn: Record<string, string[]> = { d: ['a'], f: ['d', 'e'] };

const plan = taskPlan(
  ids.map((id) => ({
    id,
    features: [`F-${id}`],
    scope: [`src/${id}.txt`],
    dependsOn: dependsOn[id] ?? [],
    verify: [`grep -q '${id} ok' src/${id}.txt`],
  })),
);

// The planner copies the plan; a worker writes its task's file, slowly enough that kills land mid-session.
const agentYaml =
  'agent:\n  type: command\n  command: "if [ \\"$BATON_ROLE\\" = planner ]; then cp plan.json TASKS.json; else sleep 0.25; mkdir -p src; echo \\"$BATON_TASK_ID ok\\" > src/$BATON_TASK_ID.txt; fi"\n  timeout: 1m';

function runCli(
  args: readonly string[],
  killAfterMs?: number,
): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    // What it printed last helps when a trial fails.
    child.stdout.on('data', (chunk: Buffer) => {
      stderr = `${stderr}${chunk.toString()}`.slice(-3_000);
    });
    const timer =
      killAfterMs === undefined
        ? undefined
        : setTimeout(() => {
            child.kill('SIGKILL');
          }, killAfterMs);
    // 'close', not 'exit': only then has everything it printed been read.
    child.on('close', (code) => {
      if (timer !== undefined) clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

async function trial(index: number, delayMs: number): Promise<number> {
  const workspace = await makeWorkspace({
    features: ids.map((id) => feature(`F-${id}`, `grep -q '${id} ok' src/${id}.txt`)),
    agentYaml,
  });
  writeFileSync(join(workspace, 'plan.json'), JSON.stringify(plan));
  appendFileSync(join(workspace, 'baton.yaml'), 'parallel:\n  workers: 3\n  replans: 0\n');
  git(workspace, 'add', '-A');
  git(workspace, 'commit', '-qm', 'parallel chaos setup');

  await runCli(['run', '-C', workspace], delayMs);
  let second = await runCli(['resume', '-C', workspace]);
  const context = `trial ${index} (kill after ${Math.round(delayMs)} ms): ${second.stderr}`;
  if (second.code === 2 && second.stderr.includes('no run to resume')) {
    second = await runCli(['run', '-C', workspace]);
  }
  if (second.code === 2) expect(second.stderr, context).toMatch(/is done/);
  else expect(second.code, context).toBe(0);

  const record = readRun(workspace);
  expect(record.state.stop?.reason, context).toBe('done');
  const merged = record.events.flatMap((event) => (event.type === 'task.merged' ? [event.task] : []));
  expect(merged.slice().sort(), context).toEqual(ids);
  const history = git(workspace, 'log', '--format=%B', 'HEAD');
  for (const id of ids) {
    expect(readFileSync(join(workspace, `src/${id}.txt`), 'utf8'), context).toBe(`${id} ok\n`);
    // Landed once: one commit on the branch carries the task's trailer.
    expect(history.match(new RegExp(`Baton-Task: [^/]+/${id}/`, 'g'))?.length, context).toBe(1);
  }
  const list = readFeatureList(workspace);
  expect(list.ok && list.list.features.every((entry) => entry.status === 'passing'), context).toBe(true);
  expect(git(workspace, 'status', '--porcelain'), context).toBe('');
  expect(git(workspace, 'branch', '--list', 'baton/*').trim(), context).toBe('');
  expect(git(workspace, 'worktree', 'list').trim().split('\n'), context).toHaveLength(1);
  for (const runId of listRuns(workspace)) expect(findRunProcesses(runId), context).toEqual([]);
  return record.events.filter((event) => event.type === 'task.returned' && event.reason === 'interrupted')
    .length;
}

describe('a parallel run survives its coordinator', () => {
  it(
    `${trials} trials of SIGKILL at a random moment, then resume: every task lands once`,
    { timeout: 900_000 },
    async () => {
      let interrupted = 0;
      for (let start = 0; start < trials; start += 3) {
        const batch = Array.from({ length: Math.min(3, trials - start) }, (_, offset) => {
          const index = start + offset;
          // Spread the kills over an uninterrupted run's length (about 3 s here).
          return trial(index, 300 + ((index * 2_654_435_761) % 3_000));
        });
        for (const count of await Promise.all(batch)) interrupted += count;
      }
      console.log(`parallel chaos: ${trials} trials, attempts interrupted and re-run: ${interrupted}`);
      expect(interrupted).toBeGreaterThan(0);
    },
  );
});
