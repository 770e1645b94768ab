/**
 * The demo's command line. Pure: argv in, options or a {@link DemoUsageError}
 * out.
 */

/** Forwarding methods `--mode` will choose once IPVS exists. */
export const DemoMode = { NAT: 'nat', DR: 'dr', TUN: 'tun' } as const;
export type DemoMode = (typeof DemoMode)[keyof typeof DemoMode];

/** What the demo was asked to do. */
export interface DemoOptions {
  /** VRRP advert_int in seconds (keepalived's default is 1). */
  readonly advertInt: number;
  /** Leave the topology up after the story, until Ctrl-C. */
  readonly keep: boolean;
  /** Reserved: the IPVS forwarding method, unused while the stand-in proxy serves. */
  readonly mode: DemoMode | undefined;
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
export const DEMO_USAGE = `usage: npm run demo -- [--advert-int SEC] [--calm SEC] [--keep] [--mode nat|dr|tun]

Builds a client, two lvsd directors and two real servers in network
namespaces, kills the master director and brings it back, with a live line
of requests to the VIP. Needs root. Cleans up on exit, Ctrl-C and errors.

  --advert-int SEC  VRRP advertisement interval (default 1; 0.5 is quicker)
  --calm SEC        steady traffic shown between the acts (default 2)
  --keep            leave the topology up after the story until Ctrl-C
  --mode MODE       reserved for IPVS (nat, dr, tun); the host kernel has no
                    IPVS, so a stand-in proxy on each director serves the VIP
  -h, --help        show this help
`;

/** Parses the demo's argv (without node and script). */
export function parseDemoArgs(argv: readonly string[]): DemoOptions {
  let advertInt = 1;
  let calmMs = 2000;
  let keep = false;
  let help = false;
  let mode: DemoMode | undefined;
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
        if (!(Object.values(DemoMode) as string[]).includes(v)) throw new DemoUsageError(`--mode takes nat, dr or tun, not "${v}"`);
        mode = v as DemoMode;
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
  return { advertInt, keep, mode, calmMs, help };
}

/**
 * Master_Down_Interval in ms of a VRRPv3 backup of priority `prio`
 * (RFC 5798 §6.1: 3 × Master_Adver_Interval + Skew_Time, Skew_Time =
 * (256 − Priority) × Master_Adver_Interval / 256).
 */
export function masterDownMs(advertSec: number, prio: number): number {
  return (3 * advertSec + ((256 - prio) * advertSec) / 256) * 1000;
}
