import { randomBytes } from 'node:crypto';
import { homedir } from 'node:os';
import { basename, delimiter, dirname, isAbsolute, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bwrapArguments, detectBwrap } from './bwrap.ts';
import { createCgroup, sweepStaleCgroups } from './cgroup.ts';
import { commandArgv } from './command-argv.ts';
import { defineSandboxBackend, type SandboxBackendInput } from './define-backend.ts';
import { filterEnv } from './policy.ts';
import type { Sandbox } from './sandbox.ts';

/** The port the bridge listens on inside the sandbox; HTTP(S)_PROXY point at it. */
export const proxyPortInside = 3128;

function proxyBridgePath(): string {
  const extension = import.meta.url.endsWith('.ts') ? 'ts' : 'js';
  return fileURLToPath(new URL(`./proxy-bridge.${extension}`, import.meta.url));
}

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

function bwrapSandbox({ workspace, settings, proxy }: SandboxBackendInput): Sandbox {
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
      let inner = commandArgv(request.command);
      const writable = [...(request.writable ?? [])];
      // TMPDIR passes only when it is a folder the sandbox binds writable (the session's scratch folder):
      // the harness's own TMPDIR would point into the hidden /tmp.
      const tmp = request.env.TMPDIR;
      if (tmp !== undefined && writable.some((path) => isInside(tmp, path))) env.TMPDIR = tmp;
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

/**
 * bubblewrap: a mount namespace with the host read-only, the home and temp folders hidden, the
 * workspace writable (or only a task's scope), no network but the allow-list proxy, resource limits.
 */
export const bwrapBackend = defineSandboxBackend({
  name: 'bwrap',
  isolates: true,
  routesThroughProxy: true,
  available: detectBwrap,
  create: (input) => {
    sweepStaleCgroups();
    return bwrapSandbox(input);
  },
});
