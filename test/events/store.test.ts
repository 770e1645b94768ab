import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { EVENTS_FILE, EVENTS_FILE_OLD, EventStore, emitEvent, normalizeEvent, setEventSink } from '../../src/events';
import { createMemoryLogger } from '../../src/log';

const ev = (i: number) => ({ at: new Date(Date.UTC(2026, 0, 10, 12, 0, 0, i)).toISOString(), subsystem: 'check' as const, severity: 'warn' as const, subject: `web/rs${i}`, message: `down: ECONNREFUSED #${i}` });
const linesOf = (f: string): string[] => (fs.existsSync(f) ? fs.readFileSync(f, 'utf8').split('\n').filter((l) => l !== '') : []);

describe('events/store: a bounded ring in state_dir', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lvsd-events-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('keeps the last `capacity` events in memory and at most twice that on disk, rotating the file', () => {
    const s = new EventStore({ dir, capacity: 10 });
    for (let i = 1; i <= 25; i++) s.add(ev(i));
    assert.equal(s.size, 10);
    assert.deepEqual(s.query().events.map((e) => e.seq), [16, 17, 18, 19, 20, 21, 22, 23, 24, 25]);
    assert.deepEqual(linesOf(path.join(dir, EVENTS_FILE)).map((l) => (JSON.parse(l) as { seq: number }).seq), [21, 22, 23, 24, 25]);
    assert.deepEqual(linesOf(path.join(dir, EVENTS_FILE_OLD)).map((l) => (JSON.parse(l) as { seq: number }).seq), [11, 12, 13, 14, 15, 16, 17, 18, 19, 20]);
    for (let i = 26; i <= 500; i++) s.add(ev(i));
    assert.ok(linesOf(path.join(dir, EVENTS_FILE)).length + linesOf(path.join(dir, EVENTS_FILE_OLD)).length <= 20);
    s.close();
  });

  it('survives a restart: a new store over the same directory has the same events and continues the seq', () => {
    const a = new EventStore({ dir, capacity: 10 });
    for (let i = 1; i <= 14; i++) a.add(ev(i));
    const before = a.query().events;
    // No close(): a killed lvsd does not close its file either.
    const b = new EventStore({ dir, capacity: 10 });
    assert.deepEqual(b.query().events, before);
    assert.equal(b.add(ev(15))!.seq, 15);
    b.close();
  });

  it('skips a torn last line (a crash mid-write) and lines that do not parse, and appends cleanly after them', () => {
    const log = createMemoryLogger();
    const a = new EventStore({ dir, capacity: 10 });
    for (let i = 1; i <= 3; i++) a.add(ev(i));
    a.close();
    const file = path.join(dir, EVENTS_FILE);
    const lines = linesOf(file);
    fs.writeFileSync(file, `${lines[0]}\nnot json at all\n${lines[1]}\n{"seq":99,"subsystem":"nonsense","subject":"x","message":"y"}\n${lines[2]}\n{"seq":4,"at":"2026-01-10T12:00:0`);
    const b = new EventStore({ dir, capacity: 10, logger: log });
    assert.deepEqual(b.query().events.map((e) => e.seq), [1, 2, 3]);
    assert.ok(log.lines().some((l) => /^warn event history: unreadable lines skipped .*lines=3/.test(l)), log.lines().join('\n'));
    assert.equal(b.add(ev(4))!.seq, 4);
    b.close();
    // The torn tail was cut: every complete line of the file is an event or the old garbage, the new one on its own line.
    const text = fs.readFileSync(file, 'utf8');
    assert.ok(text.endsWith('\n'));
    assert.equal(JSON.parse(linesOf(file).pop()!).seq, 4);
    assert.deepEqual(new EventStore({ dir, capacity: 10 }).query().events.map((e) => e.seq), [1, 2, 3, 4]);
  });

  it('an unwritable state_dir: one warning, then memory only', () => {
    const log = createMemoryLogger();
    const notDir = path.join(dir, 'file');
    fs.writeFileSync(notDir, '');
    const s = new EventStore({ dir: notDir, capacity: 10, logger: log });
    s.add(ev(1));
    s.add(ev(2));
    assert.equal(s.size, 2);
    assert.equal(log.records.filter((r) => r.level === 'warn').length, 1);
  });

  it('checks and cleans what it is given: known subsystem and severity, one line, URLs without secrets, scalar fields', () => {
    const s = new EventStore();
    assert.equal(s.add({ subsystem: 'bogus', subject: 'x', message: 'y' }), null);
    assert.equal(s.add({ subsystem: 'check', severity: 'fatal', subject: 'x', message: 'y' }), null);
    assert.equal(s.add('text'), null);
    const e = s.add({ subsystem: 'notify', severity: 'error', subject: 'ops', message: 'webhook https://u:p@hooks.example/x?token=abc failed\nagain', fields: { url: 'https://hooks.example/y?key=1', n: 3, obj: { a: 1 } as never, ok: true } })!;
    assert.equal(e.message, 'webhook https://***@hooks.example/x?*** failed again');
    assert.deepEqual(e.fields, { url: 'https://hooks.example/y?***', n: 3, obj: '[object Object]', ok: true });
    assert.equal(normalizeEvent({ subsystem: 'vrrp', subject: 'VI_1', message: 'm', fields: { from: 'BACKUP', to: 'MASTER', reason: 'r' } }, 1)!.instance, 'VI_1');
  });

  it('emitEvent: events before a sink wait for it; a throwing sink never reaches the caller', () => {
    // Drain what other tests of this process emitted with no sink set (the director's and engine's events).
    setEventSink(() => undefined);
    setEventSink(undefined);
    emitEvent(ev(1));
    const got: unknown[] = [];
    setEventSink((e) => got.push(e));
    emitEvent(ev(2));
    assert.deepEqual(got.map((e) => (e as { subject: string }).subject), ['web/rs1', 'web/rs2']);
    setEventSink(() => {
      throw new Error('boom');
    });
    emitEvent(ev(3));
    setEventSink(undefined);
  });
});
