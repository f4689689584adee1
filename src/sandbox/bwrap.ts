import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { SandboxPolicy } from './policy.ts';

/**
 * The bubblewrap command line for a policy. Pure. Order matters: the host is bound read-only first, the
 * hidden folders become empty tmpfs mounts over it, then the worker's own paths are bound back in
 * (a workspace under /tmp reappears after /tmp is hidden), then the read-only parts inside it.
 */
export function bwrapArguments(policy: SandboxPolicy, command: readonly string[]): string[] {
  const args = ['--ro-bind', '/', '/', '--dev', '/dev', '--proc', '/proc'];
  for (const path of policy.hidden) args.push('--tmpfs', path);
  for (const path of policy.readOnly) if (existsSync(path)) args.push('--ro-bind', path, path);
  for (const path of policy.writable) if (existsSync(path)) args.push('--bind', path, path);
  if (policy.writableInside === undefined) args.push('--bind', policy.workspace, policy.workspace);
  else {
    args.push('--ro-bind', policy.workspace, policy.workspace);
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
  args.push('--unshare-all', '--cap-drop', 'ALL', '--die-with-parent', '--new-session', '--clearenv');
  for (const [name, value] of Object.entries(policy.env)) args.push('--setenv', name, value);
  args.push('--chdir', policy.workspace, '--');
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

export interface Detection {
  readonly works: boolean;
  readonly detail: string;
  readonly fix: string | undefined;
}

let cached: Detection | undefined;

/** Whether bwrap is installed and can build a sandbox on this machine (user namespaces allowed, ...). */
export function detectBwrap(): Detection {
  if (cached !== undefined) return cached;
  const probe = spawnSync(
    'bwrap',
    [
      '--ro-bind',
      '/',
      '/',
      '--dev',
      '/dev',
      '--proc',
      '/proc',
      '--unshare-all',
      '--cap-drop',
      'ALL',
      '--die-with-parent',
      '--',
      'true',
    ],
    {
      encoding: 'utf8',
      timeout: 10_000,
    },
  );
  if (probe.error !== undefined) {
    cached = {
      works: false,
      detail: `bwrap is not installed (${probe.error.message})`,
      fix: 'install bubblewrap (apt-get install bubblewrap), or set sandbox.backend: none in baton.yaml to run workers unsandboxed',
    };
  } else if (probe.status !== 0) {
    cached = {
      works: false,
      detail: `bwrap cannot create a sandbox here: ${probe.stderr.trim()}`,
      fix: 'allow unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1, or kernel.apparmor_restrict_unprivileged_userns=0), run in a container with --privileged or CAP_SYS_ADMIN, or set sandbox.backend: none',
    };
  } else {
    cached = { works: true, detail: 'bwrap works', fix: undefined };
  }
  return cached;
}
