/**
 * axios, loaded on first use. Loading it costs about 85 ms of CPU (a third of a bare
 * lvsd start on this machine, 25 times that under emulation) in every lvsd process,
 * while only HTTP_GET/SSL_GET probes and the webhook notifier use it.
 */
import type { AxiosStatic } from 'axios';

let loaded: AxiosStatic | undefined;

/** The axios instance, required on the first call. */
export function axios(): AxiosStatic {
  // A plain require: an `import` would load it at start-up in every process.
  loaded ??= require('axios') as AxiosStatic;
  return loaded;
}
