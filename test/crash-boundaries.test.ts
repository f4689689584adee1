import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bin,
  copyWorkspace,
  expectEndsLike,
  expectEveryTaskLandedOnce,
  expectKilledByFault,
  expectRunsRecoverable,
  finalState,
  inBatches,
  latestEvents,
  parallelWorkspace,
  resumeAfterCrash,
  runCli,
  serialWorkspace,
  spread,
  type CliResult,
} from './crash-helpers.ts';
import { git, tempDir } from './helpers.ts';
import { startRedis, type RedisServer } from './redis-server.ts';

/**
 * kill -9 at event boundaries, then resume. The harness kills itself through BATON_FAULT right after
 * its k-th event is on disk: for a serial run every k of an uninterrupted run, for parallel and
 * distributed runs an even spread. No clock, no guessed delay: every trial is the same on any machine.
 */
const concurrency = 2;

interface BoundaryFailure {
  readonly boundary: string;
  readonly error: string;
}

/**
 * Run every trial even when some fail, so that one report names every boundary that breaks recovery
 * (not just the first); the test then fails with that list.
 */
async function trialsAt<T>(
  items: readonly T[],
  name: (item: T) => string,
  trial: (item: T) => Promise<void>,
): Promise<{ passed: number; failures: BoundaryFailure[] }> {
  const failures: BoundaryFailure[] = [];
  let passed = 0;
  await inBatches(items, concurrency, async (item) => {
    try {
      await trial(item);
      passed += 1;
    } catch (error) {
      failures.push({ boundary: name(item), error: String(error).split('\n').slice(0, 12).join('\n') });
    }
  });
  return { passed, failures };
}

function report(
  mode: string,
  passed: number,
  total: number,
  failures: readonly BoundaryFailure[],
  startedAt: number,
): void {
  const seconds = Math.round((Date.now() - startedAt) / 1000);
  process.stdout.write(
    `crash boundaries: ${passed} of ${total} killed and resumed (${mode}; ${seconds} s)\n`,
  );
  for (const failure of failures) {
    process.stdout.write(`  FAILED at ${failure.boundary}:\n${failure.error}\n`);
  }
}

