// What two programs share, and nothing else: each module here is imported by at least two of them.
export * from './bearer.js';
export * from './cli.js';
export * from './env.js';
export * from './identity.js';
export * from './logger.js';
export * from './metrics.js';
export * from './names.js';
export * from './node-http.js';
export * from './prometheus.js';
export * from './slo.js';
