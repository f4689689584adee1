import {
  closeSync,
  copyFileSync,
  existsSync,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { dirname } from 'node:path';
import { BatonError, exitCodes } from '../errors.ts';
import { faultAfterEventAppended } from '../util/fault.ts';
import type { NewRunEvent, RunEvent } from './events.ts';
import { logVersion } from './log-version.ts';
import { parseEventLine, type LogWarning } from './parse-event.ts';

export type { LogWarning } from './parse-event.ts';

export interface ReadLogResult {
  readonly events: RunEvent[];
  /** True when the last line was cut short (a crash mid-write); it was left out. */
  readonly tornTail: boolean;
  /** Lines a tolerant read left out, and a note when some lines come from a newer baton. */
  readonly warnings: readonly LogWarning[];
  /** The newest log version among the lines (1: empty, or written before the log was versioned). */
  readonly version: number;
}

export interface ReadLogOptions {
  /**
   * Read-only commands (status, log, show, explain, the dashboard) keep working on a log they do not
   * fully understand: a line with an unknown type or a shape that fails its schema is left out with a
   * warning. Without it (resume, and anything that appends), such a log is refused: acting on a log
   * with lines left out could redo or undo work.
   */
  readonly tolerant?: boolean;
}

function tooNew(path: string, lineNumber: number, version: number): BatonError {
  return new BatonError(
    `${path}:${lineNumber} was written by a newer baton (event log version ${version}); this baton writes and reads version ${logVersion}`,
    {
      code: 'LOG_TOO_NEW',
      fix: `upgrade baton to a version that writes event log version ${version} or later, then resume; \`baton status\`, \`baton log\` and \`baton explain\` still show the run as far as this version understands it`,
      exitCode: exitCodes.usage,
    },
  );
}

/** Split log text into events. Only a last line without its newline may be incomplete: it is dropped. */
export function parseLogText(
  text: string,
  path = 'events.jsonl',
  options: ReadLogOptions = {},
): ReadLogResult {
  const events: RunEvent[] = [];
  const warnings: LogWarning[] = [];
  const lines = text.split('\n');
  const last = lines.pop() ?? '';
  let version = 1;
  let newerNoted = false;
  const take = (line: string, lineNumber: number): void => {
    const parsed = parseEventLine(line);
    version = Math.max(version, parsed.version);
    if (parsed.version > logVersion) {
      if (options.tolerant !== true) throw tooNew(path, lineNumber, parsed.version);
      if (!newerNoted) {
        newerNoted = true;
        warnings.push({
          line: lineNumber,
          type: parsed.ok ? parsed.event.type : parsed.type,
          version: parsed.version,
          message: `${path}:${lineNumber} was written by a newer baton (event log version ${parsed.version}; this one reads version ${logVersion}): shown as far as this version understands it, and \`baton resume\` will refuse it until baton is upgraded`,
        });
      }
    }
    if (parsed.ok) {
      events.push(parsed.event);
      return;
    }
    if (options.tolerant === true) {
      warnings.push({
        line: lineNumber,
        type: parsed.type,
        version: parsed.version,
        message: `${path}:${lineNumber} left out: ${parsed.detail}, written by event log version ${parsed.version}`,
      });
      return;
    }
    if (parsed.problem === 'not-json') {
      throw new BatonError(`${path}:${lineNumber} is not a JSON event`, {
        code: 'LOG_CORRUPT',
        fix: 'the event log is append-only and only its last line can be torn by a crash; restore the file from a backup, or move the run folder away to start a new run',
      });
    }
    throw new BatonError(`${path}:${lineNumber} is not a known baton event: ${parsed.detail}`, {
      code: 'LOG_CORRUPT',
      fix: 'this log was edited by hand or damaged (a newer baton would have marked its lines with a newer version); move the run folder away to start a new run',
    });
  };
  lines.forEach((line, index) => {
    if (line.trim() !== '') take(line, index + 1);
  });
  let tornTail = false;
  if (last.trim() !== '') {
    const before = events.length;
    try {
      take(last, lines.length + 1);
    } catch (error) {
      // A newer baton's line is complete, not torn: cutting it off would lose its work.
      if (BatonError.isInstance(error) && error.code === 'LOG_TOO_NEW') throw error;
      tornTail = true;
    }
    // A tolerant read does not throw: a line that was left out without its newline is a torn write.
    if (options.tolerant === true && events.length === before && warnings.at(-1)?.line === lines.length + 1) {
      warnings.pop();
      tornTail = true;
    }
  }
  return { events, tornTail, warnings, version };
}

export function readEventLog(path: string, options: ReadLogOptions = {}): ReadLogResult {
  if (!existsSync(path)) return { events: [], tornTail: false, warnings: [], version: 1 };
  return parseLogText(readFileSync(path, 'utf8'), path, options);
}

/** Length of the file up to and including its last newline: what survives a torn write. */
function lengthOfCompleteLines(descriptor: number): number {
  const size = fstatSync(descriptor).size;
  const chunk = Buffer.alloc(64 * 1024);
  let end = size;
  while (end > 0) {
    const start = Math.max(0, end - chunk.length);
    const read = readSync(descriptor, chunk, 0, end - start, start);
    const newline = chunk.subarray(0, read).lastIndexOf(0x0a);
    if (newline >= 0) return start + newline + 1;
    end = start;
  }
  return 0;
}

/**
 * The append-only event log of one run. Each append is one line, written and fsynced before the call
 * returns, so an event the harness acted on is on disk first. Opening a log whose last line was torn by a
 * crash cuts that line off, so the next append starts on a line of its own.
 *
 * With a mirror path (kept where the worker does not look, e.g. inside .git), every line is also written
 * there, so that a worker that edits, truncates or replaces the log can be detected (`checkIntact`) and
 * the log restored (`restoreFromMirror`).
 */
export class EventLog {
  readonly path: string;
  private descriptor: number;
  private mirror: number | undefined;
  private readonly mirrorPath: string | undefined;
  private nextSeq: number;
  private size: number;
  private lastMtimeMs: number;

  private constructor(path: string, descriptor: number, nextSeq: number, mirrorPath: string | undefined) {
    this.path = path;
    this.descriptor = descriptor;
    this.nextSeq = nextSeq;
    this.mirrorPath = mirrorPath;
    const stat = fstatSync(descriptor);
    this.size = stat.size;
    this.lastMtimeMs = stat.mtimeMs;
    if (mirrorPath !== undefined) {
      mkdirSync(dirname(mirrorPath), { recursive: true });
      // The mirror starts as an exact copy, so the two can be compared byte for byte.
      copyFileSync(path, mirrorPath);
      this.mirror = openSync(mirrorPath, 'a');
    }
  }

  static open(path: string, mirrorPath?: string): { log: EventLog; events: RunEvent[]; tornTail: boolean } {
    const { events, tornTail } = readEventLog(path);
    const descriptor = openSync(path, 'a+');
    const complete = lengthOfCompleteLines(descriptor);
    if (complete < fstatSync(descriptor).size) {
      ftruncateSync(descriptor, complete);
      fsyncSync(descriptor);
    }
    const lastSeq = events.at(-1)?.seq ?? 0;
    return { log: new EventLog(path, descriptor, lastSeq + 1, mirrorPath), events, tornTail };
  }

  append(event: NewRunEvent, now: Date = new Date()): RunEvent {
    const full = { v: logVersion, seq: this.nextSeq, at: now.toISOString(), ...event } as RunEvent;
    const line = `${JSON.stringify(full)}\n`;
    writeSync(this.descriptor, line);
    fsyncSync(this.descriptor);
    faultAfterEventAppended(); // BATON_FAULT, crash tests only: the event is on disk, nothing else is done
    // The mirror guards against tampering, not crashes: it is not fsynced.
    if (this.mirror !== undefined) writeSync(this.mirror, line);
    this.size += Buffer.byteLength(line);
    this.lastMtimeMs = fstatSync(this.descriptor).mtimeMs;
    this.nextSeq += 1;
    return full;
  }

  /** Whether the file at `path` is still exactly what this log wrote (same file, size and write time). */
  checkIntact(): { intact: boolean; detail: string } {
    let stat;
    try {
      stat = statSync(this.path);
    } catch {
      return { intact: false, detail: 'the event log was deleted' };
    }
    const own = fstatSync(this.descriptor);
    if (stat.ino !== own.ino) return { intact: false, detail: 'the event log was replaced by another file' };
    if (stat.size !== this.size) {
      return {
        intact: false,
        detail: `the event log changed size (${this.size} bytes written, ${stat.size} found)`,
      };
    }
    if (stat.mtimeMs !== this.lastMtimeMs) return { intact: false, detail: 'the event log was modified' };
    return { intact: true, detail: '' };
  }

  /** Put the log back from its mirror; false when there is no usable mirror. */
  restoreFromMirror(): boolean {
    if (this.mirrorPath === undefined || !existsSync(this.mirrorPath)) return false;
    const copy = readFileSync(this.mirrorPath);
    if (copy.length !== this.size) return false;
    closeSync(this.descriptor);
    rmSync(this.path, { force: true });
    writeFileSync(this.path, copy);
    this.descriptor = openSync(this.path, 'a+');
    fsyncSync(this.descriptor);
    this.lastMtimeMs = fstatSync(this.descriptor).mtimeMs;
    return true;
  }

  close(): void {
    closeSync(this.descriptor);
    if (this.mirror !== undefined) closeSync(this.mirror);
  }
}
