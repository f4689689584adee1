/**
 * A fast CLI (issue 18, deliver 4): each command loads only what it uses. Asserted on what the process
 * loads (a module hook records every URL), never on how long it took: `npm run bench` (bench/cli-start.ts)
 * measures the time.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { git, tempDir } from './helpers.ts';

const bin = fileURLToPath(new URL('../bin/baton.js', import.meta.url));

/** Runs `baton ...args` in `cwd`: its exit status and every module URL the process loaded. */
function modulesLoadedBy(cwd: string, args: readonly string[]): { status: number | null; urls: string[] } {
  const dir = tempDir('baton-cli-start-');
  const hook = join(dir, 'record.mjs');
  const record = join(dir, 'loaded.txt');
  writeFileSync(
    hook,
    [
      "import { registerHooks } from 'node:module';",
      "import { writeFileSync } from 'node:fs';",
      'const seen = new Set();',
      'registerHooks({ load(url, context, next) { seen.add(url); return next(url, context); } });',
      `process.on('exit', () => writeFileSync(${JSON.stringify(record)}, [...seen].join('\\n')));`,
    ].join('\n'),
  );
  const result = spawnSync(process.execPath, ['--import', hook, bin, ...args], { cwd, encoding: 'utf8' });
  return { status: result.status, urls: readFileSync(record, 'utf8').split('\n') };
}

/** What only running, judging or serving needs: none of it for a look at a run. */
const heavy = [
  /\/dist\/(loop|agents|parallel|distributed|dashboard|sandbox|core|checks|guards)\//,
  /node_modules\/(bullmq|ioredis|ai|@ai-sdk|@opentelemetry|hono|@hono|yaml)\//,
];

function heavyIn(urls: readonly string[]): string[] {
  return urls.filter((url) => heavy.some((pattern) => pattern.test(url)));
}

describe('what a CLI command loads', () => {
  it('`baton --version` loads the CLI shell and commander, nothing of the harness', () => {
    const { status, urls } = modulesLoadedBy(tempDir(), ['--version']);
    expect(status).toBe(0);
    expect(heavyIn(urls)).toEqual([]);
    expect(urls.filter((url) => url.includes('/dist/')).length).toBeLessThan(20);
  });

  it('`baton status` reads the run without the loop, the agents, the sandbox, the queue or the dashboard', () => {
    const workspace = tempDir();
    git(workspace, 'init', '-q');
    const { status, urls } = modulesLoadedBy(workspace, ['status']);
    expect(status).toBe(0);
    expect(urls.some((url) => url.includes('/dist/api/inspect.js'))).toBe(true);
    expect(heavyIn(urls)).toEqual([]);
  });

  it('`baton run` does load the loop (the hook sees what is loaded)', () => {
    // The same hook on a command that needs the harness: proof the filter above can fail. No
    // baton.yaml: the run is refused, after its command has loaded what it runs with.
    const workspace = tempDir();
    git(workspace, 'init', '-q');
    const { status, urls } = modulesLoadedBy(workspace, ['run']);
    expect(status).not.toBe(0);
    expect(heavyIn(urls).length).toBeGreaterThan(0);
  });
});
