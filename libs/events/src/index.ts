export * from './errors';
export * from './canonical';
export * from './envelope';
export * from './hash';
export * from './catalogue';
export * from './upcasting';
export * from './keys';
export * from './caisses';
