import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EventLog, readEventLog } from '../src/log/event-log.ts';
import { tempDir } from './helpers.ts';

describe('the event log', () => {
  it('appends numbered events one per line and reads them back', () => {
    const path = join(tempDir(), 'events.jsonl');
    const { log } = EventLog.open(path);
    log.append({ type: 'iteration.started', iteration: 1, headCommit: 'abc' });
    log.append({ type: 'smoke.ended', iteration: 1, result: null });
    log.close();
    const { events, tornTail } = readEventLog(path);
    expect(tornTail).toBe(false);
    expect(events.map((event) => [event.seq, event.type])).toEqual([
      [1, 'iteration.started'],
      [2, 'smoke.ended'],
    ]);
    expect(readFileSync(path, 'utf8').split('\n')).toHaveLength(3);
  });

  it('drops a torn last line when reading, cuts it off when reopening, and goes on numbering', () => {
    const path = join(tempDir(), 'events.jsonl');
    const first = EventLog.open(path).log;
    first.append({ type: 'iteration.started', iteration: 1, headCommit: 'abc' });
    first.close();
    // A crash in the middle of a write leaves half a line without its newline.
    appendFileSync(path, '{"seq":2,"at":"2026-11-24T00:00:00.000Z","type":"smoke.en');
    expect(readEventLog(path)).toMatchObject({ tornTail: true, events: [{ seq: 1 }] });

    const reopened = EventLog.open(path);
    expect(reopened.tornTail).toBe(true);
    reopened.log.append({ type: 'smoke.ended', iteration: 1, result: null });
    reopened.log.close();
    const { events, tornTail } = readEventLog(path);
    expect(tornTail).toBe(false);
    expect(events.map((event) => event.seq)).toEqual([1, 2]);
    expect(readFileSync(path, 'utf8')).not.toContain('smoke.en"');
  });

  it('refuses a log whose middle is corrupt, naming the line', () => {
    const path = join(tempDir(), 'events.jsonl');
    writeFileSync(
      path,
      '{"seq":1,"at":"x","type":"iteration.started","iteration":1,"headCommit":""}\nnot json\n{"seq":3,"at":"x","type":"smoke.ended","iteration":1,"result":null}\n',
    );
    expect(() => readEventLog(path)).toThrow(/events.jsonl:2 is not a JSON event/);
  });

  it('refuses an unknown event type', () => {
    const path = join(tempDir(), 'events.jsonl');
    writeFileSync(path, '{"seq":1,"at":"x","type":"iteration.exploded"}\n');
    expect(() => readEventLog(path)).toThrow(/not a known baton event/);
  });
});

describe('run ids', () => {
  it('sort in the order runs started, even within the same millisecond or behind a clock step', async () => {
    const { newRunId } = await import('../src/api/run.ts');
    const at = new Date('2026-11-24T16:00:30.123Z');
    const ids: string[] = [];
    for (let index = 0; index < 50; index += 1) ids.push(newRunId(at, ids));
    ids.push(newRunId(new Date('2026-11-24T15:00:00.000Z'), ids));
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids[0]).toMatch(/^20261124T160030123Z-[0-9a-f]{6}$/);
  });
});
