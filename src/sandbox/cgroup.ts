import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SandboxLimits } from './policy.ts';

/**
 * Process and memory limits through cgroup v1 controllers, where the harness may create groups (as
 * root on a cgroup v1 host). A fork bomb stops at `pids.max`; memory at `memory.limit_in_bytes`.
 * Elsewhere this returns null and only the rlimits apply (say so: docs/sandbox.md).
 */
export interface CgroupHandle {
  /** The cgroup.procs files a process must write its pid into to join. */
  readonly procsFiles: readonly string[];
  /** How often the pids limit refused a fork. */
  forkRefusals(): number;
  /** End every process still in the group, then remove the group once it is empty. */
  remove(): void;
}

const root = '/sys/fs/cgroup';

function writable(controller: string): boolean {
  const path = join(root, controller);
  try {
    return existsSync(join(path, 'cgroup.procs')) && existsSync(join(path, 'tasks'));
  } catch {
    return false;
  }
}

/** Whether this harness can put its sandboxes in cgroups here (cgroup v1, writable: root on such a host). */
export function cgroupsUsable(): boolean {
  return writable('pids') || writable('memory');
}

/** rmdir refuses a group while a member is still exiting: try again shortly, a bounded number of times. */
function removeWhenEmpty(dirs: readonly string[], triesLeft: number): void {
  const left = dirs.filter((dir) => {
    try {
      rmdirSync(dir);
      return false;
    } catch (error) {
      return (error as NodeJS.ErrnoException).code !== 'ENOENT';
    }
  });
  if (left.length > 0 && triesLeft > 0) {
    setTimeout(() => {
      removeWhenEmpty(left, triesLeft - 1);
    }, 100).unref();
  }
}

/**
 * SIGKILL every member of the groups. Called once the wrapped command has ended, so a member is a
 * leftover: a process that left the command's process group (bwrap's sandbox init, when bwrap was
 * killed in the milliseconds before it tied the init's life to its own) and would otherwise run on.
 */
function killMembers(dirs: readonly string[]): void {
  for (const dir of dirs) {
    let pids: string[];
    try {
      pids = readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n');
    } catch {
      continue;
    }
    for (const pid of pids) {
      if (!/^\d+$/.test(pid)) continue;
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // It exited meanwhile.
      }
    }
  }
}

/** Remove empty groups a crashed harness left behind (a group with members refuses, and stays). */
export function sweepStaleCgroups(): void {
  for (const controller of ['pids', 'memory']) {
    const dir = join(root, controller);
    if (!existsSync(dir)) continue;
    let names: string[];
    try {
      names = readdirSync(dir).filter((name) => name.startsWith('baton-'));
    } catch {
      continue;
    }
    for (const name of names) {
      try {
        rmdirSync(join(dir, name));
      } catch {
        // Still in use by a live sandbox.
      }
    }
  }
}

export function createCgroup(name: string, limits: SandboxLimits): CgroupHandle | null {
  const made: string[] = [];
  try {
    if (writable('pids')) {
      const dir = join(root, 'pids', name);
      mkdirSync(dir);
      made.push(dir);
      writeFileSync(join(dir, 'pids.max'), String(limits.processes));
    }
    if (writable('memory')) {
      const dir = join(root, 'memory', name);
      mkdirSync(dir);
      made.push(dir);
      writeFileSync(join(dir, 'memory.limit_in_bytes'), String(limits.memoryBytes));
    }
  } catch {
    for (const dir of made.reverse()) {
      try {
        rmdirSync(dir);
      } catch {
        // Still has members; the kernel removes nothing for us, but it is empty soon.
      }
    }
    return null;
  }
  if (made.length === 0) return null;
  return {
    procsFiles: made.map((dir) => join(dir, 'cgroup.procs')),
    forkRefusals: () => {
      const events = join(root, 'pids', name, 'pids.events');
      if (!existsSync(events)) return 0;
      return Number(/max (\d+)/.exec(readFileSync(events, 'utf8'))?.[1] ?? '0');
    },
    remove: () => {
      killMembers(made);
      removeWhenEmpty(made, 30);
    },
  };
}
