/**
 * The demo's client: requests `http://VIP:PORT/` every INTERVAL ms, each on
 * a new connection with a 1 s deadline, and prints one JSON line per result
 * ({@link ClientResult}) as soon as it is known. With `--once` it makes a
 * single request and exits 0 on an answer, 1 otherwise (a readiness probe).
 *
 *   node client.js URL INTERVAL_MS
 *   node client.js --once URL
 */
import * as http from 'node:http';

/** One request's outcome, as printed (one JSON object per line). */
export interface ClientResult {
  /** Sequence number, from 1. */
  readonly seq: number;
  /** How long the request took, in ms (to the answer or the failure). */
  readonly ms: number;
  /** The parsed answer body, when an HTTP answer came. */
  readonly answer?: unknown;
  /** The HTTP status, when an answer came. */
  readonly status?: number;
  /** Why there was no answer: an errno code such as ECONNREFUSED, or TIMEOUT. */
  readonly error?: string;
}

/** Deadline of one request: past it, the request counts as "no answer". */
const REQUEST_TIMEOUT_MS = 1000;

function request(url: string, seq: number): Promise<ClientResult> {
  const t0 = performance.now();
  const ms = (): number => Math.round(performance.now() - t0);
  return new Promise((resolve) => {
    const req = http.get(url, { agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => {
        let answer: unknown = text;
        try {
          answer = JSON.parse(text);
        } catch {
          /* keep the raw text */
        }
        resolve({ seq, ms: ms(), status: res.statusCode, answer });
      });
      res.on('error', (e: NodeJS.ErrnoException) => resolve({ seq, ms: ms(), error: e.code ?? e.message }));
    });
    // One deadline for the whole exchange (connect and answer), not just socket idleness.
    const deadline = setTimeout(() => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })), REQUEST_TIMEOUT_MS);
    req.on('close', () => clearTimeout(deadline));
    req.on('error', (e: NodeJS.ErrnoException) => resolve({ seq, ms: ms(), error: e.code ?? e.message }));
  });
}

async function main(argv: readonly string[]): Promise<void> {
  if (argv[0] === '--once') {
    const r = await request(argv[1] ?? '', 1);
    process.exit(r.status === 200 ? 0 : 1);
  }
  const [url, intervalText] = argv;
  const interval = Number(intervalText);
  if (!url || !(interval > 0)) {
    process.stderr.write('usage: client URL INTERVAL_MS | client --once URL\n');
    process.exit(2);
  }
  let seq = 0;
  // A fixed cadence: a slow answer does not delay the next request.
  const tick = (): void => {
    void request(url, ++seq).then((r) => process.stdout.write(JSON.stringify(r) + '\n'));
  };
  tick();
  setInterval(tick, interval);
  process.on('SIGTERM', () => process.exit(0));
}

if (require.main === module) void main(process.argv.slice(2));
