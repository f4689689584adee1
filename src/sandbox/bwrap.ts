import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { SandboxIdentity } from './identity.ts';
import type { SandboxPolicy } from './policy.ts';

/**
 * The bubblewrap command line for a policy. Pure. Order matters: the host is bound read-only first, the
 * hidden folders become empty tmpfs mounts over it, then the worker's own paths are bound back in
 * (a workspace under /tmp reappears after /tmp is hidden), then the read-only parts inside it.
 */
export function bwrapArguments(
  policy: SandboxPolicy,
  command: readonly string[],
  identity?: SandboxIdentity,
): string[] {
  const args = ['--ro-bind', '/', '/', '--dev', '/dev', '--proc', '/proc'];
  // Another uid must be able to write the empty home and temp folders, and walk to what is bound in them.
  for (const path of policy.hidden) {
    args.push(...(identity === undefined ? [] : ['--perms', '1777']), '--tmpfs', path);
  }
  const made = new Set<string>();
  const bind = (option: '--bind' | '--ro-bind', path: string): void => {
    if (identity !== undefined) {
      for (const folder of foldersToMake(path, policy.hidden)) {
        if (made.has(folder)) continue;
        made.add(folder);
        args.push('--perms', '0755', '--dir', folder);
      }
    }
    args.push(option, path, path);
  };
  for (const path of policy.readOnly) if (existsSync(path)) bind('--ro-bind', path);
  for (const path of policy.writable) if (existsSync(path)) bind('--bind', path);
  if (policy.writableInside === undefined) bind('--bind', policy.workspace);
  else {
    bind('--ro-bind', policy.workspace);
    for (const relative of policy.writableInside) {
      const path = join(policy.workspace, relative);
      if (existsSync(path)) args.push('--bind', path, path);
    }
  }
  for (const relative of policy.readOnlyInside) {
    const path = join(policy.workspace, relative);
    if (existsSync(path)) args.push('--ro-bind', path, path);
  }
  // No network at all (only a loopback of its own), no host processes, no capabilities, no terminal
  // injection, and the whole sandbox dies with the harness.
  args.push(...isolation(identity), '--die-with-parent', '--new-session', '--clearenv');
  for (const [name, value] of Object.entries(policy.env)) args.push('--setenv', name, value);
  args.push('--chdir', policy.workspace, '--');
  if (identity !== undefined) args.push(...setprivPrefix(identity));
  const { limits } = policy;
  // prlimit applies what rlimits can: file size, CPU time, open files (RLIMIT_AS would break node).
  args.push(
    'prlimit',
    `--fsize=${limits.fileSizeBytes}`,
    `--cpu=${limits.cpuSeconds}`,
    `--nofile=${limits.openFiles}`,
    '--',
  );
  args.push(...command);
  return args;
}

/**
 * The namespaces and capabilities of a sandbox. As root with a uid of its own: no user namespace (it
 * would map uid 0 to host root); bwrap keeps only what setpriv needs to become that uid, and setpriv
 * drops it all before the command starts.
 */
function isolation(identity: SandboxIdentity | undefined): string[] {
  if (identity === undefined) return ['--unshare-all', '--cap-drop', 'ALL'];
  return [
    ...['--unshare-ipc', '--unshare-pid', '--unshare-net', '--unshare-uts', '--unshare-cgroup-try'],
    '--cap-drop',
    'ALL',
    ...['CAP_SETUID', 'CAP_SETGID', 'CAP_SETPCAP'].flatMap((cap) => ['--cap-add', cap]),
  ];
}

/** Become the sandbox's uid and gid, no other group, no capability left in any set. */
function setprivPrefix(identity: SandboxIdentity): string[] {
  return [
    'setpriv',
    `--reuid=${identity.uid}`,
    `--regid=${identity.gid}`,
    '--clear-groups',
    '--inh-caps=-all',
    '--bounding-set=-all',
    '--',
  ];
}

/**
 * The folders bwrap must make (mode 0755) before binding `path`: those between a hidden folder (an
 * empty tmpfs inside) and `path`. bwrap would make them 0700 and root's, which another uid cannot walk.
 */
export function foldersToMake(path: string, hidden: readonly string[]): string[] {
  const folders: string[] = [];
  for (let folder = dirname(path); folder !== dirname(folder); folder = dirname(folder)) {
    if (hidden.includes(folder)) return folders.reverse();
    folders.push(folder);
  }
  return [];
}

export interface Detection {
  readonly works: boolean;
  readonly detail: string;
  readonly fix: string | undefined;
}

const cached = new Map<string, Detection>();

function probeArguments(identity: SandboxIdentity | undefined): string[] {
  return [
    ...['--ro-bind', '/', '/', '--dev', '/dev', '--proc', '/proc'],
    ...isolation(identity),
    '--die-with-parent',
    '--',
    ...(identity === undefined ? [] : setprivPrefix(identity)),
    'true',
  ];
}

/**
 * Whether bwrap is installed and can build a sandbox on this machine (user namespaces allowed, ...),
 * and, given a sandbox identity, whether it can run a command as that uid (setpriv, from util-linux).
 */
export function detectBwrap(identity?: SandboxIdentity): Detection {
  const key = identity === undefined ? '' : `${identity.uid}:${identity.gid}`;
  const known = cached.get(key);
  if (known !== undefined) return known;
  const probe = spawnSync('bwrap', probeArguments(identity), { encoding: 'utf8', timeout: 10_000 });
  let detection: Detection;
  if (probe.error !== undefined) {
    detection = {
      works: false,
      detail: `bwrap is not installed (${probe.error.message})`,
      fix: 'install bubblewrap (apt-get install bubblewrap), or set sandbox.backend: none in baton.yaml to run workers unsandboxed',
    };
  } else if (probe.status !== 0 && identity !== undefined) {
    detection = {
      works: false,
      detail: `bwrap cannot run a sandbox as ${identity.label}: ${probe.stderr.trim()}`,
      fix: 'install util-linux (its setpriv starts the sandbox as that uid), or set sandbox.user: root in baton.yaml (workers then run as root inside, and can read root-only host files)',
    };
  } else if (probe.status !== 0) {
    detection = {
      works: false,
      detail: `bwrap cannot create a sandbox here: ${probe.stderr.trim()}`,
      fix: 'allow unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1, or kernel.apparmor_restrict_unprivileged_userns=0), run in a container with --privileged or CAP_SYS_ADMIN, or set sandbox.backend: none',
    };
  } else {
    detection = {
      works: true,
      detail: identity === undefined ? 'bwrap works' : `bwrap works, as ${identity.label}`,
      fix: undefined,
    };
  }
  cached.set(key, detection);
  return detection;
}
