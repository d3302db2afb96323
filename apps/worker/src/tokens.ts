/** Injection tokens of the worker for values that are not classes. */
export { CONFIG, REDIS } from '../../../libs/runtime/src';
export const WORKER_CONFIG = Symbol('WORKER_CONFIG');
export const S3 = Symbol('S3');
