import { randomBytes } from 'node:crypto';
import { realpathSync, statSync, type Stats } from 'node:fs';
import { homedir } from 'node:os';
import { basename, delimiter, dirname, isAbsolute, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bwrapArguments, detectBwrap } from './bwrap.ts';
import { createCgroup, sweepStaleCgroups } from './cgroup.ts';
import { commandArgv } from './command-argv.ts';
import { defineSandboxBackend, type SandboxBackendInput } from './define-backend.ts';
import { grantTreeToGroup } from './grant.ts';
import { effectiveIdentity } from './effective-identity.ts';
import type { SandboxIdentity } from './identity.ts';
import { filterEnv } from './policy.ts';
import { BatonError } from '../errors.ts';
import type { Sandbox, WrapRequest } from './sandbox.ts';

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

/** What the sandbox sees of the host's paths: hidden folders, and what is bound (in them or anywhere). */
interface SandboxView {
  readonly hidden: readonly string[];
  readonly bound: readonly string[];
}

/**
 * Whether the sandbox sees `path` as a folder bwrap made: inside a hidden folder (an empty tmpfs) and
 * not inside anything bound there, so it is only a walkable step towards what is bound.
 */
function madeInside(path: string, view: SandboxView): boolean {
  return (
    view.hidden.some((folder) => isInside(path, folder)) &&
    !view.bound.some((folder) => isInside(path, folder))
  );
}

/**
 * Refuse a path the sandbox's uid could not reach: a folder on its way that it sees with the host's
 * permissions (outside the hidden folders, or inside something bound in them) and that others may not
 * enter.
 */
function checkReachable(path: string, view: SandboxView, identity: SandboxIdentity): void {
  for (let folder = dirname(path); folder !== dirname(folder); folder = dirname(folder)) {
    if (madeInside(folder, view)) continue;
    const stats = statSync(folder);
    if (!permits(stats, identity, 0o1)) {
      throw new BatonError(
        `the sandbox runs as ${identity.label}, which cannot enter ${folder} (mode ${(stats.mode & 0o777).toString(8)}) on the way to ${path}`,
        {
          code: 'SANDBOX_UNAVAILABLE',
          fix: `let others enter the folder (chmod o+x ${folder}), move it, or set sandbox.user: root in baton.yaml (weaker: workers can then read root-only host files)`,
        },
      );
    }
  }
}

/** Whether the sandbox's uid has every permission of `bits` (4 read, 1 enter/execute) on a file. */
function permits(stats: Stats, identity: SandboxIdentity, bits: number): boolean {
  const has = (shift: number) => ((stats.mode >> shift) & bits) === bits;
  // As the kernel does: the owner's bits for the owner, else the group's for the group, else others'.
  if (stats.uid === identity.uid) return has(6);
  return stats.gid === identity.gid ? has(3) : has(0);
}

/**
 * What a sandboxed command is handed by absolute path (the agent's program and script, a configured
 * read-only folder) must be readable by the sandbox's uid: otherwise the agent fails inside with a bare
 * EACCES. Checked once per path; paths that do not exist, or that the sandbox does not see (in a hidden
 * folder, not bound), are not this check's.
 */
function readableChecker(identity: SandboxIdentity): (paths: readonly string[], view: SandboxView) => void {
  const checked = new Set<string>();
  return (paths, view) => {
    for (const path of paths) {
      // /dev and /proc name the sandbox's own devices and processes inside, not these host files.
      if (!isAbsolute(path) || checked.has(path) || madeInside(path, view) || /^\/(dev|proc)\//.test(path)) {
        continue;
      }
      const stats = statOrUndefined(path);
      if (stats === undefined) continue;
      checkReachable(path, view, identity);
      if (!permits(stats, identity, stats.isDirectory() ? 0o5 : 0o4)) {
        throw new BatonError(
          `the sandbox runs as ${identity.label}, which cannot read ${path} (mode ${(stats.mode & 0o777).toString(8)})`,
          {
            code: 'SANDBOX_UNAVAILABLE',
            fix: `let others read it (chmod o+r${stats.isDirectory() ? 'x' : ''} ${path}), move it, or set sandbox.user: root in baton.yaml (weaker: workers can then read root-only host files)`,
          },
        );
      }
      checked.add(path);
    }
  };
}

