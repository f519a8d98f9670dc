export * from './clock';
export * from './config';
export * from './redis';
export * from './jobs';
export * from './dev-secret';
export * from './backoff';
export * from './dev-token';
