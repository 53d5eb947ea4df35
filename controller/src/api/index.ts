// The AlertScaler API as other programs use it (@concert-booking/controller/api): the schemas, the CRD, the
// bundle's spec and which alerts a spec selects. Nothing here talks to a cluster.
export * from './alert-role.js';
export * from './alertscaler.js';
export * from './booking-scaler.js';
export * from './onsale.js';
