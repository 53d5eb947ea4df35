import type { V1ConfigMap, V1Deployment, V1Service } from '@kubernetes/client-node';
import { Alertmanager } from '../src/alertmanager.js';
import { defaultValues } from '../src/values.js';
import { find, MONITORING_FIXTURE, render } from './support.js';

const values = defaultValues();
const objects = render(
  (chart) =>
    new Alertmanager(chart, 'alertmanager', { values, config: MONITORING_FIXTURE.alertmanagerConfig }),
);
const deployment = find<V1Deployment>(objects, 'Deployment', 'alertmanager');
const pod = deployment.spec!.template.spec!;
const container = pod.containers[0]!;

describe('alertmanager', () => {
  test('configuration from monitoring/, verbatim', () => {
    expect(find<V1ConfigMap>(objects, 'ConfigMap', 'alertmanager-config').data).toEqual({
      'alertmanager.yml': MONITORING_FIXTURE.alertmanagerConfig,
    });
    expect(container.args).toContain('--config.file=/etc/alertmanager/config/alertmanager.yml');
    expect(pod.volumes).toContainEqual({ name: 'config', configMap: { name: 'alertmanager-config' } });
  });

  test('Secret alertmanager-secrets mounted as files under /etc/alertmanager/secrets', () => {
    expect(pod.volumes).toContainEqual({
      name: 'secrets',
      secret: {
        secretName: 'alertmanager-secrets',
        defaultMode: 0o440,
        items: ['slack-webhook-url', 'smtp-password', 'controller-webhook-token'].map((key) => ({
          key,
          path: key,
        })),
      },
    });
    expect(container.volumeMounts).toContainEqual({
      name: 'secrets',
      mountPath: '/etc/alertmanager/secrets',
      readOnly: true,
    });
  });

  test('one replica without gossip, Service alertmanager:9093 selecting it', () => {
    const selector = {
      'app.kubernetes.io/name': 'alertmanager',
      'app.kubernetes.io/instance': 'concert-booking',
    };
    expect(deployment.spec!.replicas).toBe(1);
    expect(deployment.spec!.strategy).toEqual({ type: 'Recreate' });
    expect(container.args).toContain('--cluster.listen-address=');
    expect(deployment.spec!.selector.matchLabels).toEqual(selector);
    expect(deployment.spec!.template.metadata!.labels).toMatchObject(selector);
    const service = find<V1Service>(objects, 'Service', 'alertmanager');
    expect(service.spec!.selector).toEqual(selector);
    expect(service.spec!.ports).toEqual([{ name: 'http', port: 9093, targetPort: 'http', protocol: 'TCP' }]);
  });

  test('probes, resources, security', () => {
    expect(container.livenessProbe!.httpGet).toEqual({ path: '/-/healthy', port: 'http' });
    expect(container.readinessProbe!.httpGet).toEqual({ path: '/-/ready', port: 'http' });
    expect(container.resources).toEqual({
      requests: { cpu: '50m', memory: '64Mi' },
      limits: { cpu: '200m', memory: '128Mi' },
    });
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 65534 });
    expect(container.securityContext).toMatchObject({
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
    });
    expect(pod.automountServiceAccountToken).toBe(false);
  });
});