/** The words of a command that name a path: every argument, or a shell line's unquoted words. */
function namedPaths(command: WrapRequest['command']): string[] {
  if (typeof command !== 'string') return [...command];
  return command.split(/\s+/).map((word) => word.replace(/^['"]|['"]$/g, ''));
}

function statOrUndefined(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

/**
 * As root with a sandbox uid: the trees a sandbox writes are given to its group (sandbox/grant.ts).
 * A tree is walked the first time it is wrapped, and again for every session (a wrap that hands the
 * worker a scratch folder), since between sessions a person or the harness may have added files; a
 * check's wrap reuses the grant (what the harness's git writes later inherits the group: setgid
 * folders, umask 002).
 */
function treeGranter(
  identity: SandboxIdentity,
  hidden: readonly string[],
): (root: string, session: boolean) => void {
  const granted = new Map<string, string>();
  return (root, session) => {
    const stats = statSync(root);
    const key = `${stats.dev}:${stats.ino}`;
    if (!session && granted.get(root) === key) return;
    // The root is the person's workspace or a worktree the harness made, not the worker's: a link as
    // its last step (~/repo -> /data/repo) is followed here; inside it, nothing is.
    const real = realpathSync(root);
    checkReachable(real, { hidden, bound: [real] }, identity);
    grantTreeToGroup(real, identity.gid);
    granted.set(root, key);
  };
}

function bwrapSandbox({ workspace, settings, proxy }: SandboxBackendInput): Sandbox {
  const home = homedir();
  const hidden = [...new Set(['/tmp', '/run', '/var/tmp', '/home', '/root', home])];
  const tools = toolPaths(hidden, process.env.PATH);
  const { identity } = effectiveIdentity(settings);
  // What the harness writes from now on (git's checkouts, state files) stays writable by the group.
  // (Only the group's bits are opened: a umask that keeps others out, e.g. 077, keeps them out still.)
  if (identity !== undefined) process.umask(process.umask(0o002) & ~0o070);
  const grant = identity === undefined ? undefined : treeGranter(identity, hidden);
  const checkReadable = identity === undefined ? undefined : readableChecker(identity);
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
      const readOnlyPaths = [
        // A worktree's git data lives in the main repository: readable, so `git status` works there.
        ...(root === workspace ? [] : [join(workspace, '.git')]),
        ...tools,
        ...toolPaths(hidden, request.env.PATH),
        ...settings.readOnly,
        ...(request.readOnly ?? []),
        ...readOnly,
      ];
      if (grant !== undefined && checkReadable !== undefined && identity !== undefined) {
        grant(root, writable.length > 0);
        for (const path of writable) grantTreeToGroup(path, identity.gid);
        const view = { hidden, bound: [root, ...writable, ...readOnlyPaths] };
        // A session's command is the person's agent: its program and scripts must be readable inside.
        // (A check's command is the project's: what it reads is its own business, and may be denied.)
        if (writable.length > 0) {
          checkReadable([...namedPaths(request.command), ...(request.readOnly ?? [])], view);
        }
        checkReadable(settings.readOnly, view);
        // The worker's own git (read-only .git) would refuse a repository root owns.
        Object.assign(env, {
          GIT_CONFIG_COUNT: '1',
          GIT_CONFIG_KEY_0: 'safe.directory',
          GIT_CONFIG_VALUE_0: '*',
        });
      }
      const args = bwrapArguments(
        {
          workspace: root,
          readOnlyInside: ['.git', '.baton'],
          ...(request.writableInside === undefined ? {} : { writableInside: request.writableInside }),
          readOnly: readOnlyPaths,
          writable,
          hidden,
          env,
          limits: settings.limits,
        },
        inner,
        identity,
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
  available: (settings) => detectBwrap(effectiveIdentity(settings).identity),
  create: (input) => {
    sweepStaleCgroups();
    return bwrapSandbox(input);
  },
});
