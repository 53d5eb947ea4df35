// The one typed configuration object of the bundle: its schema (values/schema.ts), its defaults
// (values/defaults.ts) and the overrides applied at synth time (values/overrides.ts).
export * from './values/defaults.js';
export * from './values/overrides.js';
export * from './values/schema.js';
