/**
 * Dispatch from a check's options to its probe. One file per probe type lives beside
 * this one (tcp.ts, http.ts, misc.ts); this file only picks.
 */
import { httpCheck } from './http';
import { miscCheck } from './misc';
import { tcpCheck } from './tcp';
import { CheckOptions, CheckResult } from './types';

/** A probe: one attempt of one check. Must never throw or reject. */
export type ProbeFn = (opts: CheckOptions, signal: AbortSignal) => Promise<CheckResult>;

/**
 * Runs one attempt of any check type. Never throws or rejects: an unknown type or an
 * unexpected exception becomes `{ ok: false }`.
 */
export const runProbe: ProbeFn = async (opts, signal) => {
  try {
    switch (opts.type) {
      case 'TCP_CHECK':
        return await tcpCheck(opts, signal);
      case 'HTTP_GET':
      case 'SSL_GET':
        return await httpCheck(opts, signal);
      case 'MISC_CHECK':
        return await miscCheck(opts, signal);
      default:
        return { ok: false, reason: `unknown check type ${(opts as { type?: unknown }).type}`, durationMs: 0 };
    }
  } catch (err) {
    return { ok: false, reason: `probe failed: ${(err as Error).message}`, durationMs: 0 };
  }
};
