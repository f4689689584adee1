import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { BatonError, exitCodes } from '../errors.ts';
import { parseDurationMs } from '../util/duration.ts';
import { workspaceOption, type CommandIo } from './control-commands.ts';

function whole(name: string, text: string | undefined, max: number): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw new BatonError(`${name} ${text} is not a whole number from 1 to ${max}`, {
      code: 'USAGE',
      fix: `pass e.g. ${name} 4`,
      exitCode: exitCodes.usage,
    });
  }
  return value;
}

function duration(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const ms = parseDurationMs(text);
  if (ms === undefined) {
    throw new BatonError(`${name} ${text} is not a duration`, {
      code: 'USAGE',
      fix: `pass e.g. ${name} 10s`,
      exitCode: exitCodes.usage,
    });
  }
  return ms;
}

/** `baton coordinator` and `baton worker`: the distributed transport of parallel mode. */
export function registerDistributedCommands(program: Command, io: CommandIo): void {
  program
    .command('coordinator')
    .description(
      'run (or resume) a parallel run whose workers are `baton worker` processes anywhere: tasks travel as jobs on Redis, work through a shared git remote',
    )
    .requiredOption('--redis <url>', 'the Redis the workers use, e.g. redis://127.0.0.1:6379')
    .requiredOption('--remote <git-url>', 'a repository coordinator and workers share (e.g. a bare one)')
    .option('--workers <n>', 'attempts out with workers at once (default: parallel.workers, else 8)')
    .option('--queue <name>', 'the queue name (default: baton-tasks)')
    .option('--json', 'print every event as a JSON line')
    .addOption(workspaceOption())
    .action(
      async (flags: {
        redis: string;
        remote: string;
        workers?: string;
        queue?: string;
        json?: boolean;
        workspace: string;
      }) => {
        const workers = whole('--workers', flags.workers, 256);
        // The queue library loads only for the distributed commands (see cli/main.ts).
        const { runCoordinator } = await import('../api/distributed.ts');
        const onEvent = await io.eventPrinter(flags.json === true);
        const result = await io.withInterrupts((signal) =>
          runCoordinator({
            workspace: resolve(flags.workspace),
            redisUrl: flags.redis,
            remote:
              /^[a-z]+:\/\//i.test(flags.remote) || flags.remote.includes('@')
                ? flags.remote
                : resolve(flags.remote),
            signal,
            onEvent,
            ...(workers === undefined ? {} : { workers }),
            ...(flags.queue === undefined ? {} : { queueName: flags.queue }),
          }),
        );
        io.setExitCode(result.stop.exitCode);
      },
    );

  program
    .command('worker')
    .description(
      'take tasks of distributed runs from the queue and run them sandboxed, until stopped (SIGTERM)',
    )
    .requiredOption('--redis <url>', 'the Redis the coordinator uses')
    .option('--concurrency <n>', 'attempts this process runs at once', '1')
    .option('--name <name>', 'how this worker is named in the log (default: host:pid)')
    .option(
      '--cache <dir>',
      'clones and worktrees of this worker',
      join(homedir(), '.cache', 'baton', 'worker'),
    )
    .option('--queue <name>', 'the queue name (default: baton-tasks)')
    .option(
      '--lock-duration <duration>',
      "a job's lock without renewal: a dead worker's task is re-run elsewhere after about this",
      '10s',
    )
    .option('--stalled-interval <duration>', 'how often this worker looks for stalled jobs', '5s')
    .action(
      async (flags: {
        redis: string;
        concurrency: string;
        name?: string;
        cache: string;
        queue?: string;
        lockDuration: string;
        stalledInterval: string;
      }) => {
        const { runWorker } = await import('../api/distributed.ts');
        const worker = await runWorker({
          redisUrl: flags.redis,
          cacheDir: resolve(flags.cache),
          concurrency: whole('--concurrency', flags.concurrency, 64) ?? 1,
          lockDurationMs: duration('--lock-duration', flags.lockDuration) ?? 10_000,
          stalledIntervalMs: duration('--stalled-interval', flags.stalledInterval) ?? 5_000,
          onEvent: io.out,
          ...(flags.name === undefined ? {} : { name: flags.name }),
          ...(flags.queue === undefined ? {} : { queueName: flags.queue }),
        });
        io.out(`worker ${worker.name} waiting for tasks on ${flags.redis}`);
        await io.withInterrupts(
          (signal) =>
            new Promise<void>((done) => {
              signal.addEventListener('abort', () => {
                done();
              });
            }),
        );
        io.out(`worker ${worker.name} stopping (attempts under way finish first)`);
        await worker.close();
      },
    );
}
