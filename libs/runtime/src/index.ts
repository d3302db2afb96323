export * from './health.controller';
export * from './tokens';
export * from './shutdown';
export * from './http-connections';
export * from './logger';
