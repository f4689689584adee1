import { homedir } from 'node:os';
import { basename, delimiter, dirname, isAbsolute, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import type { CommandLine } from '../config/resolve.ts';
import { BatonError, exitCodes } from '../errors.ts';
import { bwrapArguments, detectBwrap } from './bwrap.ts';
import { createCgroup, sweepStaleCgroups } from './cgroup.ts';
import { filterEnv, type SandboxLimits } from './policy.ts';

export interface WrapRequest {
  readonly command: CommandLine;
  /** The environment the command would get unsandboxed; the sandbox keeps only what it allows. */
  readonly env: NodeJS.ProcessEnv;
  /** Extra paths to write (the session's scratch folder) and to read (a script outside the workspace). */
  readonly writable?: readonly string[];
  readonly readOnly?: readonly string[];
  /** Extra variables allowed through for this command only (an agent's own credential). */
  readonly passEnv?: readonly string[];
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
  wrap(request: WrapRequest): WrappedCommand;
}

export interface SandboxSettings {
  readonly backend: 'auto' | 'bwrap' | 'none';
  readonly passEnv: readonly string[];
  readonly readOnly: readonly string[];
  readonly limits: SandboxLimits;
}

function argv(command: CommandLine): string[] {
  return typeof command === 'string' ? ['/bin/sh', '-c', command] : [...command];
}

export const noSandbox: Sandbox = {
  backend: 'none',
  wrap: (request) => ({ command: argv(request.command), env: request.env, release: () => undefined }),
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

function bwrapSandbox(workspace: string, settings: SandboxSettings): Sandbox {
  const home = homedir();
  const hidden = [...new Set(['/tmp', '/run', '/var/tmp', '/home', '/root', home])];
  const tools = toolPaths(hidden, process.env.PATH);
  return {
    backend: 'bwrap',
    wrap: (request) => {
      const env = filterEnv(request.env, [...settings.passEnv, ...(request.passEnv ?? [])]);
      env.HOME = home;
      const args = bwrapArguments(
        {
          workspace,
          readOnlyInside: ['.git', '.baton'],
          readOnly: [
            ...tools,
            ...toolPaths(hidden, request.env.PATH),
            ...settings.readOnly,
            ...(request.readOnly ?? []),
          ],
          writable: [...(request.writable ?? [])],
          hidden,
          env,
          limits: settings.limits,
        },
        argv(request.command),
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
    return { sandbox: bwrapSandbox(workspace, settings), warning: undefined };
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
