export * from './database';
export * from './event-log.repository';
export * from './room.repository';
export * from './user.repository';
export * from './snapshot.repository';
export * from './export.repository';
export * from './snapshot-backlog.repository';
