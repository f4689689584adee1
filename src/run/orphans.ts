import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { waitForGroupExit } from '../util/process-group.ts';

/**
 * Processes a crashed harness left running: every agent and check it starts carries BATON_RUN_ID in its
 * environment, so they are found by reading /proc, whatever the event log managed to record.
 */
export function findRunProcesses(runId: string): number[] {
  if (!existsSync('/proc/self/environ')) return [];
  const marker = `BATON_RUN_ID=${runId}`;
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    let environ: string;
    try {
      environ = readFileSync(`/proc/${entry}/environ`, 'utf8');
    } catch {
      continue;
    }
    if (environ.split('\0').includes(marker)) {
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
        const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
        if (state !== 'Z' && state !== 'X') found.push(Number(entry));
      } catch {
        continue;
      }
    }
  }
  return found;
}

/** Kill those processes (and their process groups) and wait until they are gone. */
export async function reapRunProcesses(runId: string): Promise<number[]> {
  const pids = findRunProcesses(runId);
  for (const pid of pids) {
    for (const target of [-pid, pid]) {
      try {
        process.kill(target, 'SIGKILL');
      } catch {
        // Gone already, or not a group leader.
      }
    }
  }
  for (const pid of pids) await waitForGroupExit(pid, 2_000);
  return pids;
}