describe('kill -9 at every event boundary loses nothing', () => {
  it(
    'serial: killed after each event of a run, then resumed, it ends like the uninterrupted run',
    { timeout: 900_000 },
    async () => {
      const startedAt = Date.now();
      const base = await serialWorkspace(3);
      const referenceWorkspace = copyWorkspace(base);
      const reference = await runCli(['run', '-C', referenceWorkspace]);
      expect(reference.code, reference.output).toBe(0);
      const referenceEvents = latestEvents(referenceWorkspace);
      const referenceState = finalState(referenceWorkspace);
      expect(referenceState.paths).toEqual(expect.arrayContaining(['f1.txt', 'f2.txt', 'f3.txt']));
      const boundaries = referenceEvents.map((event) => event.seq);
      const typeAt = (boundary: number): string => referenceEvents[boundary - 1]?.type ?? '?';

      const { passed, failures } = await trialsAt(
        boundaries,
        (boundary) => `event ${boundary} (${typeAt(boundary)})`,
        async (boundary) => {
          const workspace = copyWorkspace(base);
          let context = `kill after event ${boundary} (${typeAt(boundary)})`;
          const crashed = await runCli(['run', '-C', workspace], `kill-after-event:${boundary}`);
          expectKilledByFault(crashed, context);
          // It died right at the boundary: exactly that many events on disk, the same as the reference's.
          const onDisk = latestEvents(workspace);
          expect(
            onDisk.map((event) => event.type),
            context,
          ).toEqual(referenceEvents.slice(0, boundary).map((event) => event.type));
          const resumed = await resumeAfterCrash(workspace, context);
          context = `${context}; resume printed: ${resumed.output}`;
          expectEndsLike(referenceState, workspace, context);
          expectRunsRecoverable(workspace, context);
        },
      );
      report('serial', passed, boundaries.length, failures, startedAt);
      expect(failures).toEqual([]);
      expect(passed).toBe(boundaries.length);
    },
  );

  for (const workers of [2, 3]) {
    it(
      `parallel, ${workers} workers: killed at a spread of event boundaries, then resumed, every task lands once`,
      { timeout: 900_000 },
      async () => {
        const startedAt = Date.now();
        const base = await parallelWorkspace(workers);
        const referenceWorkspace = copyWorkspace(base);
        const reference = await runCli(['run', '-C', referenceWorkspace, '--workers', String(workers)]);
        expect(reference.code, reference.output).toBe(0);
        expectEveryTaskLandedOnce(referenceWorkspace, 'the uninterrupted run');
        const total = latestEvents(referenceWorkspace).length;
        // The order of a parallel run's events varies from run to run; its count barely does. The last
        // boundary is kept inside the run (a boundary past its end would not kill it).
        const boundaries = spread(total - 2, 7);
        const { passed, failures } = await trialsAt(
          boundaries,
          (boundary) => `event ${boundary}`,
          async (boundary) => {
            const workspace = copyWorkspace(base);
            const crashed = await runCli(
              ['run', '-C', workspace, '--workers', String(workers)],
              `kill-after-event:${boundary}`,
            );
            let context = `${workers} workers, kill after event ${boundary}`;
            expectKilledByFault(crashed, context);
            const onDisk = latestEvents(workspace);
            expect(onDisk, context).toHaveLength(boundary);
            context = `${context} (${onDisk.at(-1)?.type ?? '?'})`;
            const resumed = await resumeAfterCrash(workspace, context);
            context = `${context}; resume printed: ${resumed.output}`;
            expectEveryTaskLandedOnce(workspace, context);
            expectRunsRecoverable(workspace, context);
          },
        );
        report(
          `parallel, ${workers} workers, of ${total} events`,
          passed,
          boundaries.length,
          failures,
          startedAt,
        );
        expect(failures).toEqual([]);
        expect(passed).toBe(boundaries.length);
      },
    );
  }

  describe('distributed', () => {
    let redis: RedisServer;
    beforeAll(async () => {
      redis = await startRedis();
    });
    afterAll(async () => {
      await redis.stop();
    });

    /** A coordinator (with a fault, maybe) and two workers on their own queue; the workers stop after. */
    async function distributedRun(workspace: string, queueName: string, fault?: string): Promise<CliResult> {
      const remote = join(tempDir(), 'shared.git');
      git(tempDir(), 'init', '-q', '--bare', remote);
      const caches = tempDir();
      const workers = ['w1', 'w2'].map((name) =>
        spawn(
          process.execPath,
          [
            bin,
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
          ],
          { stdio: 'ignore' },
        ),
      );
      const exited = workers.map((worker) => new Promise((resolve) => worker.on('close', resolve)));
      try {
        const args = [
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
        const first = await runCli(args, fault);
        if (fault === undefined) return first;
        expectKilledByFault(first, `coordinator with ${fault}`);
        // Started again, the coordinator resumes the run it finds in the workspace.
        const second = await runCli(args);
        expect(second.code, `coordinator after ${fault}: ${second.output}`).toBe(0);
        return first;
      } finally {
        for (const worker of workers) worker.kill('SIGTERM');
        await Promise.all(exited);
      }
    }

    it(
      'the coordinator killed at a spread of event boundaries, then started again, lands every task once',
      { timeout: 900_000 },
      async () => {
        const startedAt = Date.now();
        const base = await parallelWorkspace(2);
        const referenceWorkspace = copyWorkspace(base);
        const reference = await distributedRun(referenceWorkspace, `ref-${Date.now()}`);
        expect(reference.code, reference.output).toBe(0);
        expectEveryTaskLandedOnce(referenceWorkspace, 'the uninterrupted distributed run');
        const total = latestEvents(referenceWorkspace).length;
        const boundaries = spread(total - 2, 6);
        const { passed, failures } = await trialsAt(
          boundaries,
          (boundary) => `event ${boundary}`,
          async (boundary) => {
            const workspace = copyWorkspace(base);
            await distributedRun(workspace, `q${boundary}-${Date.now()}`, `kill-after-event:${boundary}`);
            const record = latestEvents(workspace);
            const context = `distributed, coordinator killed after event ${boundary}`;
            expect(
              record.some((event) => event.type === 'run.resumed'),
              context,
            ).toBe(true);
            expectEveryTaskLandedOnce(workspace, context);
            expectRunsRecoverable(workspace, context);
          },
        );
        report(`distributed, of ${total} events`, passed, boundaries.length, failures, startedAt);
        expect(failures).toEqual([]);
        expect(passed).toBe(boundaries.length);
      },
    );
  });
});
