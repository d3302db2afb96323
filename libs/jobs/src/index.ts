export * from './connection';
export * from './export-requests';
export * from './queues';
