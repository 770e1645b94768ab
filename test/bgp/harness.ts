/**
 * Drives lvsd's BGP module (src/bgp/service.ts) inside a network namespace
 * with the real kernel routes, addresses and BIRD, without the rest of lvsd
 * (the host kernel has no IPVS, so the daemon's director cannot run here).
 * Run as `ip netns exec NS node harness.js CONFIG STATE_DIR`; it reads one
 * JSON command per line on stdin and answers one JSON line on stdout:
 * `{"cmd":"quorum","vs":"web","up":true}`, `{"cmd":"drain","drained":true}`,
 * `{"cmd":"status"}`, `{"cmd":"stop"}` (answers, then exits).
 * Events go to stdout too, as `{"event": ...}` lines.
 */
import * as readline from 'node:readline';
import { loadConfigOrThrow } from '../../src/config';
import { setEventSink } from '../../src/events';
import { BgpService } from '../../src/bgp/service';
import { KernelVipRoutes } from '../../src/bgp/routes';
import { KernelAddresses } from '../../src/kernel/addresses';
import { FakeSysctls } from '../../src/kernel/sysctl';
import { systemClock } from '../../src/lib/clock';
import { nullLogger } from '../../src/log';

async function main(): Promise<void> {
  const [file, stateDir] = process.argv.slice(2);
  const { config } = loadConfigOrThrow(file!, { host: null });
  const out = (v: unknown) => process.stdout.write(`${JSON.stringify(v)}\n`);
  setEventSink((e) => out({ event: e }));
  const addresses = new KernelAddresses();
  const svc = new BgpService({
    config,
    routes: new KernelVipRoutes(),
    addresses,
    // The host has no IPVS sysctls: a fake with the defaults of Debian's kernel.
    sysctls: new FakeSysctls({ 'net.ipv4.vs.sloppy_tcp': '0', 'net.ipv4.vs.sloppy_sctp': '0', 'net.ipv4.vs.expire_nodest_conn': '0', 'net.ipv4.vs.expire_quiescent_template': '0' }),
    clock: systemClock,
    logger: nullLogger,
    stateDir: stateDir!,
    pollMs: 300,
  });
  await svc.start();
  out({ ready: true });
  const rl = readline.createInterface({ input: process.stdin });
  for await (const line of rl) {
    const c = JSON.parse(line) as { cmd: string; vs?: string; up?: boolean; drained?: boolean };
    try {
      if (c.cmd === 'quorum') {
        svc.quorum(c.vs!, c.up!);
        out({ ok: true });
      } else if (c.cmd === 'drain') out({ ok: true, status: await svc.drain(c.drained!) });
      else if (c.cmd === 'status') out({ ok: true, status: svc.status() });
      else if (c.cmd === 'stop') {
        await svc.stop();
        out({ ok: true });
        addresses.close();
        process.exit(0);
      } else out({ ok: false, error: `unknown command ${c.cmd}` });
    } catch (e) {
      out({ ok: false, error: (e as Error).message });
    }
  }
  // stdin closed: leave as a crash would, routes and addresses where they are.
  process.exit(0);
}

main().catch((e: Error) => {
  process.stderr.write(`harness: ${e.stack ?? e.message}\n`);
  process.exit(1);
});
