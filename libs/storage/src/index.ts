export * from './s3';
export * from './snapshot.store';
export * from './export.store';
export * from './snapshot-encoder';
export * from './snapshot-transfer';
