/** Injection tokens shared by the Nest apps, for values that are not classes. */
export const CONFIG = Symbol('CONFIG');
export const REDIS = Symbol('REDIS');
