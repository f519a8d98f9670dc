/** Injection token of the process's Runtime (store, read-model database, clock, Redis state). */
export const RUNTIME = Symbol('RUNTIME');
