/**
 * `npm run demo`: lvsd's whole product, live: a director pair driving IPVS
 * in front of three real servers, a real server failing, the master dying.
 *
 *   --mode nat|dr|tun|all  the IPVS story (ipvs.ts); on a kernel without
 *                          IPVS it runs inside the VM test bed (vm-launch.ts)
 *   --mode proxy           the quick look without IPVS and without the VM
 *                          (proxy.ts)
 *
 * Exit status: 0 when the whole story happened, 1 when a step did not (the
 * message says which), 2 for a usage error, 128+N on signal N.
 */
import { DEMO_USAGE, DemoUsageError, type DemoOptions, type IpvsMode, isIpvsMode, parseDemoArgs } from './args';
import { kernelHasIpvs } from './ipvs-cluster';
import { runIpvsDemo } from './ipvs';
import { out } from './output';
import { runProxyDemo } from './proxy';
import { runDemoInVm } from './vm-launch';

function usage(message: string): number {
  process.stderr.write(`demo: ${message}\n${DEMO_USAGE}`);
  return 2;
}

/** Runs the demo with `argv` (without node and script); resolves with the exit status. */
export async function main(argv: readonly string[]): Promise<number> {
  let opts: DemoOptions;
  try {
    opts = parseDemoArgs(argv);
  } catch (e) {
    if (!(e instanceof DemoUsageError)) throw e;
    return usage(e.message);
  }
  if (opts.help) {
    out(DEMO_USAGE);
    return 0;
  }
  if (opts.modes.length === 1 && opts.modes[0] === 'proxy') return runProxyDemo(opts);
  const modes = opts.modes.filter(isIpvsMode);
  if (await kernelHasIpvs()) {
    const where = process.env.LVSD_VM === '1' ? `inside the VM (kernel ${process.env.LVSD_VM_KERNEL ?? 'unknown'})` : 'on this machine';
    let status = 0;
    for (const m of modes) {
      status = Math.max(status, await runIpvsDemo(opts, m, where));
      if (m !== modes[modes.length - 1]) out();
    }
    return status;
  }
  if (process.env.LVSD_VM === '1') {
    process.stderr.write('demo: this guest kernel has no IPVS (/proc/net/ip_vs is missing): the VM test bed did not load ip_vs\n');
    return 1;
  }
  if (opts.keep) return usage('--keep leaves a topology up on this machine, but here the story runs in the VM, which powers off; use --mode proxy');
  return runDemoInVm(opts, modes as IpvsMode[]);
}

if (require.main === module) {
  void main(process.argv.slice(2)).then((code) => process.exit(code));
}
