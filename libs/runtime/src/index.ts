export * from './health.controller';
export * from './tokens';
