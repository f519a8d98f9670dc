export * from './generator';
export * from './write';
