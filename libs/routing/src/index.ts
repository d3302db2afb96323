export * from './gateway-registry';
export * from './keys';
export * from './placement';
export * from './room-ownership';
