// What starting a worker in the bwrap sandbox costs, against starting it unsandboxed.
//   node bench/sandbox-start.ts        (npm run bench runs it after the iteration benchmark)
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { detectBwrap } from '../src/sandbox/bwrap.ts';
import { defaultLimits } from '../src/sandbox/policy.ts';
import { createSandbox } from '../src/sandbox/sandbox.ts';
import { runProcess } from '../src/util/run-process.ts';
import { median } from './stats.ts';

const runs = 40;
const targetMs = 50;

async function timeStarts(workspace: string, backend: 'bwrap' | 'none'): Promise<number[]> {
  const { sandbox } = createSandbox(workspace, {
    backend,
    network: 'none',
    allow: [],
    passEnv: [],
    readOnly: [],
    limits: defaultLimits,
  });
  const times: number[] = [];
  for (let index = 0; index < runs; index += 1) {
    const wrapped = sandbox.wrap({
      command: ['/bin/true'],
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
    });
    const started = performance.now();
    await runProcess({ command: wrapped.command, cwd: workspace, env: wrapped.env });
    times.push(performance.now() - started);
    wrapped.release();
  }
  return times;
}

async function main(): Promise<void> {
  const detection = detectBwrap();
  if (!detection.works) {
    process.stdout.write(`sandbox start: skipped (${detection.detail}; ${detection.fix ?? ''})\n`);
    return;
  }
  const workspace = mkdtempSync(join(tmpdir(), 'baton-bench-sandbox-'));
  try {
    mkdirSync(join(workspace, '.git'));
    writeFileSync(join(workspace, 'README.md'), 'x\n');
    await timeStarts(workspace, 'bwrap'); // warm the page cache
    const plain = median(await timeStarts(workspace, 'none'));
    const sandboxed = median(await timeStarts(workspace, 'bwrap'));
    const overhead = sandboxed - plain;
    const rows = [
      '| start of /bin/true (median of 40) | ms |',
      '|---|---|',
      `| unsandboxed | ${plain.toFixed(1)} |`,
      `| bwrap sandbox (+ prlimit, cgroups when available) | ${sandboxed.toFixed(1)} |`,
      `| overhead | ${overhead.toFixed(1)} (target under ${targetMs}: ${overhead < targetMs ? 'met' : 'NOT MET'}) |`,
    ];
    process.stdout.write(`\nsandbox start overhead\n${rows.join('\n')}\n`);
    mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
    writeFileSync(
      new URL('./results/sandbox.json', import.meta.url),
      `${JSON.stringify({ runs, plainMs: plain, sandboxedMs: sandboxed, overheadMs: overhead, targetMs }, null, 2)}\n`,
    );
  } finally {
    rmSync(workspace, { recursive: true, force: true });
  }
}

await main();
