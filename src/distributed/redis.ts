import { Redis } from 'ioredis';
import { BatonError, exitCodes } from '../errors.ts';

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Check a Redis before trusting it with tasks: it answers, and it will not evict keys under memory
 * pressure (an evicted job or lock is a lost task; BullMQ needs `maxmemory-policy noeviction`).
 */
export async function checkRedis(url: string): Promise<void> {
  const probe = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 3_000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  probe.on('error', () => undefined);
  try {
    try {
      await probe.connect();
      await probe.ping();
    } catch (error) {
      throw new BatonError(`cannot reach Redis at ${url}: ${describe(error)}`, {
        code: 'REDIS_UNREACHABLE',
        fix: 'start it (e.g. `redis-server --port 6379 --daemonize yes`) or pass the right --redis URL (redis://host:port); nothing was started',
        exitCode: exitCodes.usage,
      });
    }
    const info = await probe.info('memory');
    const policy = /^maxmemory_policy:(\S+)/m.exec(info)?.[1];
    if (policy !== undefined && policy !== 'noeviction') {
      throw new BatonError(
        `Redis at ${url} evicts keys under memory pressure (maxmemory-policy ${policy}): queued tasks and their locks could vanish`,
        {
          code: 'REDIS_EVICTION_POLICY',
          fix: 'set `maxmemory-policy noeviction` (redis-cli -u URL config set maxmemory-policy noeviction, and in redis.conf)',
          exitCode: exitCodes.usage,
        },
      );
    }
  } finally {
    probe.disconnect();
  }
}

/** The connection BullMQ queues and workers share (blocking commands need maxRetriesPerRequest: null). */
export function connectRedis(url: string): Redis {
  const redis = new Redis(url, { maxRetriesPerRequest: null, connectTimeout: 5_000 });
  // Reconnection is ioredis's job; an error here is logged by the caller's health checks, not thrown.
  redis.on('error', () => undefined);
  return redis;
}
