import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runProcess } from '../src/util/run-process.ts';
import { isProcessAlive } from '../src/util/process-alive.ts';
import { tempDir } from './helpers.ts';

describe('child processes', () => {
  it('kills the whole process group on timeout, background children included', async () => {
    const dir = tempDir();
    const result = await runProcess({
      command: 'sleep 300 & echo $! > child.pid; echo started; sleep 300',
      cwd: dir,
      timeoutMs: 300,
      killGraceMs: 200,
    });
    expect(result.timedOut).toBe(true);
    expect(result.output).toContain('started');
    expect(isProcessAlive(Number(readFileSync(join(dir, 'child.pid'), 'utf8')))).toBe(false);
  });

  it('reaps what a command left running after it exited normally', async () => {
    const dir = tempDir();
    const result = await runProcess({
      command: 'sleep 300 >/dev/null 2>&1 & echo $! > child.pid; exit 3',
      cwd: dir,
    });
    expect(result.exitCode).toBe(3);
    expect(isProcessAlive(Number(readFileSync(join(dir, 'child.pid'), 'utf8')))).toBe(false);
  });

  it('stops on abort, saves the output, closes stdin and keeps only a bounded tail', async () => {
    const dir = tempDir();
    const controller = new AbortController();
    setTimeout(() => {
      controller.abort();
    }, 200);
    const outputFile = join(dir, 'out.log');
    const result = await runProcess({
      command: 'cat; head -c 100000 /dev/zero | tr "\\0" x; sleep 300',
      cwd: dir,
      signal: controller.signal,
      outputFile,
      keepOutputChars: 1_000,
    });
    expect(result.aborted).toBe(true);
    expect(result.output.length).toBe(1_000);
    expect(readFileSync(outputFile, 'utf8').length).toBe(100_000);
  });

  it('reports a program that does not exist', async () => {
    const result = await runProcess({ command: ['baton-definitely-missing'], cwd: tempDir() });
    expect(result.spawnError).toContain('ENOENT');
  });
});
