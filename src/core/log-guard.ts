import type { EventLog } from '../log/event-log.ts';
import type { GuardFiring } from './work-guards.ts';

/**
 * The run's event log is the harness's memory: an edit by anyone but the harness (a worker that reached
 * it, in any mode) is undone from the mirror. Checked after every session; the harness's own appends
 * keep the mirror and the log equal.
 */
export function guardEventLog(log: EventLog): { firing: GuardFiring; correction: string } | undefined {
  const intact = log.checkIntact();
  if (intact.intact) return undefined;
  const restored = log.restoreFromMirror();
  const detail = `${intact.detail}; ${restored ? 'restored from its mirror' : 'could NOT be restored (no intact mirror)'}`;
  return {
    firing: { guard: 'tampering', action: restored ? 'restored' : 'kept', details: [detail] },
    correction: `the worker touched baton's event log (${detail})`,
  };
}
