import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCoordinator } from '../src/api/distributed.ts';
import { listRuns, readRun } from '../src/api/inspect.ts';
import { readEventLog } from '../src/log/event-log.ts';
import type { RunEvent } from '../src/log/events.ts';
import { findRunProcesses } from '../src/run/orphans.ts';
import { taskPlan } from '../src/testing/task-plan.ts';
import { readFeatureList } from '../src/workspace/features.ts';
import { eventLogPath } from '../src/workspace/paths.ts';
import { checkOutRunBranch, feature, git, makeWorkspace, tempDir } from './helpers.ts';
import { freePort, startRedis, type RedisServer } from './redis-server.ts';

/**
 * Distributed mode with real parts: a redis-server on a free loopback port, a bare repository as the
 * shared remote, the coordinator and three workers as separate CLI processes. One worker SIGKILLs itself
 * mid-attempt (BATON_FAULT, no clock), the coordinator is SIGKILLed once the log shows the first merge
 * and started again. test/crash-boundaries.test.ts kills the coordinator at a spread of event boundaries.
 */
const bin = fileURLToPath(new URL('../bin/baton.js', import.meta.url));
const ids = ['a', 'b', 'c', 'd', 'e', 'f'];
const dependsOn: Record<string, string[]> = { d: ['a'], f: ['d', 'e'] };

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis.stop();
});

interface Cli {
  readonly child: ChildProcess;
  output: string;
  readonly exited: Promise<number | null>;
  /** Whether it has exited, and the signal that ended it (null: it exited by itself). */
  ended: boolean;
  signal: NodeJS.Signals | null;
}

