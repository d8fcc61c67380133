export * from './ip.js';
export * from './prefix.js';
export * from './classify.js';
export * from './mac.js';
