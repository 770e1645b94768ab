/**
 * Shared helpers for the config tests: small configurations written as line
 * arrays (so a line number is the array index + 1) and problem formatting.
 */
import * as path from 'node:path';
import { parseConfig } from '../../src/config/load';
import { formatProblems } from '../../src/config/errors';
import type { HostProbe } from '../../src/config/host';

/** The file name used in messages. */
export const F = 't.conf';

/** The repository root (tests run from dist/test/config). */
export const ROOT = path.resolve(__dirname, '../../..');

/** A host that has everything: no host warnings. */
export const everythingHost: HostProbe = { interfaceExists: () => true, programRunnable: () => true, mayRunAs: () => true };

/** Parses lines and returns the formatted problems. */
export function problems(lines: readonly string[], host: HostProbe | null = everythingHost): string[] {
  return formatProblems(parseConfig(lines.join('\n'), F, { host }).problems);
}

/** Parses lines and returns only the error lines. */
export function errors(lines: readonly string[]): string[] {
  return problems(lines).filter((l) => !l.includes(': warning: '));
}

/** A minimal valid instance section, to build tests on. */
export function instance(name: string, extra: readonly string[] = [], vrid = 51, iface = 'eth0'): string[] {
  return [`[vrrp_instance.${name}]`, `interface = ${iface}`, `virtual_router_id = ${vrid}`, ...extra];
}
