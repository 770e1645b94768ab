/**
 * The demo's command line. Pure: argv in, options or a {@link DemoUsageError}
 * out.
 */

/**
 * What `--mode` chooses: an IPVS forwarding method (lvsd drives the kernel's
 * IPVS; LVS-NAT, LVS-DR, LVS-TUN), or `proxy`, a stand-in HTTP proxy on each
 * director that needs no IPVS and no VM.
 */
export const DemoMode = { NAT: 'nat', DR: 'dr', TUN: 'tun', PROXY: 'proxy' } as const;
export type DemoMode = (typeof DemoMode)[keyof typeof DemoMode];

/** The IPVS forwarding methods, in the order `--mode all` runs them. */
export const IPVS_MODES = [DemoMode.NAT, DemoMode.DR, DemoMode.TUN] as const;
/** One of {@link IPVS_MODES}. */
export type IpvsMode = (typeof IPVS_MODES)[number];

/** True when `m` is an IPVS forwarding method. */
export function isIpvsMode(m: DemoMode): m is IpvsMode {
  return (IPVS_MODES as readonly string[]).includes(m);
}

/** What the demo was asked to do. */
export interface DemoOptions {
  /** VRRP advert_int in seconds (keepalived's default is 1). */
  readonly advertInt: number;
  /** Leave the topology up after the story, until Ctrl-C. */
  readonly keep: boolean;
  /**
   * What to show, in order: one mode, or with `--mode all` the three IPVS
   * methods one after the other (one VM boot when the VM is needed).
   */
  readonly modes: readonly DemoMode[];
  /** How long each calm phase (steady traffic) lasts, in ms. */
  readonly calmMs: number;
  readonly help: boolean;
}

/** A bad command line. */
export class DemoUsageError extends Error {
  /** Stable error code. */
  readonly code = 'DEMO_USAGE';
}

/** The text of `--help`. */
export const DEMO_USAGE = `usage: npm run demo -- [--mode nat|dr|tun|all|proxy] [--advert-int SEC] [--calm SEC] [--keep]

Builds a client, two lvsd directors (priorities 150 and 100) and three real
servers in network namespaces and tells a story with a live line per request
to the VIP: requests spread over the real servers, one real server fails and
its health check takes it out of the IPVS table, the master director dies
(kill -9) and the backup takes over, then the failover timeline from
lvsctl events of both directors. Needs root. Cleans up on exit, Ctrl-C and
errors.

On a kernel without IPVS (CONFIG_IP_VS) the story runs inside the VM test
bed (test/vm: Debian's kernel under qemu, one boot per run) and its console
streams here; the VM powers off at the end.

  --mode MODE       nat (default): LVS-NAT, a sync group of the client VIP and
                      the real servers' gateway VIP
                    dr: direct routing, real servers set up by lvs-realserver
                    tun: IPIP tunnelling, replies through a plain router
                    all: nat, dr and tun one after the other
                    proxy: no IPVS and no VM: two real servers behind a small
                      HTTP proxy on each director; the master dies and comes
                      back (preemption)
  --advert-int SEC  VRRP advertisement interval (default 1; 0.5 is quicker)
  --calm SEC        steady traffic shown between the acts (default 2)
  --keep            leave the topology up after the story until Ctrl-C (not
                    in the VM)
  -h, --help        show this help
`;

/** Parses the demo's argv (without node and script). */
export function parseDemoArgs(argv: readonly string[]): DemoOptions {
  let advertInt = 1;
  let calmMs = 2000;
  let keep = false;
  let help = false;
  let modes: readonly DemoMode[] = [DemoMode.NAT];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined || v.startsWith('-')) throw new DemoUsageError(`${a} needs a value`);
      return v;
    };
    switch (a) {
      case '--advert-int': {
        const v = value();
        // RFC 5798 §5.2.7: centiseconds; lvsd takes 0.01–40.95 s. Below 0.1 s a
        // loaded test machine makes the demo flap rather than fail over.
        if (!/^\d+(\.\d{1,2})?$/.test(v) || Number(v) < 0.1 || Number(v) > 10) {
          throw new DemoUsageError(`--advert-int takes seconds from 0.1 to 10 in 0.01 steps, not "${v}"`);
        }
        advertInt = Number(v);
        break;
      }
      case '--calm': {
        const v = value();
        if (!/^\d+(\.\d+)?$/.test(v) || Number(v) > 60) throw new DemoUsageError(`--calm takes seconds from 0 to 60, not "${v}"`);
        calmMs = Number(v) * 1000;
        break;
      }
      case '--keep':
        keep = true;
        break;
      case '--mode': {
        const v = value();
        if (v === 'all') modes = IPVS_MODES;
        else if ((Object.values(DemoMode) as string[]).includes(v)) modes = [v as DemoMode];
        else throw new DemoUsageError(`--mode takes nat, dr, tun, all or proxy, not "${v}"`);
        break;
      }
      case '-h':
      case '--help':
        help = true;
        break;
      default:
        throw new DemoUsageError(`unknown argument "${a}"`);
    }
  }
  if (keep && modes.length > 1) throw new DemoUsageError('--keep needs a single mode, not all');
  return { advertInt, keep, modes, calmMs, help };
}

/**
 * Master_Down_Interval in ms of a VRRPv3 backup of priority `prio`
 * (RFC 5798 §6.1: 3 × Master_Adver_Interval + Skew_Time, Skew_Time =
 * (256 − Priority) × Master_Adver_Interval / 256).
 */
export function masterDownMs(advertSec: number, prio: number): number {
  return (3 * advertSec + ((256 - prio) * advertSec) / 256) * 1000;
}
