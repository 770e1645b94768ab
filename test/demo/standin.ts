/**
 * The demo's stand-in for IPVS: the host kernel has no IPVS yet, so each
 * director runs this small HTTP proxy on port 80 of every address it has
 * (the VIP included, when lvsd adds it). Each request is forwarded to the
 * next real server in round-robin order, a fresh connection each time, and
 * answered with the director's name plus what the real server said. Once
 * IPVS exists, the director's kernel does this job and the demo's `--mode`
 * picks NAT, DR or TUN instead.
 *
 *   node standin.js NAME PORT REAL_ADDR[,REAL_ADDR...]
 */
import * as http from 'node:http';
import type { RealServerAnswer } from './realserver';

/** The body the stand-in answers with. */
export interface StandinAnswer {
  /** The director that took the request (the VIP's holder). */
  readonly director: string;
  /** The real server that served it, or null when none answered. */
  readonly real: RealServerAnswer | null;
  /** Why no real server answered. */
  readonly error?: string;
}

/** Fetches `/` from `addr:port`, within `timeoutMs`. */
function fetchReal(addr: string, port: number, timeoutMs: number): Promise<RealServerAnswer> {
  return new Promise((resolve, reject) => {
    // agent: false: a new connection per request, as IPVS schedules each
    // connection (not each HTTP request) to a real server.
    const req = http.get({ host: addr, port, path: '/', agent: false, timeout: timeoutMs }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => {
        try {
          resolve(JSON.parse(text) as RealServerAnswer);
        } catch {
          reject(new Error(`bad answer from ${addr}`));
        }
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${addr} timed out`)));
    req.on('error', reject);
  });
}

function main(argv: readonly string[]): void {
  const [name, portText, reals] = argv;
  const backends = (reals ?? '').split(',').filter(Boolean);
  if (!name || !portText || backends.length === 0) {
    process.stderr.write('usage: standin NAME PORT REAL_ADDR[,REAL_ADDR...]\n');
    process.exit(2);
  }
  const port = Number(portText);
  let next = 0;
  const server = http.createServer((_req, res) => {
    const addr = backends[next++ % backends.length]!;
    const answer = (code: number, body: StandinAnswer): void => {
      res.writeHead(code, { 'content-type': 'application/json', connection: 'close' });
      res.end(JSON.stringify(body));
    };
    fetchReal(addr, port, 800).then(
      (real) => answer(200, { director: name, real }),
      (e: Error) => answer(502, { director: name, real: null, error: e.message }),
    );
  });
  server.listen(port, '0.0.0.0', () => process.stdout.write('listening\n'));
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
}

if (require.main === module) main(process.argv.slice(2));
