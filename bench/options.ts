/**
 * The benchmark runner's command line: `node dist/bench/run.js NAME [options]`.
 */
import type { Daemon } from './lib/pair';

/** Options every benchmark reads (each ignores what it does not use). */
export interface BenchOptions {
  /** Samples per configuration (`--runs N`, default 20). */
  runs: number;
  /** advert_int values to try (`--adverts 1,0.1`). */
  adverts?: number[];
  /** Only these daemons (`--only lvsd` or `--only keepalived`). */
  daemons?: Daemon[];
  /** Real-server counts for jitter (`--servers 0,1000`). */
  servers?: number[];
  /** Seconds each measurement window lasts (`--seconds N`). */
  seconds?: number;
  /** Run on the host even where the VM would be used (`--host`). */
  host: boolean;
  /** lvsd with --dry-run (in-memory IPVS) even where the kernel has IPVS (`--dry-run`). */
  dryRun: boolean;
  /** Per-sample lines on stderr (`--verbose`). */
  verbose: boolean;
}

/** A bad benchmark command line. */
export class BenchUsageError extends Error {
  readonly code = 'EBENCHUSAGE';
}

const list = (v: string | undefined, flag: string): number[] => {
  const xs = (v ?? '').split(',').map(Number);
  if (!v || xs.some((x) => !Number.isFinite(x) || x < 0)) throw new BenchUsageError(`${flag} takes a comma-separated list of numbers`);
  return xs;
};

/** Parses the options after the benchmark's name. */
export function parseBenchOptions(argv: readonly string[]): BenchOptions {
  const o: BenchOptions = { runs: 20, host: false, dryRun: false, verbose: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const next = (): string | undefined => argv[++i];
    switch (a) {
      case '--runs': {
        const n = Number(next());
        if (!Number.isInteger(n) || n < 1) throw new BenchUsageError('--runs takes a positive integer');
        o.runs = n;
        break;
      }
      case '--adverts':
        o.adverts = list(next(), a);
        break;
      case '--servers':
        o.servers = list(next(), a);
        break;
      case '--seconds':
        o.seconds = list(next(), a)[0];
        break;
      case '--only': {
        const d = next();
        if (d !== 'lvsd' && d !== 'keepalived') throw new BenchUsageError('--only takes lvsd or keepalived');
        o.daemons = [d];
        break;
      }
      case '--host':
        o.host = true;
        break;
      case '--dry-run':
        o.dryRun = true;
        break;
      case '--verbose':
      case '-v':
        o.verbose = true;
        break;
      default:
        throw new BenchUsageError(`unknown option ${a}`);
    }
  }
  return o;
}
