// What a CLI command costs to start (issue 18, a fast CLI): `baton --version` and `baton status` on a
// workspace with a finished run (the offline demo's), as `node bin/baton.js` with Node 24, against
// `git status` in the same workspace. Interleaved rounds, medians, ratios from one run; asserts nothing.
//
//   node bench/cli-start.ts          (npm run bench runs it; it needs `npm run build` first)
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runDemo } from '../src/index.ts';
import { median, ratio } from './stats.ts';

const rounds = 15;
const targetMs = 250;
const bin = fileURLToPath(new URL('../bin/baton.js', import.meta.url));

function timed(command: string, args: readonly string[], cwd: string): number {
  const started = performance.now();
  const result = spawnSync(command, args, { cwd, encoding: 'utf8' });
  const elapsed = performance.now() - started;
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed: ${result.stderr}`);
  return elapsed;
}

async function main(): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'baton-bench-cli-'));
  try {
    const demo = await runDemo({ directory: root });
    const workspace = demo.workspace;
    const commands: Record<string, () => number> = {
      'baton --version': () => timed(process.execPath, [bin, '--version'], workspace),
      'baton status': () => timed(process.execPath, [bin, 'status'], workspace),
      'git status': () => timed('git', ['status', '--short'], workspace),
    };
    const times: Record<string, number[]> = {};
    for (const name of Object.keys(commands)) times[name] = [];
    commands['baton status']?.(); // warm the page cache
    for (let round = 0; round < rounds; round += 1) {
      for (const [name, run] of Object.entries(commands)) times[name]?.push(run());
    }
    const version = median(times['baton --version'] ?? []);
    const status = median(times['baton status'] ?? []);
    const git = median(times['git status'] ?? []);
    const verdict = (ms: number): string => (ms < targetMs ? 'met' : 'NOT MET');
    const rows = [
      `| command (median of ${rounds}, interleaved) | ms | vs git status |`,
      '|---|---|---|',
      `| baton --version | ${version.toFixed(0)} (target under ${targetMs}: ${verdict(version)}) | ${ratio(version, git).toFixed(1)}x |`,
      `| baton status (a finished run) | ${status.toFixed(0)} (target under ${targetMs}: ${verdict(status)}) | ${ratio(status, git).toFixed(1)}x |`,
      `| git status | ${git.toFixed(1)} | 1x |`,
    ];
    process.stdout.write(
      `\nCLI start-up (${execFileSync(process.execPath, ['--version'], { encoding: 'utf8' }).trim()})\n${rows.join('\n')}\n`,
    );
    mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
    writeFileSync(
      new URL('./results/cli-start.json', import.meta.url),
      `${JSON.stringify({ rounds, targetMs, versionMs: version, statusMs: status, gitStatusMs: git }, null, 2)}\n`,
    );
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

await main();
