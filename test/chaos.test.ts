import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { listRuns, readRun } from '../src/api/inspect.ts';
import { findRunProcesses } from '../src/run/orphans.ts';
import { readFeatureList } from '../src/workspace/features.ts';
import { feature, git, makeWorkspace } from './helpers.ts';

/**
 * kill -9 at a random moment, then resume: 100 trials of a 4-iteration run, each compared with an
 * uninterrupted run. The harness runs as a real CLI process so the kill can land anywhere: in agent
 * work, in oracle runs, in a git commit, halfway through writing the event log.
 */
const bin = fileURLToPath(new URL('../bin/baton.js', import.meta.url));
const trials = Number(process.env.BATON_CHAOS_TRIALS ?? '100');
const seed = Number(process.env.BATON_CHAOS_SEED ?? '20261124');
const concurrency = 4;

function random(seedValue: number): () => number {
  let state = seedValue >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// The worker: creates the next missing file, slowly enough that kills land during its work too.
const agentYaml =
  'agent:\n  type: command\n  command: "for f in f1 f2 f3 f4; do if [ ! -f $f.txt ]; then sleep 0.3; echo content-of-$f > $f.txt; echo made $f; exit 0; fi; done; echo nothing left"\n  timeout: 1m';
const features = [1, 2, 3, 4].map((index) =>
  feature(`F${index}`, `sleep 0.02; grep -q content-of-f${index} f${index}.txt`),
);

function runCli(
  args: readonly string[],
  killAfterMs?: number,
): Promise<{ code: number | null; killed: boolean; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    let killed = false;
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const timer =
      killAfterMs === undefined
        ? undefined
        : setTimeout(() => {
            killed = child.kill('SIGKILL');
          }, killAfterMs);
    // 'close', not 'exit': only then has everything it printed been read.
    child.on('close', (code) => {
      if (timer !== undefined) clearTimeout(timer);
      resolve({ code, killed: killed && code === null, stderr });
    });
  });
}

interface TrialOutcome {
  readonly killed: boolean;
  readonly interruptedIterations: number;
  readonly delayMs: number;
}

async function trial(index: number, delayMs: number): Promise<TrialOutcome> {
  const workspace = await makeWorkspace({
    features,
    agentYaml,
    oracles: [{ name: 'all', command: 'cat f1.txt f2.txt f3.txt f4.txt' }],
    doneOracles: ['all'],
  });
  const first = await runCli(['run', '-C', workspace], delayMs);
  const verb = index % 2 === 0 ? 'resume' : 'run';
  let second = await runCli([verb, '-C', workspace]);
  let context = `trial ${index} (kill after ${Math.round(delayMs)}ms, then ${verb}): ${second.stderr}`;
  if (verb === 'resume' && second.code === 2) {
    // Killed before the run was recorded, or after it was done: resume says so, and `baton run` starts it.
    expect(second.stderr, context).toMatch(/there is no run to resume|is done/);
    if (second.stderr.includes('no run to resume')) {
      second = await runCli(['run', '-C', workspace]);
      context = `${context}; then run: ${second.stderr}`;
    }
  } else {
    expect(second.code, context).toBe(0);
  }

  // Same final state as an uninterrupted run.
  const latest = readRun(workspace);
  expect(latest.state.stop?.reason, context).toBe('done');
  const list = readFeatureList(workspace);
  expect(list.ok && list.list.features.every((entry) => entry.status === 'passing'), context).toBe(true);
  for (const index_ of [1, 2, 3, 4]) {
    expect(readFileSync(join(workspace, `f${index_}.txt`), 'utf8'), context).toBe(`content-of-f${index_}\n`);
  }
  expect(git(workspace, 'ls-tree', '--name-only', 'HEAD').split('\n'), context).toEqual(
    expect.arrayContaining(['f1.txt', 'f2.txt', 'f3.txt', 'f4.txt']),
  );
  expect(git(workspace, 'status', '--porcelain'), context).toBe('');

  let interrupted = 0;
  for (const runId of listRuns(workspace)) {
    // Every log replays, numbered without gaps.
    const record = readRun(workspace, runId);
    expect(
      record.events.map((event) => event.seq),
      context,
    ).toEqual(record.events.map((_event, position) => position + 1));
    // No lost commit: every commit of every finished iteration is in the branch's history.
    const ended = new Set(
      record.events.filter((event) => event.type === 'iteration.ended').map((event) => event.iteration),
    );
    for (const event of record.events) {
      if (event.type === 'commit.created' && ended.has(event.iteration)) {
        git(workspace, 'merge-base', '--is-ancestor', event.commit, 'HEAD');
      }
      if (event.type === 'iteration.interrupted') interrupted += 1;
    }
    // No orphaned process.
    expect(findRunProcesses(runId), context).toEqual([]);
  }
  return { killed: first.killed, interruptedIterations: interrupted, delayMs };
}

describe('kill -9 at any moment loses nothing', () => {
  it(
    `${trials} trials of SIGKILL at a random moment, then resume, end like an uninterrupted run`,
    { timeout: 1_800_000 },
    async () => {
      const next = random(seed);
      // An uninterrupted run takes about 2 s here (4 iterations of ~0.45 s after ~0.2 s of start-up).
      const delays = Array.from({ length: trials }, () => 150 + next() * 2_000);
      const outcomes: TrialOutcome[] = [];
      for (let start = 0; start < trials; start += concurrency) {
        const batch = delays
          .slice(start, start + concurrency)
          .map((delay, offset) => trial(start + offset, delay));
        outcomes.push(...(await Promise.all(batch)));
      }
      const killed = outcomes.filter((outcome) => outcome.killed).length;
      const interrupted = outcomes.filter((outcome) => outcome.interruptedIterations > 0).length;
      const summary = {
        trials,
        seed,
        killedMidRun: killed,
        resumedAnInterruptedIteration: interrupted,
        finishedBeforeTheKill: trials - killed,
        allEndedLikeAnUninterruptedRun: true,
      };
      mkdirSync('test-artifacts', { recursive: true });
      writeFileSync('test-artifacts/chaos.json', `${JSON.stringify(summary, null, 2)}\n`);
      process.stdout.write(`chaos: ${JSON.stringify(summary)}\n`);
      expect(outcomes).toHaveLength(trials);
      // The kills must really land mid-run, most of the time, or the test proves little.
      expect(killed).toBeGreaterThan(trials * 0.6);
      expect(interrupted).toBeGreaterThan(trials * 0.3);
    },
  );
});
