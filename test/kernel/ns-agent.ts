/**
 * Runs inside a test namespace (started with `ip netns exec NS node ns-agent.js`)
 * and drives the real kernel interfaces there: one JSON request per stdin
 * line `{id, op, args}`, one JSON answer per stdout line
 * `{id, ok, value | error}`, plus `{event: "link", change}` lines after "watch" and `{event: "addr", addr}`
 * lines after "addr.watch".
 * Namespace tests need it because a Node process cannot enter a namespace itself.
 */
import * as readline from 'node:readline';
import { KernelAddresses } from '../../src/kernel/addresses';
import { PacketAnnouncer } from '../../src/kernel/arp/sender';
import { KernelLinks } from '../../src/kernel/links';
import { GenlSocket } from '../../src/kernel/netlink/genl';

const links = new KernelLinks();
const addrs = new KernelAddresses();
const announcer = new PacketAnnouncer(links);
let unwatch: (() => void) | undefined;
let unwatchAddr: (() => void) | undefined;

function out(v: unknown): void {
  process.stdout.write(`${JSON.stringify(v)}\n`);
}

async function call(op: string, args: unknown[]): Promise<unknown> {
  const s = (i: number): string => String(args[i]);
  switch (op) {
    case 'links.list':
      return links.list();
    case 'links.get':
      return links.get(s(0));
    case 'addr.list':
      return addrs.list(typeof args[0] === 'number' ? args[0] : s(0), args[1] as 4 | 6 | undefined);
    case 'addr.add':
      return addrs.add(s(0), s(1));
    case 'addr.remove':
      return addrs.remove(s(0), s(1));
    case 'addr.primaryIPv4':
      return addrs.primaryIPv4(s(0));
    case 'addr.linkLocalIPv6':
      return addrs.linkLocalIPv6(s(0));
    case 'announce':
      return announcer.announce(s(0), args[1] as string[]);
    case 'genl.family': {
      const g = GenlSocket.open();
      try {
        const f = await g.resolveFamily(s(0));
        return { ...f, mcastGroups: Object.fromEntries(f.mcastGroups) };
      } finally {
        g.close();
      }
    }
    case 'watch':
      unwatch ??= links.onChange(
        (change) => out({ event: 'link', change }),
        (e) => out({ event: 'error', error: e.message }),
      );
      return true;
    case 'addr.watch':
      unwatchAddr ??= addrs.onChange(
        (addr) => out({ event: 'addr', addr }),
        (e) => out({ event: 'error', error: e.message }),
      );
      return true;
    default:
      throw new Error(`unknown op ${op}`);
  }
}

const rl = readline.createInterface({ input: process.stdin });
rl.on('line', (line) => {
  const { id, op, args } = JSON.parse(line) as { id: number; op: string; args: unknown[] };
  call(op, args ?? []).then(
    (value) => out({ id, ok: true, value: value ?? null }),
    (e: Error & { code?: string; errno?: number; request?: string }) =>
      out({ id, ok: false, error: { name: e.name, code: e.code, errno: e.errno, request: e.request, message: e.message } }),
  );
});
rl.on('close', () => {
  unwatch?.();
  unwatchAddr?.();
  links.close();
  addrs.close();
  announcer.close();
});
out({ event: 'ready' });
