import type { V1Namespace } from '@kubernetes/client-node';
import { Chart, Testing } from 'cdk8s';
import { BundleNamespace } from '../src/namespace.js';
import { valuesWith } from '../src/values.js';

describe('namespace', () => {
  test('named from values, restricted Pod Security enforced at the targeted version, common labels', () => {
    const chart = new Chart(Testing.app(), 'ns');
    new BundleNamespace(chart, 'namespace', valuesWith({ namespace: 'tickets' }));
    const [ns] = chart.toJson() as V1Namespace[];
    expect(ns!.metadata!.name).toBe('tickets');
    expect(ns!.metadata!.namespace).toBeUndefined();
    expect(ns!.metadata!.labels).toMatchObject({
      'pod-security.kubernetes.io/enforce': 'restricted',
      'pod-security.kubernetes.io/enforce-version': 'v1.33',
      'app.kubernetes.io/part-of': 'concert-booking',
      'app.kubernetes.io/instance': 'concert-booking',
      'app.kubernetes.io/managed-by': 'cdk8s',
    });
  });
});
