// Tests of src/log.ts (the logger the control and notify code log through).
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { spawnSync } from 'node:child_process';
import { LogLevelError, createLogger, createMemoryLogger, formatLine, isLogLevel, nullLogger, underJournal } from '../../src/log';

function capture(): { stream: PassThrough; lines: () => string[] } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (c: Buffer) => (text += c.toString()));
  return { stream, lines: () => text.split('\n').filter((l) => l !== '') };
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('log', () => {
  it('formats one line: level message key=value, quoting only when needed', () => {
    assert.equal(
      formatLine('info', 'VI_1 entering MASTER', { instance: 'VI_1', prio: 150, vip: '192.0.2.100/24', reason: 'master down timer expired', ok: true }),
      'info VI_1 entering MASTER instance=VI_1 prio=150 vip=192.0.2.100/24 reason="master down timer expired" ok=true',
    );
    assert.equal(formatLine('warn', 'two\nlines', { err: new Error('boom "x"'), q: '' }), 'warn two\\nlines err="boom \\"x\\"" q=""');
  });

  it('writes to the stream at or above the level, without colours, and changes level at run time', async () => {
    const out = capture();
    const log = createLogger({ level: 'info', stream: out.stream });
    log.debug('hidden');
    log.info('shown', { a: 1 });
    log.error('bad', { code: 'EACCES' });
    log.setLevel('debug');
    assert.equal(log.level, 'debug');
    log.child({ instance: 'VI_1' }).debug('now shown', { b: 'x y' });
    await tick();
    assert.deepEqual(out.lines(), ['info shown a=1', 'error bad code=EACCES', 'debug now shown instance=VI_1 b="x y"']);
    assert.ok(!out.lines().join('').includes('\x1b['), 'no ANSI colours on a non-TTY stream');
  });

  it('writes JSON lines in json mode', async () => {
    const out = capture();
    createLogger({ json: true, stream: out.stream }).warn('w', { n: 2 });
    await tick();
    assert.deepEqual(out.lines().map((l) => JSON.parse(l)), [{ level: 'warn', message: 'w', n: 2 }]);
  });

  it('also appends to a file, with a timestamp', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lvsd-log-'));
    try {
      const file = path.join(dir, 'lvsd.log');
      const out = capture();
      createLogger({ file, stream: out.stream }).info('to file', { k: 'v' });
      let text = '';
      for (let i = 0; i < 100 && !text; i++) {
        await new Promise((r) => setTimeout(r, 20));
        text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
      }
      assert.match(text, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z info to file k=v\n$/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rejects unknown levels with a stable code', () => {
    assert.ok(isLogLevel('warn') && !isLogLevel('verbose'));
    assert.throws(() => createLogger({ level: 'verbose' as never }), (e: unknown) => e instanceof LogLevelError && e.code === 'LOG_LEVEL_INVALID' && /error, warn, info, debug/.test(e.message));
  });

  it('memory logger keeps records (shared with children) and null logger drops everything', () => {
    const m = createMemoryLogger('info');
    m.debug('no');
    m.child({ c: 1 }).warn('yes', { d: 2 });
    assert.deepEqual(m.records, [{ level: 'warn', message: 'yes', fields: { c: 1, d: 2 } }]);
    assert.deepEqual(m.lines(), ['warn yes c=1 d=2']);
    nullLogger.error('nothing');
    assert.equal(nullLogger.child({}), nullLogger);
  });

  it('under the journal prefixes every line with its syslog priority and sends errors to the error stream', async () => {
    const out = capture();
    const err = capture();
    const log = createLogger({ level: 'debug', stream: out.stream, errorStream: err.stream, journal: true });
    log.debug('d');
    log.info('i', { a: 1 });
    log.warn('w');
    log.error('e', { code: 'X' });
    await tick();
    assert.deepEqual(out.lines(), ['<7>debug d', '<6>info i a=1', '<4>warn w']);
    assert.deepEqual(err.lines(), ['<3>error e code=X']);
  });

  it('knows it is under the journal only when JOURNAL_STREAM names its own stdout or stderr', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lvsd-log-'));
    const fd = fs.openSync(path.join(dir, 'out'), 'w');
    try {
      const st = fs.fstatSync(fd);
      assert.equal(underJournal({}, [fd]), false);
      assert.equal(underJournal({ JOURNAL_STREAM: `${st.dev}:${st.ino}` }, [fd]), true);
      assert.equal(underJournal({ JOURNAL_STREAM: `${st.dev}:${st.ino + 1}` }, [fd]), false, 'a stream inherited from elsewhere is not ours');
      assert.equal(underJournal({ JOURNAL_STREAM: 'garbage' }, [fd]), false);
    } finally {
      fs.closeSync(fd);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a process whose stdout is the JOURNAL_STREAM writes <N> lines, errors on stderr; without it, plain lines', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lvsd-log-'));
    try {
      const program = `const { createLogger } = require(${JSON.stringify(path.resolve(__dirname, '../../src/log.js'))});
        const log = createLogger({ level: 'debug' });
        log.debug('d'); log.info('i'); log.warn('w'); log.error('e', { k: 'v' });`;
      const runWith = (journal: boolean): { out: string; err: string } => {
        const outFile = path.join(dir, `out-${journal}`);
        const errFile = path.join(dir, `err-${journal}`);
        const o = fs.openSync(outFile, 'w');
        const e = fs.openSync(errFile, 'w');
        const st = fs.fstatSync(o);
        const env = { ...process.env };
        delete env.JOURNAL_STREAM;
        if (journal) env.JOURNAL_STREAM = `${st.dev}:${st.ino}`;
        const r = spawnSync(process.execPath, ['-e', program], { env, stdio: ['ignore', o, e] });
        fs.closeSync(o);
        fs.closeSync(e);
        assert.equal(r.status, 0, fs.readFileSync(errFile, 'utf8'));
        return { out: fs.readFileSync(outFile, 'utf8'), err: fs.readFileSync(errFile, 'utf8') };
      };
      assert.deepEqual(runWith(true), { out: '<7>debug d\n<6>info i\n<4>warn w\n', err: '<3>error e k=v\n' });
      assert.deepEqual(runWith(false), { out: 'debug d\ninfo i\nwarn w\n', err: 'error e k=v\n' });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('never writes a URL\'s credentials or query, in a message, a field or JSON (issue 12)', async () => {
    const url = 'https://ops:s3cr3t@hooks.example/x?token=t0k3n';
    assert.equal(formatLine('error', `POST ${url} failed`, { url, obj: { url } }), 'error POST https://***@hooks.example/x?*** failed url=\"https://***@hooks.example/x?***\" obj="{\\"url\\":\\"https://***@hooks.example/x?***\\"}"');
    const out = capture();
    createLogger({ json: true, stream: out.stream }).warn(`to ${url}`, { url });
    await tick();
    assert.deepEqual(out.lines().map((l) => JSON.parse(l)), [{ level: 'warn', message: 'to https://***@hooks.example/x?***', url: 'https://***@hooks.example/x?***' }]);
  });

  it('writes a burst of lines in few writes, each of whole lines and at most PIPE_BUF bytes, in order, errors on their own stream', async () => {
    const writes: string[] = [];
    const errWrites: string[] = [];
    const sink = (into: string[]): Writable => new Writable({ write(c: Buffer, _e, cb) { into.push(c.toString()); cb(); } });
    const log = createLogger({ level: 'info', stream: sink(writes), errorStream: sink(errWrites) }).child({ process: 'director' });
    for (let i = 0; i < 11_000; i++) {
      log.info('real server added', { service: `TCP 192.0.2.100:${1024 + i}`, rs: `198.51.100.1:${i}`, weight: 1, note: i % 1000 === 0 ? 'héllo wörld' : undefined });
      if (i % 2000 === 0) log.error('a write failed', { n: i });
    }
    log.debug('hidden');
    await tick();
    const lines = writes.join('').split('\n').filter(Boolean);
    assert.equal(lines.length, 11_000);
    lines.forEach((l, i) => assert.ok(l.startsWith(`info real server added process=director service="TCP 192.0.2.100:${1024 + i}"`), l));
    assert.deepEqual(errWrites.join('').split('\n').filter(Boolean), [0, 2000, 4000, 6000, 8000, 10000].map((n) => `error a write failed process=director n=${n}`));
    for (const w of [...writes, ...errWrites]) {
      assert.ok(w.endsWith('\n'), 'a write ends with a whole line');
      assert.ok(Buffer.byteLength(w) <= 4096, `a write of ${Buffer.byteLength(w)} bytes`);
    }
    assert.ok(writes.length < 11_000 / 20, `${writes.length} writes for 11,000 lines`);
  });

  it('a process that logs a burst and exits at once (process.exit) loses no line', () => {
    const program = `const { createLogger } = require(${JSON.stringify(path.resolve(__dirname, '../../src/log.js'))});
      const log = createLogger({ level: 'info' });
      for (let i = 0; i < 5000; i++) log.info('line', { i });
      log.error('last', { i: 5000 });
      process.exit(3);`;
    const env = { ...process.env };
    delete env.JOURNAL_STREAM;
    const r = spawnSync(process.execPath, ['-e', program], { env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    assert.equal(r.status, 3);
    const out = r.stdout.split('\n').filter(Boolean);
    assert.equal(out.length, 5000);
    assert.equal(out[4999], 'info line i=4999');
    assert.equal(r.stderr, 'error last i=5000\n');
  });
});
