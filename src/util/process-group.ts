import { existsSync, readdirSync, readFileSync } from 'node:fs';

/** Live (not zombie) members of a process group, read from /proc; empty where /proc is absent. */
export function liveGroupMembers(groupId: number): number[] {
  if (!existsSync('/proc/self/stat')) return [];
  const members: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // It exited while we looked.
    }
    // Fields after the parenthesised command name: state, ppid, pgrp, ...
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[2]) === groupId && fields[0] !== 'Z' && fields[0] !== 'X') members.push(Number(entry));
  }
  return members;
}

/** Cheap first look: a group with no member at all (not even a zombie) is gone, no /proc scan needed. */
function groupExists(groupId: number): boolean {
  try {
    process.kill(-groupId, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Wait until no live process is left in the group (SIGKILL is asynchronous), up to a limit. */
export async function waitForGroupExit(groupId: number, timeoutMs = 2_000): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (groupExists(groupId) && liveGroupMembers(groupId).length > 0) {
    if (performance.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return true;
}
