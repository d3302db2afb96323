export { CONFIG, REDIS } from '../../../libs/runtime/src';
export const OWNERSHIP = Symbol('OWNERSHIP');
