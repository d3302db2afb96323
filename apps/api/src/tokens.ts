export { CONFIG, REDIS } from '../../../libs/runtime/src';
export const SCHEDULER = Symbol('SCHEDULER');
