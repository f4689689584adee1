import { chmodSync, chownSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CommandLine } from '../config/resolve.ts';
import type { SandboxBackendName, SandboxSettings } from '../config/sandbox-settings.ts';
import { BatonError, exitCodes } from '../errors.ts';
import { sandboxBackend, sandboxBackends } from './backends.ts';
import type { SandboxBackend } from './define-backend.ts';
import { effectiveIdentity } from './effective-identity.ts';
import { startAllowlistProxy, type ProxyOptions, type RunningProxy } from './network-proxy.ts';

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
  /** Release what the wrap created (cgroups, ending what is left in them); call once the process has ended. */
  readonly release: () => void;
}

/**
 * Runs commands with least privilege. Every process the harness starts for a worker or a check is
 * wrapped by the sandbox it is handed (never one it picks itself); the backends are in sandbox/backends.ts.
 */
export interface Sandbox {
  readonly backend: SandboxBackendName;
  readonly network: 'none' | 'allowlist' | 'host';
  wrap(request: WrapRequest): WrappedCommand;
  /** Stop what the sandbox runs beside the workers (the allowlist proxy). */
  close(): Promise<void>;
}

export type { SandboxSettings } from '../config/sandbox-settings.ts';
export { noSandbox } from './none-backend.ts';
export { proxyPortInside, toolPaths } from './bwrap-backend.ts';

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

const noneWarning =
  'workers run without a sandbox (sandbox.backend: none): they can read your home folder and reach the network';

/**
 * The backend baton.yaml asks for: `none` by name; `auto` the first isolating backend that works here
 * (else none, with a warning that says why). A named backend that cannot work here is an error.
 */
export function chooseSandboxBackend(settings: Pick<SandboxSettings, 'backend' | 'user'>): {
  backend: SandboxBackend;
  warning: string | undefined;
} {
  // Who an isolating backend runs workers as, said when it is bwrap's uid 0 (sandbox/effective-identity.ts).
  const identityWarning = (backend: SandboxBackend): string | undefined =>
    backend.name === 'bwrap' ? effectiveIdentity(settings).warning : undefined;
  if (settings.backend !== 'auto') {
    const backend = sandboxBackend(settings.backend);
    if (!backend.isolates) return { backend, warning: noneWarning };
    const availability = backend.available(settings);
    if (availability.works) return { backend, warning: identityWarning(backend) };
    throw new BatonError(`the ${backend.name} sandbox is required but unavailable: ${availability.detail}`, {
      code: 'SANDBOX_UNAVAILABLE',
      fix: availability.fix ?? `install what the ${backend.name} backend needs`,
      exitCode: exitCodes.usage,
    });
  }
  const unavailable: string[] = [];
  for (const backend of Object.values(sandboxBackends)) {
    if (!backend.isolates) continue;
    const availability = backend.available(settings);
    if (availability.works) return { backend, warning: identityWarning(backend) };
    unavailable.push(`${availability.detail}; fix: ${availability.fix ?? ''}`);
  }
  return { backend: sandboxBackends.none, warning: `no sandbox: ${unavailable.join('; ')}` };
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
  const { backend, warning } = chooseSandboxBackend(settings);
  if (backend.routesThroughProxy !== true || settings.network !== 'allowlist') {
    return { sandbox: backend.create({ workspace, settings, proxy: undefined }), warning };
  }
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
  const { identity } = effectiveIdentity(settings);
  if (identity !== undefined) {
    // The sandbox's uid connects to the socket (write permission on it) through the folder (enter only).
    chownSync(socketDir, 0, identity.gid);
    chmodSync(socketDir, 0o750);
    chownSync(proxy.socketPath, 0, identity.gid);
    chmodSync(proxy.socketPath, 0o660);
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
  return { sandbox: backend.create({ workspace, settings, proxy: closing }), warning };
}

/** The sandbox baton.yaml asks for, without the proxy (`network: allowlist` then means no network). */
export function createSandbox(
  workspace: string,
  settings: SandboxSettings,
): { sandbox: Sandbox; warning: string | undefined } {
  const { backend, warning } = chooseSandboxBackend(settings);
  return { sandbox: backend.create({ workspace, settings, proxy: undefined }), warning };
}
