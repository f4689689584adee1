import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { basename, delimiter, dirname, isAbsolute, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import type { CommandLine } from '../config/resolve.ts';
import { BatonError, exitCodes } from '../errors.ts';
import { bwrapArguments, detectBwrap } from './bwrap.ts';
import { createCgroup, sweepStaleCgroups } from './cgroup.ts';
import { startAllowlistProxy, type ProxyOptions, type RunningProxy } from './network-proxy.ts';
import type { SandboxSettings } from '../config/sandbox-settings.ts';
import { filterEnv } from './policy.ts';

export interface WrapRequest {
  readonly command: CommandLine;
  /** The environment the command would get unsandboxed; the sandbox keeps only what it allows. */
  readonly env: NodeJS.ProcessEnv;
  /** Extra paths to write (the session's scratch folder) and to read (a script outside the workspace). */
  readonly writable?: readonly string[];
  readonly readOnly?: readonly string[];
  /** Extra variables allowed through for this command only (an agent's own credential). */
  readonly passEnv?: readonly string[];
  /**
   * The folder the command works in and may write (default: the sandbox's workspace). A task's git
   * worktree, for parallel workers: the main workspace's .git stays readable, nothing else of it writable.
   */
  readonly workspace?: string;
  /** Folders of that workspace the command may write (relative); absent: all of it. */
  readonly writableInside?: readonly string[];
}

export interface WrappedCommand {
  readonly command: readonly string[];
  readonly env: NodeJS.ProcessEnv;
  /** Release what the wrap created (cgroups); call once the process has ended. */
  readonly release: () => void;
}

/** Runs commands with least privilege. One interface, two backends: bwrap, and none (no isolation). */
export interface Sandbox {
  readonly backend: 'bwrap' | 'none';
  readonly network: 'none' | 'allowlist' | 'host';
  wrap(request: WrapRequest): WrappedCommand;
  /** Stop what the sandbox runs beside the workers (the allowlist proxy). */
  close(): Promise<void>;
}

export type { SandboxSettings } from '../config/sandbox-settings.ts';

/** The port the bridge listens on inside the sandbox; HTTP(S)_PROXY point at it. */
export const proxyPortInside = 3128;

function proxyBridgePath(): string {
  const extension = import.meta.url.endsWith('.ts') ? 'ts' : 'js';
  return fileURLToPath(new URL(`./proxy-bridge.${extension}`, import.meta.url));
}

function argv(command: CommandLine): string[] {
  return typeof command === 'string' ? ['/bin/sh', '-c', command] : [...command];
}

export const noSandbox: Sandbox = {
  backend: 'none',
  network: 'host',
  wrap: (request) => ({ command: argv(request.command), env: request.env, release: () => undefined }),
  close: () => Promise.resolve(),
};

function isInside(path: string, folder: string): boolean {
  const relation = relative(folder, path);
  return relation === '' || (!relation.startsWith('..') && !isAbsolute(relation));
}

/**
 * What must stay readable although it sits in a hidden folder: baton's own installation (its node binary
 * and its scripts, e.g. a checkout under /tmp) and the installation prefixes on PATH (a node or CLI
 * installed under the home folder: for `…/bin` the prefix, so its libraries come along, not the home).
 */
export function toolPaths(hidden: readonly string[], pathVariable: string | undefined): string[] {
  const packageRoot = fileURLToPath(new URL('../..', import.meta.url));
  const candidates = [packageRoot, dirname(process.execPath)];
  for (const entry of (pathVariable ?? '').split(delimiter)) {
    if (entry === '' || !isAbsolute(entry)) continue;
    candidates.push(basename(entry) === 'bin' ? dirname(entry) : entry);
  }
  return [...new Set(candidates)].filter((path) =>
    hidden.some((folder) => isInside(path, folder) && path !== folder),
  );
}

function bwrapSandbox(
  workspace: string,
  settings: SandboxSettings,
  proxy: RunningProxy | undefined,
): Sandbox {
  const home = homedir();
  const hidden = [...new Set(['/tmp', '/run', '/var/tmp', '/home', '/root', home])];
  const tools = toolPaths(hidden, process.env.PATH);
  return {
    backend: 'bwrap',
    network: proxy === undefined ? 'none' : 'allowlist',
    close: () => proxy?.close() ?? Promise.resolve(),
    wrap: (request) => {
      const root = request.workspace ?? workspace;
      const env = filterEnv(request.env, [...settings.passEnv, ...(request.passEnv ?? [])]);
      env.HOME = home;
      let inner = argv(request.command);
      const writable = [...(request.writable ?? [])];
      const readOnly: string[] = [];
      if (proxy !== undefined) {
        // The proxy's socket is the only way out; a bridge inside turns it into 127.0.0.1:3128.
        const url = `http://127.0.0.1:${proxyPortInside}`;
        Object.assign(env, {
          HTTP_PROXY: url,
          HTTPS_PROXY: url,
          http_proxy: url,
          https_proxy: url,
          NO_PROXY: '',
          NODE_USE_ENV_PROXY: '1',
        });
        // Read-only: a worker can neither plant files in it (they would stay on the host) nor replace the
        // socket other sandboxes connect to. Connecting needs write permission on the socket itself,
        // which a read-only mount does not take away.
        readOnly.push(dirname(proxy.socketPath));
        inner = [process.execPath, proxyBridgePath(), proxy.socketPath, String(proxyPortInside), ...inner];
      }
      const args = bwrapArguments(
        {
          workspace: root,
          readOnlyInside: ['.git', '.baton'],
          ...(request.writableInside === undefined ? {} : { writableInside: request.writableInside }),
          readOnly: [
            // A worktree's git data lives in the main repository: readable, so `git status` works there.
            ...(root === workspace ? [] : [join(workspace, '.git')]),
            ...tools,
            ...toolPaths(hidden, request.env.PATH),
            ...settings.readOnly,
            ...(request.readOnly ?? []),
            ...readOnly,
          ],
          writable,
          hidden,
          env,
          limits: settings.limits,
        },
        inner,
      );
      const cgroup = createCgroup(`baton-${randomBytes(5).toString('hex')}`, settings.limits);
      // With cgroups, a tiny shell joins them and then becomes bwrap (exec keeps the pid the harness knows).
      const command =
        cgroup === null
          ? ['bwrap', ...args]
          : [
              '/bin/sh',
              '-c',
              `for f in ${cgroup.procsFiles.map((file) => `'${file}'`).join(' ')}; do echo $$ > "$f"; done; exec "$@"`,
              'sh',
              'bwrap',
              ...args,
            ];
      return { command, env: { PATH: process.env.PATH ?? '/usr/bin:/bin' }, release: () => cgroup?.remove() };
    },
  };
}

const proxyFolderPrefix = 'baton-proxy-';

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Remove the proxy folders of harnesses that died without closing their sandbox (named by their pid). */
export function sweepStaleProxyFolders(folder: string = tmpdir()): void {
  let entries: string[];
  try {
    entries = readdirSync(folder);
  } catch {
    return;
  }
  for (const entry of entries) {
    const match = new RegExp(`^${proxyFolderPrefix}(\\d+)-[A-Za-z0-9]{6}$`).exec(entry);
    if (match === null || processAlive(Number(match[1]))) continue;
    rmSync(join(folder, entry), { recursive: true, force: true });
  }
}

export interface ProxySeams {
  /** Where an allowed name connects instead of resolving it (tests map a name to a loopback server). */
  readonly overrides?: ProxyOptions['overrides'];
  /** How names resolve (tests answer with the addresses they need; no real DNS). */
  readonly resolve?: ProxyOptions['resolve'];
}

/**
 * The sandbox baton.yaml asks for, with `network: allowlist` starting the harness's proxy on a socket in
 * a folder of its own; `close()` stops the proxy and removes the folder (and so does the harness's exit,
 * if nobody called it; a later harness sweeps the folders of one that was killed).
 */
export async function prepareSandbox(
  workspace: string,
  settings: SandboxSettings,
  seams: ProxySeams = {},
): Promise<{ sandbox: Sandbox; warning: string | undefined }> {
  const chosen = createSandbox(workspace, settings);
  if (chosen.sandbox.backend !== 'bwrap' || settings.network !== 'allowlist') return chosen;
  sweepStaleProxyFolders();
  const socketDir = mkdtempSync(join(tmpdir(), `${proxyFolderPrefix}${process.pid}-`));
  const removeFolder = (): void => {
    rmSync(socketDir, { recursive: true, force: true });
  };
  process.once('exit', removeFolder);
  let proxy: RunningProxy;
  try {
    proxy = await startAllowlistProxy({
      socketPath: join(socketDir, 'proxy.sock'),
      allow: settings.allow,
      ...seams,
    });
  } catch (error) {
    process.removeListener('exit', removeFolder);
    removeFolder();
    throw error;
  }
  const closing: RunningProxy = {
    socketPath: proxy.socketPath,
    refused: proxy.refused,
    close: async () => {
      await proxy.close();
      process.removeListener('exit', removeFolder);
      removeFolder();
    },
  };
  return { sandbox: bwrapSandbox(workspace, settings, closing), warning: chosen.warning };
}

/** The sandbox baton.yaml asks for; `auto` is bwrap where it works. An explicit bwrap that cannot work is an error. */
export function createSandbox(
  workspace: string,
  settings: SandboxSettings,
): { sandbox: Sandbox; warning: string | undefined } {
  if (settings.backend === 'none') {
    return {
      sandbox: noSandbox,
      warning:
        'workers run without a sandbox (sandbox.backend: none): they can read your home folder and reach the network',
    };
  }
  const detection = detectBwrap();
  if (detection.works) {
    sweepStaleCgroups();
    return { sandbox: bwrapSandbox(workspace, settings, undefined), warning: undefined };
  }
  if (settings.backend === 'bwrap') {
    throw new BatonError(`the bwrap sandbox is required but unavailable: ${detection.detail}`, {
      code: 'SANDBOX_UNAVAILABLE',
      fix: detection.fix ?? 'install bubblewrap',
      exitCode: exitCodes.usage,
    });
  }
  return { sandbox: noSandbox, warning: `no sandbox: ${detection.detail}; fix: ${detection.fix ?? ''}` };
}
