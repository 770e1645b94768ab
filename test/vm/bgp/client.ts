/**
 * The scale-out test bed's client (test/vm/scenarios/bgp-scale-out.sh, bench/scale-out.ts),
 * run in the client namespace inside the VM:
 *
 *   node dist/test/vm/bgp/client.js --vip 192.0.2.100 --port 80 --long 200 --rate 10 --read-ms 3000 --out FILE
 *
 * - keeps `--long` TCP connections open, each a slow download of /big (HTTP/1.0): the real
 *   servers' /big starts with their name, and the client reads a little every `--read-ms`,
 *   so each connection carries traffic both ways for as long as it lives (its real server
 *   blocks on a full window in between; the client namespace's small tcp_rmem keeps it so);
 * - opens `--rate` new connections a second, each `GET /` (the real server's name), with a
 *   3 s limit.
 * Appends to `--out`, one fact a line, times in ms of CLOCK_REALTIME (the scenario's
 * `date +%s%N` clock):
 *   LONG_UP <t> <id> <rs>                 a long connection's first bytes arrived
 *   READY <t> <n>                         all long connections up (n of them)
 *   BROKEN <t> <id> <rs> <reason> <bytes> a long connection ended (reset, closed, error)
 *   NEW <start> <end> <rs|FAIL:reason>    one new connection
 *   END <t> alive <n> broken <n> maxgap <ms> stalled <n>   on SIGTERM: the long ones' state;
 *                                         maxgap is the longest pause between two reads of one
 *                                         live connection, stalled counts those silent > 15 s
 * Everything it does is judged by the scenario and the host test, not here.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';

interface Args {
  vip: string;
  port: number;
  long: number;
  rate: number;
  readMs: number;
  out: string;
}

function parseArgs(argv: readonly string[]): Args {
  const a: Args = { vip: '192.0.2.100', port: 80, long: 200, rate: 10, readMs: 3000, out: '' };
  for (let i = 0; i < argv.length; i += 2) {
    const v = argv[i + 1];
    if (v === undefined) throw new Error(`${argv[i]} needs a value`);
    switch (argv[i]) {
      case '--vip': a.vip = v; break;
      case '--port': a.port = Number(v); break;
      case '--long': a.long = Number(v); break;
      case '--rate': a.rate = Number(v); break;
      case '--read-ms': a.readMs = Number(v); break;
      case '--out': a.out = v; break;
      default: throw new Error(`unknown option ${argv[i]}`);
    }
  }
  if (!a.out) throw new Error('--out FILE is required');
  if (!(a.port > 0 && a.long >= 0 && a.rate > 0 && a.readMs > 0)) throw new Error('bad --port, --long, --rate or --read-ms');
  return a;
}

const args = parseArgs(process.argv.slice(2));
const out = fs.openSync(args.out, 'a');
const emit = (line: string): void => {
  fs.writeSync(out, `${line}\n`);
};

/** The real server's name: the first line of an HTTP body, once the headers have ended. */
function bodyName(buf: string): string | undefined {
  const i = buf.indexOf('\r\n\r\n');
  if (i < 0) return undefined;
  const nl = buf.indexOf('\n', i + 4);
  if (nl < 0) return undefined;
  return buf.slice(i + 4, nl).trim() || '?';
}

interface Long {
  id: number;
  rs: string;
  bytes: number;
  lastData: number;
  maxGap: number;
  alive: boolean;
}

const longs: Long[] = [];
/** Paused sockets and when they paused; `reader` resumes those paused for --read-ms. */
const paused = new Map<net.Socket, number>();
const reader = setInterval(() => {
  const due = Date.now() - args.readMs;
  for (const [s, t] of paused) {
    if (t > due) continue;
    paused.delete(s);
    s.resume();
  }
}, 250);
let up = 0;
let stopping = false;

function openLong(id: number): void {
  const c: Long = { id, rs: '-', bytes: 0, lastData: Date.now(), maxGap: 0, alive: true };
  longs.push(c);
  // A small read buffer so a paused socket soon stops reading and its window closes.
  const s = new net.Socket({ readableHighWaterMark: 1024 } as net.SocketConstructorOpts);
  let head = '';
  const end = (reason: string): void => {
    if (!c.alive || stopping) return;
    c.alive = false;
    emit(`BROKEN ${Date.now()} ${id} ${c.rs} ${reason} ${c.bytes}`);
    s.destroy();
  };
  s.on('data', (d: Buffer) => {
    const now = Date.now();
    if (c.bytes > 0) c.maxGap = Math.max(c.maxGap, now - c.lastData);
    c.lastData = now;
    c.bytes += d.length;
    if (c.rs === '-') {
      head += d.toString('latin1');
      const name = bodyName(head);
      if (name) {
        c.rs = name;
        head = '';
        emit(`LONG_UP ${now} ${id} ${name}`);
        if (++up === args.long) emit(`READY ${now} ${up}`);
      }
    }
    // Read again --read-ms later (`reader`): the download stays slow and
    // keeps going, each connection sending a window update that often (a wrong real server
    // answers it with a reset). One timer for all: timers cost under emulation.
    s.pause();
    paused.set(s, now);
  });
  s.on('error', (e: NodeJS.ErrnoException) => end(e.code ?? 'error'));
  s.on('end', () => end('eof'));
  s.on('close', () => end('close'));
  s.connect(args.port, args.vip, () => s.write('GET /big HTTP/1.0\r\n\r\n'));
}

function openNew(): void {
  const start = Date.now();
  let buf = '';
  let done = false;
  const s = net.connect(args.port, args.vip);
  const finish = (res: string): void => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    s.destroy();
    emit(`NEW ${start} ${Date.now()} ${res}`);
  };
  const timer = setTimeout(() => finish('FAIL:timeout'), 3000);
  s.on('connect', () => s.write('GET / HTTP/1.0\r\n\r\n'));
  s.on('data', (d: Buffer) => {
    buf += d.toString('latin1');
  });
  s.on('end', () => finish(bodyName(buf) ?? 'FAIL:short'));
  s.on('error', (e: NodeJS.ErrnoException) => finish(`FAIL:${e.code ?? 'error'}`));
}

// Long connections in batches of 20, 200 ms apart, so the real servers' forks keep up.
let next = 0;
const opener = setInterval(() => {
  for (let k = 0; k < 20 && next < args.long; k++) openLong(next++);
  if (next >= args.long) clearInterval(opener);
}, 200);
const newer = setInterval(openNew, 1000 / args.rate);

process.on('SIGTERM', () => {
  stopping = true;
  clearInterval(newer);
  clearInterval(opener);
  clearInterval(reader);
  const now = Date.now();
  const alive = longs.filter((c) => c.alive);
  const maxGap = alive.reduce((m, c) => Math.max(m, c.maxGap, now - c.lastData), 0);
  const stalled = alive.filter((c) => now - c.lastData > 15_000).length;
  emit(`END ${now} alive ${alive.length} broken ${longs.length - alive.length} maxgap ${maxGap} stalled ${stalled}`);
  fs.closeSync(out);
  process.exit(0);
});
