/**
 * Fault injection, for crash tests only: `BATON_FAULT` makes this process SIGKILL itself at an exact,
 * countable moment instead of a test killing it after a guessed delay. Values (comma-separated):
 *
 *   kill-after-event:N  right after the Nth event this process appended to an event log is on disk
 *                       (written and fsynced). Counted within the process, from 1, over every log it
 *                       writes, so a resumed process can be faulted too (its first event is 1 again).
 *   kill-at-git:N       right before this process starts its Nth git command.
 *
 * The variable is read once, when this module loads, and removed from `process.env` at once: every
 * child the harness starts afterwards (agents, checks, git, notify hooks, whatever their sandbox passes
 * on) inherits an environment without it, so a fault only ever hits the harness process itself. Unset,
 * each hook is one comparison with undefined.
 */
export const faultVariable = 'BATON_FAULT';

interface Faults {
  readonly killAfterEvent: number | undefined;
  readonly killAtGit: number | undefined;
}

/** Parse a BATON_FAULT value; a malformed one is an error, so that a test never runs unfaulted by mistake. */
export function parseFaults(value: string | undefined): Faults {
  let killAfterEvent: number | undefined;
  let killAtGit: number | undefined;
  for (const part of (value ?? '').split(',')) {
    const entry = part.trim();
    if (entry === '') continue;
    const match = /^(kill-after-event|kill-at-git):([1-9]\d*)$/.exec(entry);
    if (match === null) {
      throw new Error(
        `${faultVariable}=${value ?? ''}: "${entry}" is not a fault (expected kill-after-event:N or kill-at-git:N, N >= 1)`,
      );
    }
    if (match[1] === 'kill-after-event') killAfterEvent = Number(match[2]);
    else killAtGit = Number(match[2]);
  }
  return { killAfterEvent, killAtGit };
}

const faults = parseFaults(process.env.BATON_FAULT);
delete process.env.BATON_FAULT;

let eventsAppended = 0;
let gitCommandsStarted = 0;

function die(): never {
  process.kill(process.pid, 'SIGKILL');
  // SIGKILL to oneself is delivered before kill() returns; this is for the type checker.
  throw new Error('unreachable: SIGKILL did not end the process');
}

/** Call after an event is durably appended (written and fsynced). */
export function faultAfterEventAppended(): void {
  if (faults.killAfterEvent === undefined) return;
  eventsAppended += 1;
  if (eventsAppended === faults.killAfterEvent) die();
}

/** Call right before a git command is started. */
export function faultBeforeGitCommand(): void {
  if (faults.killAtGit === undefined) return;
  gitCommandsStarted += 1;
  if (gitCommandsStarted === faults.killAtGit) die();
}
