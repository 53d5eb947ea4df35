/**
 * Names other parts of the bundle (the docs, the monitoring config, the controller, the k6 Jobs) rely on.
 * Changing one is a breaking change for users: Service names are DNS names, Secret names and keys are typed
 * by hand in `kubectl create secret`.
 */

/** Container ports (the Service in front of the booking service listens on 80). */
export const PORTS = {
  bookingService: 8080,
  /**
   * /metrics and the admin endpoints: scraped by Prometheus, never behind the public Service; the controller
   * reaches it through the Service BOOKING_ADMIN_SERVICE to publish OnSales (PUT /queue/sale, bearer token).
   */
  bookingServiceAdmin: 9464,
  bookingServiceService: 80,
  postgres: 5432,
  redis: 6379,
  prometheus: 9090,
  alertmanager: 9093,
  alertscaler: 8080,
  dns: 53,
} as const;

/**
 * The booking pods' admin port inside the namespace: the controller publishes a sale to the waiting room through
 * it (any one pod will do: the sale lives in the shared Redis). Only the controller's NetworkPolicy flow reaches it.
 */
export const BOOKING_ADMIN_SERVICE = 'booking-service-admin';

/** Secrets the user creates (docs/deploy.md); the YAML only references them. */
export const SECRETS = {
  /** Postgres credentials and the service's connection URL. */
  database: {
    name: 'booking-db',
    keys: { username: 'username', password: 'password', database: 'database', url: 'database-url' },
    /** Where the booking service reads `database-url` (DATABASE_URL_FILE). */
    mountPath: '/etc/booking/database',
  },
  /** The URL of a Redis of your own (redis.mode external), read by the service as REDIS_URL_FILE. */
  redis: {
    name: 'booking-redis',
    keys: { url: 'redis-url' },
    mountPath: '/etc/booking/redis',
  },
  /**
   * The identity provider whose JWTs name the users (AUTH_ISSUER_FILE, AUTH_AUDIENCE_FILE, AUTH_JWKS_URL_FILE):
   * not secret, but the operator's to set like the database URL; without it the service refuses to start.
   */
  identity: {
    name: 'booking-identity',
    keys: { issuer: 'issuer', audience: 'audience', jwksUrl: 'jwks-url' },
    mountPath: '/etc/booking/identity',
  },
  /** Files mounted into the booking service. */
  service: {
    name: 'booking-secrets',
    keys: { queueTokenSecret: 'queue-token-secret', adminToken: 'admin-token' },
    mountPath: '/etc/booking/secrets',
  },
  /** Files monitoring/generated/alertmanager.yml reads with *_file settings. */
  alertmanager: {
    name: 'alertmanager-secrets',
    keys: {
      slackWebhookUrl: 'slack-webhook-url',
      smtpPassword: 'smtp-password',
      controllerWebhookToken: 'controller-webhook-token',
    },
    mountPath: '/etc/alertmanager/secrets',
  },
} as const;

/**
 * The one image's commands (Dockerfile: WORKDIR /app). The production condition makes @concert-booking/lib
 * resolve to its compiled files (lib/package.json exports).
 */
export const COMMANDS = {
  service: ['node', '--conditions=production', 'dist/service/src/main.js'],
  migrate: ['node', '--conditions=production', 'dist/service/src/db/migrate.js'],
  controller: ['node', '--conditions=production', 'dist/controller/src/main.js'],
} as const;

/** The non-root uid/gid of the service image (Dockerfile `USER 10001:10001`). */
export const APP_UID = 10001;

/** Files monitoring/src renders that the Prometheus, Alertmanager and dashboard ConfigMaps are built from. */
export const MONITORING_FILES = {
  rules: 'monitoring/generated/booking.rules.yml',
  alertmanager: 'monitoring/generated/alertmanager.yml',
  dashboard: 'monitoring/dashboards/booking.json',
} as const;

/**
 * The Secret CloudNativePG creates for the application user of the Cluster `postgres` (postgres.mode
 * cloudnative-pg): `<cluster>-app`, whose `uri` points at the read-write Service `postgres-rw`.
 */
export const CNPG_APP_SECRET = 'postgres-app';
