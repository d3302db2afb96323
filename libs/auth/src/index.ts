export * from './password';
export * from './rate-limiter';
export * from './tokens';