/** A CLI process; `fault` is its BATON_FAULT (test/crash-helpers.ts), for this process only. */
function cli(args: readonly string[], fault?: string): Cli {
  const env = { ...process.env };
  delete env.BATON_FAULT;
  if (fault !== undefined) env.BATON_FAULT = fault;
  const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
  const handle: Cli = {
    child,
    output: '',
    ended: false,
    signal: null,
    exited: new Promise((resolve) => {
      child.on('close', (code, signal) => {
        handle.ended = true;
        handle.signal = signal;
        resolve(code);
      });
    }),
  };
  const keep = (chunk: Buffer): void => {
    handle.output = `${handle.output}${chunk.toString()}`.slice(-20_000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  return handle;
}

async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function events(workspace: string): RunEvent[] {
  const runId = listRuns(workspace).at(-1);
  return runId === undefined || !existsSync(eventLogPath(workspace, runId))
    ? []
    : readEventLog(eventLogPath(workspace, runId)).events;
}

async function distributedWorkspace(): Promise<{ workspace: string; remote: string }> {
  const workspace = await makeWorkspace({
    features: ids.map((id) => feature(`F-${id}`, `grep -q '${id} ok' src/${id}.txt`)),
    // The planner copies the plan; a worker takes a while (as a model would), then writes its file.
    agentYaml:
      'agent:\n  type: command\n  command: "if [ \\"$BATON_ROLE\\" = planner ]; then cp plan.json TASKS.json; else sleep 1.5; mkdir -p src; echo \\"$BATON_TASK_ID ok\\" > src/$BATON_TASK_ID.txt; fi"\n  timeout: 1m',
  });
  writeFileSync(
    join(workspace, 'plan.json'),
    JSON.stringify(
      taskPlan(
        ids.map((id) => ({
          id,
          features: [`F-${id}`],
          scope: [`src/${id}.txt`],
          dependsOn: dependsOn[id] ?? [],
          verify: [`grep -q '${id} ok' src/${id}.txt`],
        })),
      ),
    ),
  );
  appendFileSync(join(workspace, 'baton.yaml'), 'parallel:\n  workers: 3\n  replans: 0\n');
  git(workspace, 'add', '-A');
  git(workspace, 'commit', '-qm', 'distributed test setup');
  const remote = join(tempDir(), 'shared.git');
  git(tempDir(), 'init', '-q', '--bare', remote);
  return { workspace, remote };
}

describe('distributed mode on BullMQ and Redis', () => {
  it(
    'a coordinator and 3 worker processes land every task once, through a worker SIGKILL and a coordinator restart',
    { timeout: 240_000 },
    async () => {
      const { workspace, remote } = await distributedWorkspace();
      const caches = tempDir();
      const queueName = `q-${Date.now()}`;
      const workerArgs = (name: string): string[] => [
        'worker',
        '--redis',
        redis.url,
        '--name',
        name,
        '--queue',
        queueName,
        '--cache',
        join(caches, name),
        '--lock-duration',
        '2s',
        '--stalled-interval',
        '1s',
      ];
      const coordinatorArgs = [
        'coordinator',
        '--redis',
        redis.url,
        '--remote',
        remote,
        '--queue',
        queueName,
        '-C',
        workspace,
      ];
      let coordinator = cli(coordinatorArgs);
      // The victim starts alone, so the first attempt is its own; it SIGKILLs itself (BATON_FAULT) right
      // before its 6th git command: clone, fetch, worktree remove, prune and add are done, the agent's
      // session has run, the attempt's commit is next. Its job must be finished by another worker.
      const victimName = 'w1';
      const workers = [cli(workerArgs(victimName), 'kill-at-git:6')];
      try {
        const [victimProcess] = workers;
        await waitFor(
          'the victim worker to die mid-attempt',
          () => (victimProcess?.ended === true ? true : undefined),
          120_000,
        );
        expect(victimProcess?.signal, victimProcess?.output).toBe('SIGKILL');
        // A killed worker cleans nothing up: its attempt's worktree, named by the job id, is still there.
        const leftovers = readdirSync(join(caches, victimName, 'attempts')).filter(
          (entry) => !entry.endsWith('.transcript.log'),
        );
        expect(leftovers, victimProcess?.output).toHaveLength(1);
        const victim = { name: victimName, jobId: leftovers[0] ?? '' };
        workers.push(cli(workerArgs('w2')), cli(workerArgs('w3')));

        // Kill the coordinator once something has landed, then start it again: it resumes the run.
        await waitFor('the first merge', () =>
          events(workspace).some((event) => event.type === 'task.merged') ? true : undefined,
        );
        coordinator.child.kill('SIGKILL');
        await coordinator.exited;
        coordinator = cli(coordinatorArgs);
        const code = await Promise.race([
          coordinator.exited,
          new Promise<'timeout'>((resolve) =>
            setTimeout(() => {
              resolve('timeout');
            }, 180_000),
          ),
        ]);
        expect(code, coordinator.output).toBe(0);

        const record = readRun(workspace);
        expect(record.state.stop?.reason).toBe('done');
        const merged = record.events.flatMap((event) => (event.type === 'task.merged' ? [event.task] : []));
        expect(merged.slice().sort()).toEqual(ids);
        // The coordinator checked main out again; the run's work is on its branch.
        expect(git(workspace, 'symbolic-ref', '--short', 'HEAD').trim()).toBe('main');
        checkOutRunBranch(workspace, record.state);
        const history = git(workspace, 'log', '--format=%B', 'HEAD');
        for (const id of ids) {
          expect(readFileSync(join(workspace, `src/${id}.txt`), 'utf8')).toBe(`${id} ok\n`);
          expect(history.match(new RegExp(`Baton-Task: [^/]+/${id}/`, 'g'))?.length).toBe(1);
        }
        const list = readFeatureList(workspace);
        expect(list.ok && list.list.features.every((entry) => entry.status === 'passing')).toBe(true);
        expect(record.events.some((event) => event.type === 'run.resumed')).toBe(true);

        // The killed worker's attempt was finished by another worker (the job kept its id).
        const [runId, task, attempt] = victim.jobId.split('.');
        const transcript = readFileSync(
          join(
            workspace,
            '.baton',
            'runs',
            runId ?? '',
            'tasks',
            task ?? '',
            `attempt-${attempt ?? ''}`,
            'transcript.log',
          ),
          'utf8',
        );
        expect(transcript).toMatch(/^\[run by w\d\]/);
        expect(transcript.startsWith(`[run by ${victim.name}]`)).toBe(false);
        expect(git(workspace, 'status', '--porcelain')).toBe('');
        expect(findRunProcesses(record.runId)).toEqual([]);
      } finally {
        coordinator.child.kill('SIGKILL');
        for (const worker of workers) worker.child.kill('SIGTERM');
        await Promise.all(workers.map((worker) => worker.exited));
      }
    },
  );

  it('names the fix for an unreachable Redis, an evicting Redis and an unreachable git remote', async () => {
    const { workspace, remote } = await distributedWorkspace();
    const nobody = `redis://127.0.0.1:${await freePort()}`;
    await expect(runCoordinator({ workspace, redisUrl: nobody, remote })).rejects.toMatchObject({
      code: 'REDIS_UNREACHABLE',
      fix: expect.stringContaining('redis-server') as unknown,
    });
    const evicting = await startRedis(['--maxmemory-policy', 'allkeys-lru']);
    try {
      await expect(runCoordinator({ workspace, redisUrl: evicting.url, remote })).rejects.toMatchObject({
        code: 'REDIS_EVICTION_POLICY',
        fix: expect.stringContaining('noeviction') as unknown,
      });
    } finally {
      await evicting.stop();
    }
    const missing = join(tempDir(), 'no-such-remote.git');
    await expect(runCoordinator({ workspace, redisUrl: redis.url, remote: missing })).rejects.toMatchObject({
      code: 'GIT_REMOTE_UNREACHABLE',
    });
    // From the CLI: the message and the fix, exit code 2, and nothing was started.
    const run = cli(['worker', '--redis', nobody, '--cache', join(tempDir(), 'cache')]);
    expect(await run.exited).toBe(2);
    expect(run.output).toContain('cannot reach Redis');
    expect(run.output).toContain('fix:');
    expect(listRuns(workspace)).toEqual([]);
  });
});
