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
const treeFiles = 5000;

/** Times the wrap and the start of /bin/true; a session's wrap (`session`) hands it a scratch folder. */
async function timeStarts(
  workspace: string,
  backend: 'bwrap' | 'none',
  session?: string,
  count = runs,
): Promise<number[]> {
  const { sandbox } = createSandbox(workspace, {
    backend,
    network: 'none',
    allow: [],
    passEnv: [],
    readOnly: [],
    user: 'auto',
    limits: defaultLimits,
  });
  const times: number[] = [];
  for (let index = 0; index < count; index += 1) {
    // The wrap is timed too: as root with a sandbox uid it gives the tree to the sandbox's group.
    const started = performance.now();
    const wrapped = sandbox.wrap({
      command: ['/bin/true'],
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
      ...(session === undefined ? {} : { writable: [session] }),
    });
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
    // A session's wrap walks the tree again (sandbox/grant.ts, as root with a sandbox uid): in a
    // project of `treeFiles` files, against a check's wrap of the same tree.
    const big = join(workspace, 'big');
    for (let folder = 0; folder < treeFiles / 50; folder += 1) {
      mkdirSync(join(big, 'src', `m${folder}`), { recursive: true });
      for (let file = 0; file < 50; file += 1) {
        writeFileSync(join(big, 'src', `m${folder}`, `f${file}.ts`), 'x\n');
      }
    }
    mkdirSync(join(big, '.git'));
    const session = mkdtempSync(join(tmpdir(), 'baton-bench-session-'));
    const checkInBig = median(await timeStarts(big, 'bwrap', undefined, 10));
    const sessionInBig = median(await timeStarts(big, 'bwrap', session, 10));
    rmSync(session, { recursive: true, force: true });
    const rows = [
      '| start of /bin/true (median of 40) | ms |',
      '|---|---|',
      `| unsandboxed | ${plain.toFixed(1)} |`,
      `| bwrap sandbox (+ prlimit, cgroups when available) | ${sandboxed.toFixed(1)} |`,
      `| overhead | ${overhead.toFixed(1)} (target under ${targetMs}: ${overhead < targetMs ? 'met' : 'NOT MET'}) |`,
      `| check in a ${treeFiles}-file tree (median of 10) | ${checkInBig.toFixed(1)} |`,
      `| session in it, tree given to the sandbox group again (median of 10) | ${sessionInBig.toFixed(1)} (${(sessionInBig / checkInBig).toFixed(1)}x the check) |`,
    ];
    process.stdout.write(`\nsandbox start overhead\n${rows.join('\n')}\n`);
    mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
    writeFileSync(
      new URL('./results/sandbox.json', import.meta.url),
      `${JSON.stringify({ runs, plainMs: plain, sandboxedMs: sandboxed, overheadMs: overhead, targetMs, treeFiles, checkInBigMs: checkInBig, sessionInBigMs: sessionInBig }, null, 2)}\n`,
    );
  } finally {
    rmSync(workspace, { recursive: true, force: true });
  }
}

await main();
