import {
  closeSync,
  existsSync,
  fsyncSync,
  ftruncateSync,
  openSync,
  readFileSync,
  writeSync,
  fstatSync,
  readSync,
} from 'node:fs';
import { BatonError } from '../errors.ts';
import { runEventTypes, type NewRunEvent, type RunEvent } from './events.ts';

export interface ReadLogResult {
  readonly events: RunEvent[];
  /** True when the last line was cut short (a crash mid-write); it was left out. */
  readonly tornTail: boolean;
}

const knownTypes = new Set<string>(runEventTypes);

function parseLine(line: string, lineNumber: number, path: string): RunEvent {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new BatonError(`${path}:${lineNumber} is not a JSON event`, {
      code: 'LOG_CORRUPT',
      fix: 'the event log is append-only and only its last line can be torn by a crash; restore the file from a backup, or move the run folder away to start a new run',
    });
  }
  if (
    typeof value !== 'object' ||
    value === null ||
    !('type' in value) ||
    typeof value.type !== 'string' ||
    !knownTypes.has(value.type) ||
    !('seq' in value) ||
    typeof value.seq !== 'number'
  ) {
    throw new BatonError(`${path}:${lineNumber} is not a known baton event`, {
      code: 'LOG_CORRUPT',
      fix: 'this log was written by another version of baton or edited by hand; move the run folder away to start a new run',
    });
  }
  return value as RunEvent;
}

/** Split log text into events. Only a last line without its newline may be incomplete: it is dropped. */
export function parseLogText(text: string, path = 'events.jsonl'): ReadLogResult {
  const events: RunEvent[] = [];
  const lines = text.split('\n');
  const last = lines.pop() ?? '';
  let tornTail = false;
  lines.forEach((line, index) => {
    if (line.trim() !== '') events.push(parseLine(line, index + 1, path));
  });
  if (last.trim() !== '') {
    try {
      events.push(parseLine(last, lines.length + 1, path));
    } catch {
      tornTail = true;
    }
  }
  return { events, tornTail };
}

export function readEventLog(path: string): ReadLogResult {
  if (!existsSync(path)) return { events: [], tornTail: false };
  return parseLogText(readFileSync(path, 'utf8'), path);
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
 */
export class EventLog {
  readonly path: string;
  private readonly descriptor: number;
  private nextSeq: number;

  private constructor(path: string, descriptor: number, nextSeq: number) {
    this.path = path;
    this.descriptor = descriptor;
    this.nextSeq = nextSeq;
  }

  static open(path: string): { log: EventLog; events: RunEvent[]; tornTail: boolean } {
    const { events, tornTail } = readEventLog(path);
    const descriptor = openSync(path, 'a+');
    const complete = lengthOfCompleteLines(descriptor);
    if (complete < fstatSync(descriptor).size) {
      ftruncateSync(descriptor, complete);
      fsyncSync(descriptor);
    }
    const lastSeq = events.at(-1)?.seq ?? 0;
    return { log: new EventLog(path, descriptor, lastSeq + 1), events, tornTail };
  }

  append(event: NewRunEvent, now: Date = new Date()): RunEvent {
    const full = { seq: this.nextSeq, at: now.toISOString(), ...event } as RunEvent;
    writeSync(this.descriptor, `${JSON.stringify(full)}\n`);
    fsyncSync(this.descriptor);
    this.nextSeq += 1;
    return full;
  }

  close(): void {
    closeSync(this.descriptor);
  }
}
