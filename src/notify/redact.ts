/**
 * Secrets out of sight: webhook URLs usually carry a token, as credentials
 * (`https://user:token@host/...`) or in the query (`...?token=...`). Anything
 * lvsd logs, records as an event or shows (status, metrics, the status page)
 * goes through these first. The scheme, host, port and path stay, so an
 * operator can still tell which receiver failed.
 */

/** What stands in for a removed secret. */
export const REDACTED = '***';

/**
 * `url` with its credentials and its query and fragment replaced by
 * {@link REDACTED}: `https://***@hooks.example/x?***`. A string that is not
 * an absolute URL is returned with the same two parts blanked by pattern.
 */
export function redactUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return url.replace(/\/\/[^/@\s]*@/, `//${REDACTED}@`).replace(/[?#].*$/s, `?${REDACTED}`);
  }
  const creds = u.username !== '' || u.password !== '' ? `${REDACTED}@` : '';
  const rest = u.search !== '' || u.hash !== '' ? `?${REDACTED}` : '';
  return `${u.protocol}//${creds}${u.host}${u.pathname}${rest}`;
}

// scheme://anything up to white space or a quote: good enough to find URLs in a message.
const URL_IN_TEXT = /\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>]+/gi;

/** `text` with every URL in it passed through {@link redactUrl}. */
export function redactText(text: string): string {
  return text.replace(URL_IN_TEXT, (m) => redactUrl(m));
}
