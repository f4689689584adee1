import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { BatonError, exitCodes } from '../errors.ts';
import { isProcessAlive } from '../util/process-alive.ts';
import { harnessDir } from '../workspace/paths.ts';

export interface LockInfo {
  readonly pid: number;
  readonly runId: string;
  readonly host: string;
  readonly startedAt: string;
}

export function lockPath(workspace: string): string {
  return join(harnessDir(workspace), 'lock');
}

export function readRunLock(workspace: string): LockInfo | null {
  const path = lockPath(workspace);
  if (!existsSync(path)) return null;
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as LockInfo;
  } catch {
    // A lock file cut short by a crash while it was written: nobody holds it.
    return { pid: 0, runId: '', host: hostname(), startedAt: '' };
  }
}

/** A lock is live when its process still runs on this machine (another host's lock is trusted as live). */
export function isLockLive(lock: LockInfo): boolean {
  return lock.host !== hostname() || (lock.pid > 0 && isProcessAlive(lock.pid));
}

export interface RunLock {
  readonly recovered: LockInfo | null;
  release(): void;
}

/**
 * One harness drives a workspace at a time. The lock is a file created exclusively; a lock whose
 * process is dead (kill -9, a reboot) is stale and is taken over, with a note of whose it was.
 */
export function acquireRunLock(workspace: string, runId: string): RunLock {
  mkdirSync(harnessDir(workspace), { recursive: true });
  const path = lockPath(workspace);
  let recovered: LockInfo | null = null;
  for (let attempt = 0; attempt < 2; attempt += 1) {
    let descriptor: number;
    try {
      descriptor = openSync(path, 'wx');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = readRunLock(workspace);
      if (holder !== null && isLockLive(holder)) {
        throw new BatonError(
          `another baton harness (pid ${holder.pid} on ${holder.host}, run ${holder.runId}) is driving ${workspace}`,
          {
            code: 'LOCKED',
            fix: 'wait for it, or stop it with `baton stop` (or `baton stop --now`); two harnesses must never drive one workspace',
            exitCode: exitCodes.usage,
          },
        );
      }
      recovered = holder;
      rmSync(path, { force: true });
      continue;
    }
    const info: LockInfo = { pid: process.pid, runId, host: hostname(), startedAt: new Date().toISOString() };
    writeSync(descriptor, JSON.stringify(info));
    closeSync(descriptor);
    return {
      recovered,
      release: () => {
        const holder = readRunLock(workspace);
        if (holder?.pid === process.pid) rmSync(path, { force: true });
      },
    };
  }
  throw new BatonError(`could not take the run lock ${path}`, {
    code: 'LOCKED',
    fix: `remove ${path} if no baton process is running`,
  });
}
