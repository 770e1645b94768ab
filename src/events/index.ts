/** Events of every subsystem: their shape, the emitter subsystems call, and the parent's store. */
export * from './types';
export * from './emit';
export * from './store';
