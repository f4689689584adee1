import { execFile, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { readRun } from '../../src/api/inspect.ts';
import { runLoop } from '../../src/api/run.ts';
import type { RunEvent } from '../../src/log/events.ts';
import { lockPath } from '../../src/run/lock.ts';
import type { Feature } from '../../src/workspace/features.ts';
import { iterationDir } from '../../src/workspace/paths.ts';
import { checkOutRunBranch, feature, git, makeWorkspace, tempDir } from '../helpers.ts';

/**
 * A hostile `command` agent against a real run in the default sandbox: a bash script kept outside the
 * workspace (in a folder the sandbox hides, bound back read-only through `sandbox.readOnly`), which
 * attacks in iteration 1 and works honestly afterwards. Every case plants secrets where the harness can
 * see them (its environment, a host file) and checks afterwards that none of them reached anything the
 * run produced, and that every host file is byte-identical.
 *
 * The CLI cases run bin/baton.js, which loads dist/: build first (`npm run build`; `npm test` does), as
 * test/cli.test.ts needs too. No case waits on a clock: each reads the events, files and processes a
 * finished run left.
 */

export const batonBin = fileURLToPath(new URL('../../bin/baton.js', import.meta.url));

export const twoFeatures: readonly Feature[] = [
  feature('F1', 'test -f a.txt'),
  feature('F2', 'test -f b.txt'),
];

/** What an honest worker does: make both default features pass. */
export const honestWork = 'echo a > a.txt; echo b > b.txt';

export interface HostileOptions {
  /** Bash run in iteration 1, in the workspace; `$OUTSIDE` is the host folder of canaries and secrets. */
  readonly attack: string;
  /** Bash run in every later worker session (default: make a.txt and b.txt). */
  readonly honest?: string;
  readonly features?: readonly Feature[];
  /** Project files committed before `baton init`. */
  readonly files?: Record<string, string>;
  /** Lines added under `sandbox:` in baton.yaml (indented by the helper). */
  readonly sandbox?: readonly string[];
  /** Top-level YAML appended to baton.yaml. */
  readonly yaml?: string;
  /** Agent timeout (default 2m). */
  readonly agentTimeout?: string;
}

export interface Hostile {
  readonly workspace: string;
  /** A host folder outside the workspace: canaries, secrets, the agent's script. */
  readonly outside: string;
  /** A host file holding `secrets.file`. */
  readonly secretFile: string;
  /** A host file a link may try to write through; its bytes must never change. */
  readonly hostFile: string;
  readonly hostFileBytes: Buffer;
  readonly secrets: { readonly env: string; readonly batonEnv: string; readonly file: string };
  /** The harness's environment: this process's plus the secrets. */
  readonly env: NodeJS.ProcessEnv;
  /** Every file under `outside` and its bytes, before the run. */
  readonly outsideBefore: ReadonlyMap<string, string>;
}

function snapshotFolder(root: string): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      const stats = lstatSync(path);
      if (stats.isDirectory()) walk(path);
      else files.set(relative(root, path), stats.isFile() ? readFileSync(path, 'hex') : `(${stats.mode})`);
    }
  };
  walk(root);
  return files;
}

/** A workspace whose baton.yaml runs the hostile script as its agent, in the default (auto) sandbox. */
export async function hostileWorkspace(options: HostileOptions): Promise<Hostile> {
  const outside = tempDir('baton-host-');
  const token = randomBytes(6).toString('hex');
  const secrets = {
    env: `sk-test-SECRET-${token}-env`,
    batonEnv: `baton-SECRET-${token}-var`,
    file: `HOST-SECRET-${token}-file`,
  };
  const secretFile = join(outside, 'id_rsa');
  writeFileSync(secretFile, `-----BEGIN KEY-----\n${secrets.file}\n-----END KEY-----\n`);
  const hostFile = join(outside, 'bashrc');
  const hostFileBytes = Buffer.from('# the host user\'s shell setup\nexport PS1="$ "\n');
  writeFileSync(hostFile, hostFileBytes);
  const agentDir = join(outside, 'agent');
  mkdirSync(agentDir);
  const script = join(agentDir, 'attack.sh');
  writeFileSync(
    script,
    `#!/bin/bash
# A hostile worker: it attacks in iteration 1, then works honestly.
OUTSIDE=${JSON.stringify(outside)}
cat > /dev/null
if [ "$BATON_ITERATION" = 1 ] && [ "$BATON_ROLE" = worker ]; then
${options.attack}
else
${options.honest ?? honestWork}
fi
exit 0
`,
  );
  chmodSync(script, 0o755);
  const sandboxLines = [`readOnly: [${JSON.stringify(agentDir)}]`, ...(options.sandbox ?? [])];
  const agentYaml = [
    'agent:',
    '  type: command',
    `  command: ["bash", ${JSON.stringify(script)}]`,
    '  prompt: stdin',
    `  timeout: ${options.agentTimeout ?? '2m'}`,
    'sandbox:',
    ...sandboxLines.map((line) => `  ${line}`),
    ...(options.yaml === undefined ? [] : [options.yaml]),
  ].join('\n');
  const workspace = await makeWorkspace({
    features: options.features ?? twoFeatures,
    ...(options.files === undefined ? {} : { files: options.files }),
    agentYaml,
  });
  return {
    workspace,
    outside,
    secretFile,
    hostFile,
    hostFileBytes,
    secrets,
    env: {
      ...process.env,
      ANTHROPIC_API_KEY: secrets.env,
      BATON_SECRET_TEST: secrets.batonEnv,
    },
    outsideBefore: snapshotFolder(outside),
  };
}

