import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Sandbox, WrapRequest } from '../sandbox/sandbox.ts';

/** A sandbox that records what it was asked to wrap, and which processes really started through it. */
export interface RecordingSandbox extends Sandbox {
  /** Every wrap request, in order. */
  readonly requests: readonly WrapRequest[];
  /** How many wrapped commands were released (each wrap must be, once its process ended). */
  readonly releases: number;
  /**
   * The pids of the processes started from a wrapped command: each writes its own pid, then becomes the
   * command, so a pid here proves the caller ran what the sandbox returned, not the command it was given.
   * Each is its process group's leader when the caller starts it as one (baton always does).
   */
  startedPids(): number[];
}

/**
 * A test double for proving that code runs its processes in the sandbox it was handed: it delegates to
 * `inner` (the explicit choice of what really confines the process; `noSandbox` for none) and records.
 */
export function createRecordingSandbox(inner: Sandbox, folder: string): RecordingSandbox {
  const requests: WrapRequest[] = [];
  const pidFile = join(folder, `recording-sandbox-${Math.random().toString(36).slice(2)}.pids`);
  let releases = 0;
  return {
    backend: inner.backend,
    network: inner.network,
    requests,
    get releases() {
      return releases;
    },
    startedPids: () =>
      existsSync(pidFile)
        ? readFileSync(pidFile, 'utf8')
            .split('\n')
            .filter((line) => line !== '')
            .map(Number)
        : [],
    wrap: (request) => {
      requests.push(request);
      const wrapped = inner.wrap(request);
      return {
        command: ['/bin/sh', '-c', 'echo $$ >> "$0" && exec "$@"', pidFile, ...wrapped.command],
        env: wrapped.env,
        release: () => {
          releases += 1;
          wrapped.release();
        },
      };
    },
    close: () => inner.close(),
  };
}
