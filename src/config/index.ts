/**
 * lvsd's configuration: load and validate the INI file, format problems for
 * `--check-config`, and diff two configurations for a reload.
 */
export { loadConfig, loadConfigOrThrow, parseConfig, SECTION_KINDS, type LoadOptions, type LoadResult, type SectionKind } from './load';
export { ConfigInvalidError, formatProblem, formatProblems, hasErrors, ProblemCode, sortProblems, type Problem, type Severity } from './errors';
export { diffConfig, type ConfigDiff, type NamedDiff } from './diff';
export { fakeHost, realHost, type HostProbe } from './host';
export { formatEndpoint, parseEndpoint, parseIp, parseIpPrefix } from './address';
export { splitArgv } from './reader';
export { DEFAULT_VRRP_UDP_PORT } from './build-vrrp';
export { GLOBAL_DEFAULTS } from './build-global';
export { BGP_DEFAULTS } from './build-bgp';
export * from './types';
