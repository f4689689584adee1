import { resolve } from 'node:path';
import { loadConfig } from '../config/load.ts';
import { createQueueTransport } from '../distributed/queue-transport.ts';
import {
  startQueueWorker,
  type QueueWorkerOptions,
  type RunningQueueWorker,
} from '../distributed/queue-worker.ts';
import { checkRedis } from '../distributed/redis.ts';
import { checkRemote } from '../distributed/remote.ts';
import { runLoop, type RunLoopOptions, type RunLoopResult } from './run.ts';

export interface CoordinatorOptions extends Omit<RunLoopOptions, 'transport'> {
  readonly redisUrl: string;
  /** The shared git remote (a bare repository, or any URL) workers fetch from and push to. */
  readonly remote: string;
  readonly queueName?: string;
}

/** Workers in flight when neither --workers nor parallel.workers says: enough to keep a pool busy. */
const defaultInFlight = 8;

/**
 * The coordinator of a distributed run: the planner, the merge queue, the judge and the event log stay
 * here; attempts travel as BullMQ jobs to `baton worker` processes on any machine. Started again after
 * a crash, it resumes the run and waits again for the attempts still out with workers.
 */
export async function runCoordinator(options: CoordinatorOptions): Promise<RunLoopResult> {
  const workspace = resolve(options.workspace);
  const config = loadConfig(workspace);
  await checkRedis(options.redisUrl);
  await checkRemote(workspace, options.remote);
  const transport = createQueueTransport({
    redisUrl: options.redisUrl,
    remote: options.remote,
    ...(options.queueName === undefined ? {} : { queueName: options.queueName }),
  });
  try {
    return await runLoop({
      ...options,
      workspace,
      workers: options.workers ?? config.parallel.workers ?? defaultInFlight,
      transport,
    });
  } finally {
    await transport.close();
  }
}

/** A worker process of distributed runs (until closed). Checks Redis first, so a wrong URL fails fast. */
export async function runWorker(options: QueueWorkerOptions): Promise<RunningQueueWorker> {
  await checkRedis(options.redisUrl);
  return startQueueWorker(options);
}
