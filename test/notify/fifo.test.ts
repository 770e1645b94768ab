import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createMemoryLogger } from '../../src/log';
import { NotifyFifo, formatEndpoint, formatFifoLine } from '../../src/notify/fifo';
import { NotifyRunner } from '../../src/notify/scripts';

describe('notify/fifo: line format', () => {
  it('formats keepalived lines', () => {
    assert.equal(formatFifoLine({ type: 'INSTANCE', name: 'VI_1', state: 'MASTER', priority: 100 }), 'INSTANCE "VI_1" MASTER 100');
    assert.equal(formatFifoLine({ type: 'GROUP', name: 'G1', state: 'BACKUP' }), 'GROUP "G1" BACKUP 0');
    assert.equal(
      formatFifoLine({ type: 'RS', realServer: formatEndpoint('198.51.100.1', 'TCP', 80), virtualServer: formatEndpoint('192.0.2.100', 'TCP', 80), state: 'DOWN' }),
      'RS [198.51.100.1]:tcp:80 [192.0.2.100]:tcp:80 DOWN',
    );
    assert.equal(formatFifoLine({ type: 'VS', virtualServer: formatEndpoint('2001:db8::1', 'udp', 53), state: 'UP' }), 'VS [2001:db8::1]:udp:53 UP');
  });
});

describe('notify/fifo: NotifyFifo on a real named pipe', () => {
  let dir: string;
  let fifoPath: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lvsd-fifo-'));
    fifoPath = path.join(dir, 'notify.fifo');
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  function openReader(): number {
    return fs.openSync(fifoPath, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  }
  function readAll(fd: number): string {
    const buf = Buffer.alloc(1 << 20);
    try {
      return buf.subarray(0, fs.readSync(fd, buf)).toString();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EAGAIN') return '';
      throw e;
    }
  }

  it('creates the fifo, drops and counts lines while nobody reads, never blocking', () => {
    const logger = createMemoryLogger();
    const fifo = new NotifyFifo({ path: fifoPath, create: true, logger });
    assert.ok(fs.statSync(fifoPath).isFIFO());
    const t0 = performance.now();
    assert.equal(fifo.write({ type: 'INSTANCE', name: 'VI_1', state: 'MASTER', priority: 100 }), false);
    assert.equal(fifo.write({ type: 'INSTANCE', name: 'VI_1', state: 'BACKUP', priority: 100 }), false);
    assert.ok(performance.now() - t0 < 100);
    assert.equal(fifo.stats.droppedNoReader, 2);
    assert.equal(logger.records.filter((r) => r.level === 'warn').length, 1, 'one warning per run of drops');
  });

  it('delivers whole lines to a reader, in order', () => {
    execFileSync('mkfifo', [fifoPath]);
    const rd = openReader();
    try {
      const fifo = new NotifyFifo({ path: fifoPath });
      fifo.write({ type: 'INSTANCE', name: 'VI_1', state: 'BACKUP', priority: 150 });
      fifo.write({ type: 'GROUP', name: 'G1', state: 'MASTER' });
      assert.equal(readAll(rd), 'INSTANCE "VI_1" BACKUP 150\nGROUP "G1" MASTER 0\n');
      assert.equal(fifo.stats.written, 2);
      fifo.close();
    } finally {
      fs.closeSync(rd);
    }
  });

  it('drops lines when the pipe is full instead of blocking', () => {
    execFileSync('mkfifo', [fifoPath]);
    const rd = openReader();
    try {
      const fifo = new NotifyFifo({ path: fifoPath });
      const t0 = performance.now();
      // 64 KiB pipe buffer: 5 000 lines of ~28 bytes overflow it.
      for (let i = 0; i < 5000; i++) fifo.write({ type: 'INSTANCE', name: 'VI_1', state: 'MASTER', priority: i % 255 });
      assert.ok(performance.now() - t0 < 2000);
      assert.ok(fifo.stats.droppedFull > 0, JSON.stringify(fifo.stats));
      const text = readAll(rd);
      assert.ok(text.endsWith('\n') && text.split('\n').slice(0, -1).every((l) => /^INSTANCE "VI_1" MASTER \d+$/.test(l)), 'only whole lines');
      fifo.close();
    } finally {
      fs.closeSync(rd);
    }
  });

  it('recovers after the reader goes away and a new one comes', () => {
    execFileSync('mkfifo', [fifoPath]);
    const fifo = new NotifyFifo({ path: fifoPath });
    let rd = openReader();
    assert.ok(fifo.write({ type: 'VS', virtualServer: '[192.0.2.100]:tcp:80', state: 'UP' }));
    fs.closeSync(rd);
    assert.equal(fifo.write({ type: 'VS', virtualServer: '[192.0.2.100]:tcp:80', state: 'DOWN' }), false, 'EPIPE is a drop');
    rd = openReader();
    try {
      assert.ok(fifo.write({ type: 'VS', virtualServer: '[192.0.2.100]:tcp:80', state: 'UP' }));
      assert.equal(readAll(rd), 'VS [192.0.2.100]:tcp:80 UP\n');
    } finally {
      fs.closeSync(rd);
      fifo.close();
    }
  });

  it('gets a line from NotifyRunner.notify even without scripts', async () => {
    execFileSync('mkfifo', [fifoPath]);
    const rd = openReader();
    try {
      const fifo = new NotifyFifo({ path: fifoPath });
      const runner = new NotifyRunner({ fifo });
      assert.deepEqual(await runner.notify({ type: 'INSTANCE', name: 'VI_9', state: 'FAULT', priority: 0 }, {}), []);
      assert.equal(readAll(rd), 'INSTANCE "VI_9" FAULT 0\n');
      fifo.close();
    } finally {
      fs.closeSync(rd);
    }
  });
});
