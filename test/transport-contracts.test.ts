import { afterAll, beforeAll, describe, it } from 'vitest';
import { createQueueTransport } from '../src/distributed/queue-transport.ts';
import { startQueueWorker } from '../src/distributed/queue-worker.ts';
import { localTransport } from '../src/parallel/transport.ts';
import { describeTransportContract } from '../src/testing/index.ts';
import { startRedis, type RedisServer } from './redis-server.ts';

/**
 * The transport contract (src/testing/contracts/transport-contract.ts) against both transports of
 * parallel mode: attempts on this machine, and BullMQ jobs on a real redis-server (a loopback port of
 * its own) run by a queue worker in this process, sharing work through a bare repository.
 */
let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis.stop();
});

describeTransportContract('local', () => ({ transport: localTransport }), {
  describe,
  it,
  outlivesCoordinator: false,
});

let queues = 0;
describeTransportContract(
  'queue (BullMQ on Redis)',
  ({ remote, dir }) => {
    queues += 1;
    const queueName = `contract-${process.pid}-${queues}`;
    const worker = startQueueWorker({ redisUrl: redis.url, cacheDir: dir, queueName, concurrency: 2 });
    return {
      transport: createQueueTransport({ redisUrl: redis.url, remote, queueName }),
      // Abandon what is still running (the aborted attempt's job keeps its worker busy otherwise).
      stop: () => worker.close(true),
    };
  },
  { describe, it, outlivesCoordinator: true },
);
