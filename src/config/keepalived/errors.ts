/**
 * Why a keepalived.conf could not be read at all: one class, a stable `code`
 * per cause, and the file and line to point at (line 0 = the file as a whole).
 * Anything short of this (an unknown keyword, a feature lvsd lacks) is not an
 * error but an entry in the import report.
 */

/** Stable codes of {@link KeepalivedConfigError}. */
export const KeepalivedErrorCode = {
  /** A file (the main one or an included one) could not be read. */
  Read: 'KEEPALIVED_READ',
  /** Unbalanced braces, an unterminated quote, a `{` without a keyword. */
  Syntax: 'KEEPALIVED_SYNTAX',
  /** A file includes itself, directly or through other files. */
  IncludeCycle: 'KEEPALIVED_INCLUDE_CYCLE',
} as const;

/** One of {@link KeepalivedErrorCode}'s values. */
export type KeepalivedErrorCode = (typeof KeepalivedErrorCode)[keyof typeof KeepalivedErrorCode];

/** A keepalived configuration that cannot be parsed; `message` is `FILE:LINE: what`. */
export class KeepalivedConfigError extends Error {
  override readonly name = 'KeepalivedConfigError';

  constructor(
    readonly code: KeepalivedErrorCode,
    readonly file: string,
    readonly line: number,
    readonly detail: string,
  ) {
    super(`${file}:${line}: ${detail}`);
  }
}