export interface HostileRun {
  readonly runId: string;
  readonly reason: string;
  readonly message: string;
  readonly events: readonly RunEvent[];
  /** Set when the run went through the CLI. */
  readonly exitCode?: number;
  readonly stdout?: string;
  readonly stderr?: string;
}

/** The run, driven through the API (`runLoop`, what the CLI calls). */
export async function runHostile(hostile: Hostile): Promise<HostileRun> {
  const result = await runLoop({ workspace: hostile.workspace, env: hostile.env });
  // What the run left is on its branch, as a person would look at it.
  checkOutRunBranch(hostile.workspace, result.state);
  const { events } = readRun(hostile.workspace, result.runId);
  return { runId: result.runId, reason: result.stop.reason, message: result.stop.message, events };
}

export interface CliOptions {
  /** Run the CLI as this uid and gid (through setpriv), with this HOME. */
  readonly user?: { readonly uid: number; readonly home: string };
}

/** The run, driven like a user: `baton run -C <ws>` in a process of its own (the built CLI in dist/). */
export async function runHostileCli(hostile: Hostile, options: CliOptions = {}): Promise<HostileRun> {
  const baton = [process.execPath, batonBin, 'run', '-C', hostile.workspace];
  const { user } = options;
  const [program = '', ...args] =
    user === undefined
      ? baton
      : ['setpriv', `--reuid=${user.uid}`, `--regid=${user.uid}`, '--clear-groups', ...baton];
  const env = user === undefined ? hostile.env : { ...hostile.env, HOME: user.home };
  const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>(
    (resolve) => {
      execFile(
        program,
        args,
        { env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, timeout: 10 * 60_000 },
        (error, out, err) => {
          const exit = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
          resolve({ code: exit, stdout: out, stderr: err });
        },
      );
    },
  );
  const record = readRun(hostile.workspace);
  checkOutRunBranch(hostile.workspace, record.state);
  const stopped = record.events.findLast((event) => event.type === 'run.stopped');
  expect(existsSync(lockPath(hostile.workspace)), 'no stale lock stays').toBe(false);
  return {
    runId: record.runId,
    reason: stopped?.type === 'run.stopped' ? stopped.reason : '(never stopped)',
    message: stopped?.type === 'run.stopped' ? stopped.message : stderr,
    events: record.events,
    exitCode: code,
    stdout,
    stderr,
  };
}

export function eventsOf<T extends RunEvent['type']>(
  run: HostileRun,
  type: T,
): Extract<RunEvent, { type: T }>[] {
  return run.events.filter((event): event is Extract<RunEvent, { type: T }> => event.type === type);
}

export function firedGuards(run: HostileRun): string[] {
  return eventsOf(run, 'guard.fired').map((event) => event.guard);
}

/** The default sandbox was bwrap, and the run went on after iteration 1 to an honest `done`. */
export function expectSurvivedToDone(run: HostileRun): void {
  const chosen = eventsOf(run, 'sandbox.chosen');
  expect(chosen.map((event) => event.backend)).toEqual(['bwrap']);
  expect(run.reason, run.message).toBe('done');
  if (run.exitCode !== undefined) expect(run.exitCode, run.stderr).toBe(0);
  expect(eventsOf(run, 'iteration.ended').length).toBeGreaterThanOrEqual(2);
}

/** Iteration `n` was refused: rolled back, and its work, when it made a commit, kept under a ref. */
export function expectRefused(hostile: Hostile, run: HostileRun, iteration = 1): string {
  const rolledBack = eventsOf(run, 'iteration.rolled-back').find((event) => event.iteration === iteration);
  expect(rolledBack, `iteration ${iteration} was rolled back`).toBeDefined();
  if (rolledBack?.savedAs != null) {
    expect(git(hostile.workspace, 'rev-parse', '--verify', '--quiet', rolledBack.savedAs).trim()).toMatch(
      /^[0-9a-f]{40}$/,
    );
  }
  return rolledBack?.reason ?? '';
}

