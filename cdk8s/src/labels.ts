import type { BundleValues } from './values.js';

/**
 * The apps of the bundle: `name` is `app.kubernetes.io/name` (and the stable object/Service name),
 * `component` is `app.kubernetes.io/component`. Selectors, NetworkPolicies and Prometheus discovery all
 * key on these, so another construct (the controller, the k6 Jobs) uses the same entry.
 */
export const APPS = {
  namespace: { name: 'concert-booking', component: 'namespace' },
  bookingService: { name: 'booking-service', component: 'api' },
  postgres: { name: 'postgres', component: 'database' },
  redis: { name: 'redis', component: 'cache' },
  prometheus: { name: 'prometheus', component: 'monitoring' },
  alertmanager: { name: 'alertmanager', component: 'alerting' },
  dashboard: { name: 'booking-dashboard', component: 'dashboard' },
  alertscaler: { name: 'alertscaler', component: 'autoscaler' },
  loadTest: { name: 'load-test', component: 'load-test' },
  networkPolicies: { name: 'network-policies', component: 'network-policy' },
} as const;

export type AppKey = keyof typeof APPS;
export type Labels = Record<string, string>;

export const LABEL = {
  name: 'app.kubernetes.io/name',
  instance: 'app.kubernetes.io/instance',
  component: 'app.kubernetes.io/component',
  partOf: 'app.kubernetes.io/part-of',
  version: 'app.kubernetes.io/version',
  managedBy: 'app.kubernetes.io/managed-by',
} as const;

/** The immutable subset used in selectors: never includes the version. */
export function selectorLabels(values: BundleValues, app: AppKey): Labels {
  return { [LABEL.name]: APPS[app].name, [LABEL.instance]: values.instance };
}

/** The tag of an image reference (`postgres:17.6-alpine` -> `17.6-alpine`), as a label value. */
export function imageVersion(image: string): string {
  const withoutDigest = image.split('@')[0]!;
  const at = withoutDigest.lastIndexOf(':');
  const tag = at > withoutDigest.lastIndexOf('/') ? withoutDigest.slice(at + 1) : 'latest';
  return tag.slice(0, 63);
}

/** The common labels of every object (and pod template) of `app`. */
export function appLabels(values: BundleValues, app: AppKey, version: string = values.version): Labels {
  return {
    ...selectorLabels(values, app),
    [LABEL.component]: APPS[app].component,
    [LABEL.partOf]: values.partOf,
    [LABEL.version]: version,
    [LABEL.managedBy]: 'cdk8s',
  };
}

/** `metadata` for an object of `app`, named `name` (default: the app's name). */
export function appMetadata(
  values: BundleValues,
  app: AppKey,
  options: { name?: string; version?: string; annotations?: Record<string, string> } = {},
): { name: string; labels: Labels; annotations?: Record<string, string> } {
  return {
    name: options.name ?? APPS[app].name,
    labels: appLabels(values, app, options.version),
    ...(options.annotations ? { annotations: options.annotations } : {}),
  };
}

/**
 * The labels a construct of `app` puts on its objects, at `version` (the image tag of an app that runs one):
 * `selector` for selectors, `labels` for pod templates and claims, `metadata(name?)` for the objects.
 */
export function appLabelling(values: BundleValues, app: AppKey, version: string = values.version) {
  return {
    selector: selectorLabels(values, app),
    labels: appLabels(values, app, version),
    metadata: (name?: string) => appMetadata(values, app, { name, version }),
  };
}
