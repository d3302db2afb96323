export * from './gateway-registry';
export * from './keys';
export * from './placement';
export * from './room-ownership';
export * from './redis-call';
export * from './redis-connection';
