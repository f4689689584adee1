import { readFileSync } from 'node:fs';
import type { SandboxSettings } from '../config/sandbox-settings.ts';
import { BatonError } from '../errors.ts';

/**
 * Who the sandboxed processes are on the host. A harness run by an unprivileged user gives its workers
 * its own uid (bwrap maps it, nothing to do). A harness run as root would give them uid 0: with every
 * capability dropped, uid 0 still owns every root-owned file, so `/etc/shadow` and any other root-only
 * file outside the hidden folders would be readable. As root, the workers and checks therefore run as
 * a uid of their own (`sandbox.user`): one that owns nothing on the host.
 */
export interface SandboxIdentity {
  readonly uid: number;
  readonly gid: number;
  /** How it was chosen, for the `sandbox.chosen` event and docs: "uid 2000000000 (auto)". */
  readonly label: string;
}

/** baton.yaml's `sandbox.user`: `auto`, `root` (keep uid 0: weaker, said so), a user name, or a uid. */
export type SandboxUserSetting = string | number;

/** Where `auto` starts looking for a uid no account, group or subordinate range uses. */
export const autoIdentityStart = 2_000_000_000;

/** The name a person may create for it (`useradd --system baton-sandbox`); `auto` takes it when present. */
export const sandboxAccountName = 'baton-sandbox';

interface Account {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
}

function readLines(path: string): string[] {
  try {
    return readFileSync(path, 'utf8').split('\n');
  } catch {
    return [];
  }
}

function accounts(): Account[] {
  return readLines('/etc/passwd').flatMap((line) => {
    const [name, , uid, gid] = line.split(':');
    if (name === undefined || uid === undefined || gid === undefined) return [];
    return [{ name, uid: Number(uid), gid: Number(gid) }];
  });
}

function groupIds(): number[] {
  return readLines('/etc/group').flatMap((line) => {
    const gid = line.split(':')[2];
    return gid === undefined || gid === '' ? [] : [Number(gid)];
  });
}

/**
 * Who else is in group `gid` besides `name`: accounts whose primary group it is and listed members. The
 * worktree is shared with the sandbox through its group, so that group must be the sandbox's alone.
 */
function othersInGroup(gid: number, name: string | undefined, known: readonly Account[]): string[] {
  const primary = known
    .filter((entry) => entry.gid === gid && entry.name !== name)
    .map((entry) => entry.name);
  const listed = readLines('/etc/group').flatMap((line) => {
    const [, , id, members] = line.split(':');
    if (id === undefined || Number(id) !== gid || members === undefined || members === '') return [];
    return members.split(',').filter((member) => member !== '' && member !== name);
  });
  return [...new Set([...primary, ...listed])];
}

/** The subordinate ranges (/etc/subuid, /etc/subgid) container tools map users into. */
function subordinateRanges(): { start: number; count: number }[] {
  return ['/etc/subuid', '/etc/subgid'].flatMap((path) =>
    readLines(path).flatMap((line) => {
      const [, start, count] = line.split(':');
      if (start === undefined || count === undefined) return [];
      return [{ start: Number(start), count: Number(count) }];
    }),
  );
}

/** The first id from `start` that no account, group or subordinate range uses. Pure over its inputs. */
export function firstFreeId(
  start: number,
  used: ReadonlySet<number>,
  ranges: readonly { start: number; count: number }[],
): number {
  let id = start;
  for (;;) {
    const range = ranges.find((entry) => id >= entry.start && id < entry.start + entry.count);
    if (range !== undefined) id = range.start + range.count;
    else if (used.has(id)) id += 1;
    else return id;
  }
}

/**
 * The identity for `sandbox.user` when the harness runs as `harnessUid`; undefined means the sandbox
 * keeps the harness's own uid (an unprivileged harness, or `root` chosen on purpose).
 */
export function resolveSandboxIdentity(
  setting: SandboxUserSetting,
  harnessUid: number,
): SandboxIdentity | undefined {
  if (harnessUid !== 0 || setting === 'root') return undefined;
  const known = accounts();
  if (setting === 'auto') {
    const account = known.find((entry) => entry.name === sandboxAccountName);
    // Its group must be its own (useradd makes one by default); else a uid and group of their own.
    if (account !== undefined && othersInGroup(account.gid, account.name, known).length === 0) {
      return { uid: account.uid, gid: account.gid, label: `${sandboxAccountName} (uid ${account.uid})` };
    }
    const used = new Set([
      ...known.map((entry) => entry.uid),
      ...known.map((entry) => entry.gid),
      ...groupIds(),
    ]);
    const id = firstFreeId(autoIdentityStart, used, subordinateRanges());
    return { uid: id, gid: id, label: `uid ${id} (auto: no account uses it)` };
  }
  const asNumber =
    typeof setting === 'number' ? setting : /^\d+$/.test(setting) ? Number(setting) : undefined;
  if (asNumber !== undefined) {
    if (asNumber === 0) return undefined;
    refuseSharedGroup(
      asNumber,
      known.find((entry) => entry.uid === asNumber)?.name,
      known,
      `uid ${asNumber}`,
    );
    return { uid: asNumber, gid: asNumber, label: `uid ${asNumber}` };
  }
  const account = known.find((entry) => entry.name === setting);
  if (account === undefined) {
    throw new BatonError(`sandbox.user names ${setting}, which is not an account on this machine`, {
      code: 'CONFIG_INVALID',
      fix: `create it (useradd --system ${setting}), or set sandbox.user: auto in baton.yaml`,
    });
  }
  if (account.uid === 0) return undefined;
  refuseSharedGroup(account.gid, account.name, known, account.name);
  return { uid: account.uid, gid: account.gid, label: `${account.name} (uid ${account.uid})` };
}

function refuseSharedGroup(
  gid: number,
  name: string | undefined,
  known: readonly Account[],
  shown: string,
): void {
  const others = othersInGroup(gid, name, known);
  if (others.length === 0) return;
  throw new BatonError(
    `sandbox.user: ${shown} would share the worktree through group ${gid}, which ${others.slice(0, 5).join(', ')} also belong${others.length === 1 ? 's' : ''} to`,
    {
      code: 'CONFIG_INVALID',
      fix: 'give the sandbox an account with a group of its own (useradd --system --user-group baton-sandbox), or set sandbox.user: auto in baton.yaml',
    },
  );
}

const resolved = new Map<string, SandboxIdentity | undefined>();

/** The identity for this harness process and baton.yaml's `sandbox.user` (resolved once per setting). */
export function sandboxIdentityFor(settings: Pick<SandboxSettings, 'user'>): SandboxIdentity | undefined {
  const key = String(settings.user);
  if (!resolved.has(key)) resolved.set(key, resolveSandboxIdentity(settings.user, process.getuid?.() ?? -1));
  return resolved.get(key);
}
