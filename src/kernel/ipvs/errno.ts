/**
 * Errno name → number, from Node's table of this platform's errors.
 */
import * as util from 'node:util';

/** Positive errno by name ("EEXIST" → 17) for every errno Node knows on this platform. */
export const ERRNO_BY_NAME: Readonly<Record<string, number>> = (() => {
  const out: Record<string, number> = {};
  for (const [neg, [name]] of util.getSystemErrorMap()) if (!(name in out)) out[name] = -neg;
  return out;
})();
