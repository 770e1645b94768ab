/**
 * `npm run bench -- NAME [options]`: runs benchmark NAME, lvsd beside its
 * Debian peer on one topology in one run. Each prints a table, the ratios
 * and, last, one JSON line with the figures.
 */
import { failover } from './failover';
import { healthBurst } from './health-burst';
import { instancesBench } from './instances';
import { ipvsProgram } from './ipvs-program';
import { memoryBench } from './memory';
import { reload } from './reload';
import { scaleOut } from './scale-out';
import { scrapeBench } from './scrape';
import { checksBench, jitter } from './jitter';
import { BenchUsageError, type BenchOptions, parseBenchOptions } from './options';

/** The benchmarks, by name. */
export const BENCHMARKS: Record<string, (o: BenchOptions, argv: readonly string[]) => Promise<void>> = {
  failover,
  jitter,
  instances: instancesBench,
  reload,
  'ipvs-program': ipvsProgram,
  'health-burst': healthBurst,
  scrape: scrapeBench,
  memory: memoryBench,
  'checker-cost': (o, argv) => checksBench('checker-cost', ['TCP_CHECK', 'HTTP_GET'], o, argv),
  'scale-out': scaleOut,
};

const USAGE = `usage: npm run bench -- NAME [--runs N] [--adverts 1,0.1] [--only lvsd|keepalived] [--servers 0,1000] [--seconds N] [--host] [--dry-run] [--verbose]
benchmarks: ${Object.keys(BENCHMARKS).join(', ')}`;

/** Entry point; exits 2 on a usage error, 1 when a benchmark fails. */
export async function main(argv: readonly string[]): Promise<void> {
  const [name, ...rest] = argv;
  const bench = name ? BENCHMARKS[name] : undefined;
  if (!bench) {
    console.error(name ? `unknown benchmark ${name}\n${USAGE}` : USAGE);
    process.exit(2);
  }
  let opts: BenchOptions;
  try {
    opts = parseBenchOptions(rest);
  } catch (e) {
    if (e instanceof BenchUsageError) {
      console.error(`${e.message}\n${USAGE}`);
      process.exit(2);
    }
    throw e;
  }
  if (process.getuid?.() !== 0) {
    console.error('benchmarks build network namespaces: run them as root');
    process.exit(1);
  }
  await bench(opts, rest);
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((e: Error) => {
    console.error(e.stack ?? e.message);
    process.exit(1);
  });
}
