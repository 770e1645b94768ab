/**
 * A demo real server: a tiny HTTP service that answers every request with a
 * JSON object naming itself. Run inside a real server's namespace:
 *
 *   node realserver.js NAME ADDRESS [PORT]
 *
 * It prints `listening` once it accepts connections and exits on SIGTERM.
 */
import * as http from 'node:http';

/** The body a real server answers with. */
export interface RealServerAnswer {
  readonly server: string;
  readonly addr: string;
}

function main(argv: readonly string[]): void {
  const [name, addr, portText = '80'] = argv;
  if (!name || !addr) {
    process.stderr.write('usage: realserver NAME ADDRESS [PORT]\n');
    process.exit(2);
  }
  const body: RealServerAnswer = { server: name, addr };
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', connection: 'close' });
    res.end(JSON.stringify(body));
  });
  server.listen(Number(portText), addr, () => process.stdout.write('listening\n'));
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
}

if (require.main === module) main(process.argv.slice(2));
