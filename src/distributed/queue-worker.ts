import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { Worker, type Job } from 'bullmq';
import { loadConfig } from '../config/load.ts';
import { BatonError } from '../errors.ts';
import { runGit } from '../git/git.ts';
import { createAgentFromConfig } from '../agents/registry.ts';
import { executeAttempt } from '../parallel/task-worker.ts';
import { RepositoryLock } from '../parallel/worktrees.ts';
import { prepareSandbox } from '../sandbox/sandbox.ts';
import { ioLimits } from '../util/limits.ts';
import { readRegularFile } from '../util/safe-io.ts';
import { attemptJobId, defaultQueueName, type AttemptJob, type AttemptJobResult } from './jobs.ts';
import { connectRedis } from './redis.ts';
import { remoteAttemptRef, remoteIntegrationRef } from './remote.ts';

export interface QueueWorkerOptions {
  readonly redisUrl: string;
  /** Where clones of the shared remotes and the attempts' worktrees live on this machine. */
  readonly cacheDir: string;
  /** Attempts this process runs at once (each its own slot: port range, scratch folder). */
  readonly concurrency?: number;
  readonly name?: string;
  readonly queueName?: string;
  /** How long a job's lock lasts without renewal: a dead worker's job is re-run after about this. */
  readonly lockDurationMs?: number;
  readonly stalledIntervalMs?: number;
  readonly env?: NodeJS.ProcessEnv;
  readonly onEvent?: (line: string) => void;
}

export interface RunningQueueWorker {
  readonly name: string;
  /** Stop taking jobs; wait for the ones under way (force: abandon them to other workers). */
  close(force?: boolean): Promise<void>;
}

/** One clone per remote, shared by the attempts of this process (git operations on it serialized). */
async function ensureClone(cacheDir: string, remote: string, lock: RepositoryLock): Promise<string> {
  const clone = join(cacheDir, 'repos', createHash('sha256').update(remote).digest('hex').slice(0, 16));
  await lock.run(async () => {
    if (!existsSync(join(clone, '.git'))) {
      rmSync(clone, { recursive: true, force: true });
      mkdirSync(clone, { recursive: true });
      const cloned = await runGit(clone, ['clone', '--quiet', '--no-checkout', remote, '.'], true);
      if (cloned.exitCode !== 0) {
        rmSync(clone, { recursive: true, force: true });
        throw new BatonError(`cannot clone the shared remote ${remote}: ${cloned.stderr.trim()}`, {
          code: 'GIT_REMOTE_UNREACHABLE',
          fix: 'make the remote reachable from this machine (path, URL, credentials)',
        });
      }
    }
  });
  return clone;
}

/**
 * A worker process for distributed runs: takes attempt jobs from the queue, fetches the base from the
 * shared remote, runs the attempt sandboxed in a fresh worktree with the agent and sandbox the
 * repository's own baton.yaml names, pushes the work, and reports. BullMQ renews the job's lock while
 * the attempt runs (the heartbeat); if this process dies, another worker gets the job.
 */
export function startQueueWorker(options: QueueWorkerOptions): RunningQueueWorker {
  const name = options.name ?? `${hostname()}:${process.pid}`;
  const concurrency = options.concurrency ?? 1;
  const lock = new RepositoryLock();
  const slots = Array.from({ length: concurrency }, (_, index) => index + 1);
  const abort = new AbortController();
  const say = options.onEvent ?? (() => undefined);

  async function processJob(job: Job<AttemptJob, AttemptJobResult>): Promise<AttemptJobResult> {
    const { plan, remote } = job.data;
    const slot = slots.shift() ?? concurrency + 1;
    const clone = await ensureClone(options.cacheDir, remote, lock);
    const worktree = join(options.cacheDir, 'attempts', attemptJobId(plan));
    say(`${name}: ${plan.task} attempt ${plan.attempt} (run ${plan.runId}) on slot ${slot}`);
    try {
      await lock.run(async () => {
        await runGit(clone, [
          'fetch',
          '--quiet',
          remote,
          `+${remoteIntegrationRef(plan.runId)}:refs/remotes/baton/${plan.runId}`,
        ]);
        await runGit(clone, ['worktree', 'remove', '--force', '--force', worktree], true);
        rmSync(worktree, { recursive: true, force: true });
        await runGit(clone, ['worktree', 'prune'], true);
        await runGit(clone, ['worktree', 'add', '--quiet', '--detach', worktree, plan.base]);
      });
      // The repository's own contract, as of the task's base, names the agent and the sandbox.
      const config = loadConfig(worktree);
      if (config.agent === undefined) {
        throw new BatonError(`baton.yaml at ${plan.base.slice(0, 8)} names no agent`, {
          code: 'NO_AGENT',
          fix: 'add an agent section to baton.yaml and commit it',
        });
      }
      const { sandbox } = await prepareSandbox(worktree, config.sandbox);
      const transcriptPath = join(options.cacheDir, 'attempts', `${attemptJobId(plan)}.transcript.log`);
      try {
        const result = await executeAttempt({
          plan,
          worktree,
          agent: createAgentFromConfig(config.agent, worktree),
          sandbox,
          env: options.env ?? process.env,
          slot,
          signal: abort.signal,
          transcriptPath,
          rateLimits: config.rateLimits,
          guards: config.guards,
          scratchDir: join(options.cacheDir, 'scratch', attemptJobId(plan)),
        });
        const remoteRef =
          result.commit === null ? null : remoteAttemptRef(plan.runId, plan.task, plan.attempt);
        if (remoteRef !== null && result.commit !== null) {
          await runGit(worktree, ['push', '--quiet', '--force', remote, `${result.commit}:${remoteRef}`]);
        }
        say(
          `${name}: ${plan.task} attempt ${plan.attempt}: ${result.status}${result.commit === null ? ', no changes' : ''}`,
        );
        return {
          ...result,
          remoteRef,
          by: name,
          transcript:
            readRegularFile(transcriptPath, { maxBytes: ioLimits.maxTranscriptReadBytes, fromEnd: true })
              ?.text ?? '',
        };
      } finally {
        await sandbox.close();
        rmSync(transcriptPath, { force: true });
      }
    } finally {
      slots.push(slot);
      await lock.run(async () => {
        await runGit(clone, ['worktree', 'remove', '--force', '--force', worktree], true);
        rmSync(worktree, { recursive: true, force: true });
        await runGit(clone, ['worktree', 'prune'], true);
      });
    }
  }

  const connection = connectRedis(options.redisUrl);
  const worker = new Worker<AttemptJob, AttemptJobResult>(options.queueName ?? defaultQueueName, processJob, {
    connection,
    concurrency,
    name,
    lockDuration: options.lockDurationMs ?? 10_000,
    stalledInterval: options.stalledIntervalMs ?? 5_000,
    // A job whose worker died is re-run elsewhere; twice more at most, then it fails to the coordinator.
    maxStalledCount: 2,
  });
  worker.on('error', (error) => {
    say(`${name}: ${error.message}`);
  });
  return {
    name,
    async close(force = false): Promise<void> {
      if (force) abort.abort();
      await worker.close(force);
      connection.disconnect();
    },
  };
}
