export * from './errors';
export * from './events';
export * from './room-state';
export * from './socket-events';
export * from './validation';
export * from './room-snapshot';
export * from './membership';
