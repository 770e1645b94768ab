/**
 * Health checking of real servers: the public surface of src/check. The daemon maps
 * config onto {@link RealServerChecks} and runs them in a checker process
 * ({@link forkCheckWorker}) or in-process ({@link CheckScheduler}).
 */
export * from './types';
export { Clock, TimerHandle, systemClock, FakeClock } from '../lib/clock';
export { hysteresisInit, hysteresisStep, HysteresisOptions, HysteresisState, HysteresisStepResult, NextWait } from './hysteresis';
export { tcpCheck } from './tcp';
export { httpCheck, parseStatusCodes, statusAccepted, sniName, StatusCodeSpecError, DEFAULT_MAX_BODY } from './http';
export { miscCheck, splitCommandLine, judgeExit, MiscPathError, DEFAULT_MISC_TIMEOUT } from './misc';
export { runProbe, ProbeFn } from './probe';
export { CheckScheduler, SchedulerOptions, DEFAULT_MAX_IN_FLIGHT } from './scheduler';
export { forkCheckWorker, CheckWorker, ForkCheckWorkerOptions, runWorker, WorkerChannel, ToWorker, FromWorker } from './worker';
