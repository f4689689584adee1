import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * The two functions of a test runner a contract suite needs, passed in (vitest's `describe` and `it`
 * fit; so do jest's or mocha's), so that `baton/testing` depends on no test runner at run time. The
 * suites assert with node:assert, which every runner reports.
 */
export interface ContractTestApi {
  readonly describe: (name: string, body: () => void) => void;
  readonly it: (name: string, body: () => Promise<void>, timeoutMs?: number) => void;
}

/** Run `body` with a fresh temporary folder, removed afterwards whatever happened. */
export async function withTempFolder<T>(prefix: string, body: (folder: string) => Promise<T>): Promise<T> {
  const folder = mkdtempSync(join(tmpdir(), prefix));
  try {
    return await body(folder);
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

/** Wait until `probe` holds, looking every 20 ms, failing after `timeoutMs` with what was awaited. */
export async function waitUntil(what: string, probe: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!probe()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