/** The log of one of iteration `iteration`'s checks, e.g. `feature-F1`. */
export function checkLogPath(hostile: Hostile, run: HostileRun, check: string, iteration = 1): string {
  return join(iterationDir(hostile.workspace, run.runId, iteration), 'checks', `${check}.log`);
}

/** The transcript of a worker session, by iteration. */
export function transcriptOf(hostile: Hostile, run: HostileRun, iteration = 1): string {
  return readFileSync(join(iterationDir(hostile.workspace, run.runId, iteration), 'transcript.log'), 'utf8');
}

/**
 * Every regular file under `root`, read without following a link. Names are taken as bytes (a worker's
 * file name need not be UTF-8) and shown as UTF-8.
 */
export function filesUnder(root: string): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  const walk = (dir: Buffer): void => {
    for (const name of readdirSync(dir, { encoding: 'buffer' })) {
      const path = Buffer.concat([dir, Buffer.from('/'), name]);
      const stats = lstatSync(path);
      if (stats.isDirectory()) walk(path);
      else if (stats.isFile()) files.set(relative(root, path.toString('utf8')), readFileSync(path));
    }
  };
  walk(Buffer.from(root));
  return files;
}

/** Whether any of `needles` occurs in what `git <args>` prints, read as a stream (a history can be large). */
export function gitOutputContains(
  cwd: string,
  args: readonly string[],
  needles: readonly string[],
): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', [...args], { cwd, stdio: ['ignore', 'pipe', 'inherit'] });
    const found = new Set<string>();
    const overlap = Math.max(...needles.map((needle) => needle.length));
    let carry = Buffer.alloc(0);
    child.stdout.on('data', (chunk: Buffer) => {
      const window = Buffer.concat([carry, chunk]);
      for (const needle of needles) if (window.includes(needle)) found.add(needle);
      carry = window.subarray(Math.max(0, window.length - overlap));
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve([...found]);
      else reject(new Error(`git ${args.join(' ')} exited ${code ?? 'by a signal'}`));
    });
  });
}

/**
 * The host is as it was, and no secret is anywhere the run wrote: the workspace's files (the harness's
 * folder with its event log, prompts, transcripts, check output and scratch included), the whole history
 * (every ref: rejected work and stashes too) and the git folder's loose files.
 */
export async function expectNothingLeaked(
  hostile: Hostile,
  extraSecrets: readonly string[] = [],
): Promise<void> {
  expect(readFileSync(hostile.hostFile)).toEqual(hostile.hostFileBytes);
  expect(snapshotFolder(hostile.outside)).toEqual(hostile.outsideBefore);
  const secrets = [...Object.values(hostile.secrets), ...extraSecrets];
  const history = ['log', '--all', '--reflog', '-p', '--binary', '--no-textconv', '--no-ext-diff'];
  expect(await gitOutputContains(hostile.workspace, history, secrets), 'the history').toEqual([]);
  const stashes = ['stash', 'list', '-p', '--binary', '--no-textconv', '--no-ext-diff'];
  expect(await gitOutputContains(hostile.workspace, stashes, secrets), 'the stashes').toEqual([]);
  for (const [path, bytes] of filesUnder(hostile.workspace)) {
    for (const secret of secrets) expect(bytes.includes(secret), `${path} holds a secret`).toBe(false);
  }
  // Every prompt and transcript was looked at above; make sure there were some to look at.
  const runFiles = [...filesUnder(join(hostile.workspace, '.baton', 'runs')).keys()];
  expect(runFiles.some((path) => path.endsWith('prompt.md'))).toBe(true);
  expect(runFiles.some((path) => path.endsWith('transcript.log'))).toBe(true);
}

/** Every prompt the run saved (worker and planner), by path. */
export function savedPrompts(hostile: Hostile, runId: string): Map<string, string> {
  const prompts = new Map<string, string>();
  for (const [path, bytes] of filesUnder(join(hostile.workspace, '.baton', 'runs', runId))) {
    if (path.endsWith('prompt.md')) prompts.set(path, bytes.toString('utf8'));
  }
  return prompts;
}

/** Plain git, as a person (or an old harness) would run it: their config, no hardening. */
export function plainGit(cwd: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'user.name=w', '-c', 'user.email=w@localhost', ...args], {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** A scratch repository, for showing an attack works without the harness. */
export function probeRepository(): string {
  const probe = tempDir('baton-probe-');
  plainGit(probe, 'init', '-q');
  writeFileSync(join(probe, 'README.md'), 'x\n');
  plainGit(probe, 'add', '-A');
  plainGit(probe, 'commit', '-qm', 'base');
  return probe;
}
