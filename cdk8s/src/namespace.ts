import { Construct } from 'constructs';
import { k8s } from 'cdk8s-plus-33';
import { appMetadata } from './labels.js';
import { KUBERNETES_VERSION, type BundleValues } from './values.js';

/**
 * The bundle's namespace. Pod Security Admission enforces the `restricted` standard, so every pod of the
 * bundle (and any pod added later: the controller, the k6 Jobs) must run non-root with dropped capabilities.
 */
export class BundleNamespace extends Construct {
  readonly namespace: k8s.KubeNamespace;

  constructor(scope: Construct, id: string, values: BundleValues) {
    super(scope, id);
    const metadata = appMetadata(values, 'namespace', { name: values.namespace });
    const pss = `v${KUBERNETES_VERSION}`;
    this.namespace = new k8s.KubeNamespace(this, 'namespace', {
      metadata: {
        ...metadata,
        labels: {
          ...metadata.labels,
          'pod-security.kubernetes.io/enforce': 'restricted',
          'pod-security.kubernetes.io/enforce-version': pss,
          'pod-security.kubernetes.io/warn': 'restricted',
          'pod-security.kubernetes.io/warn-version': pss,
        },
      },
    });
  }
}
