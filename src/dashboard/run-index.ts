import { closeSync, existsSync, fstatSync, openSync, readSync } from 'node:fs';
import type { RunEvent } from '../log/events.ts';
import { logVersion } from '../log/log-version.ts';
import { parseEventLine, type LogWarning } from '../log/parse-event.ts';
import { initialRunState, reduceRunState, type RunState } from '../log/reducer.ts';

/** One point of the budget burn chart: what the run had spent when an iteration (or task) ended. */
export interface BurnPoint {
  readonly at: string;
  readonly elapsedMs: number;
  readonly iterations: number;
  readonly tokens: number;
  readonly costUsd: number;
}

const chunkBytes = 1 << 20;

/**
 * A run's log read incrementally: each refresh reads only the bytes appended since the last one and
 * folds them into the state, so a live dashboard on a 10,000-iteration run never re-reads the log.
 * A half-written last line waits for the next refresh.
 */
export class RunIndex {
  readonly path: string;
  state: RunState = initialRunState;
  readonly burn: BurnPoint[] = [];
  eventCount = 0;
  /** Lines left out because this baton does not understand them (unknown type, newer version). */
  readonly warnings: LogWarning[] = [];
  #offset = 0;
  #lines = 0;
  #partial = '';

  constructor(path: string) {
    this.path = path;
  }

  /** Fold what was appended since the last refresh; returns the new events. */
  refresh(): RunEvent[] {
    if (!existsSync(this.path)) return [];
    const fd = openSync(this.path, 'r');
    const fresh: RunEvent[] = [];
    try {
      const size = fstatSync(fd).size;
      // The log only grows; a shorter file was replaced (a restored mirror): read it again from the start.
      if (size < this.#offset) this.#reset();
      const buffer = Buffer.alloc(chunkBytes);
      while (this.#offset < size) {
        const read = readSync(fd, buffer, 0, Math.min(chunkBytes, size - this.#offset), this.#offset);
        if (read <= 0) break;
        this.#offset += read;
        const text = this.#partial + buffer.toString('utf8', 0, read);
        const lines = text.split('\n');
        this.#partial = lines.pop() ?? '';
        for (const line of lines) {
          this.#lines += 1;
          if (line.trim() === '') continue;
          const parsed = parseEventLine(line);
          if (!parsed.ok) {
            // A dashboard keeps showing the run: what it cannot read is named, not fatal.
            this.warnings.push({
              line: this.#lines,
              type: parsed.type,
              version: parsed.version,
              message: `${this.path}:${this.#lines} left out: ${parsed.detail}, written by event log version ${parsed.version}${parsed.version > logVersion ? ` (this baton reads version ${logVersion})` : ''}`,
            });
            continue;
          }
          this.#fold(parsed.event);
          fresh.push(parsed.event);
        }
      }
    } finally {
      closeSync(fd);
    }
    return fresh;
  }

  #reset(): void {
    this.#offset = 0;
    this.#partial = '';
    this.#lines = 0;
    this.warnings.length = 0;
    this.state = initialRunState;
    this.burn.length = 0;
    this.eventCount = 0;
  }

  #fold(event: RunEvent): void {
    this.state = reduceRunState(this.state, event);
    this.eventCount += 1;
    if (event.type === 'iteration.ended' || event.type === 'task.worked' || event.type === 'run.stopped') {
      const { usage, startedAt } = this.state;
      this.burn.push({
        at: event.at,
        elapsedMs: startedAt === null ? 0 : Date.parse(event.at) - Date.parse(startedAt),
        iterations: this.state.iterationsCompleted + (this.state.parallel?.sessions ?? 0),
        tokens: usage.inputTokens + usage.outputTokens,
        costUsd: usage.costUsd,
      });
    }
  }
}

/** At most `max` points, evenly spread, the last one always kept (what a chart needs, not the whole log). */
export function downsample<T>(points: readonly T[], max: number): T[] {
  if (points.length <= max) return [...points];
  const step = points.length / max;
  const picked: T[] = [];
  for (let index = 0; index < max - 1; index += 1) {
    const point = points[Math.floor(index * step)];
    if (point !== undefined) picked.push(point);
  }
  const last = points.at(-1);
  if (last !== undefined) picked.push(last);
  return picked;
}
