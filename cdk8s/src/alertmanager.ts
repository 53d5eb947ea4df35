import { Construct } from 'constructs';
import { k8s } from 'cdk8s-plus-33';
import {
  checksum,
  containerSecurityContext,
  emptyDir,
  httpProbe,
  podSecurityContext,
  resourceRequirements,
} from './common.js';
import { APPS, appLabels, appMetadata, imageVersion, selectorLabels } from './labels.js';
import { PORTS, SECRETS } from './names.js';
import { NOBODY_UID } from './prometheus.js';
import type { BundleValues } from './values.js';

const CONFIG_DIR = '/etc/alertmanager/config';

export interface AlertmanagerProps {
  readonly values: BundleValues;
  /** The configuration text (monitoring/generated/alertmanager.yml). */
  readonly config: string;
}

/**
 * Alertmanager: ConfigMap `alertmanager-config`, Deployment `alertmanager` (one replica, no gossip cluster),
 * Service `alertmanager:9093`. The Secret `alertmanager-secrets` is mounted as files under
 * /etc/alertmanager/secrets/, which the configuration reads with `*_file` settings.
 */
export class Alertmanager extends Construct {
  readonly configMap: k8s.KubeConfigMap;
  readonly deployment: k8s.KubeDeployment;
  readonly service: k8s.KubeService;

  constructor(scope: Construct, id: string, props: AlertmanagerProps) {
    super(scope, id);
    const { values, config } = props;
    const a = values.alertmanager;
    const name = APPS.alertmanager.name;
    const version = imageVersion(a.image);
    const metadata = (n?: string) => appMetadata(values, 'alertmanager', { name: n, version });
    const selector = selectorLabels(values, 'alertmanager');

    this.configMap = new k8s.KubeConfigMap(this, 'config', {
      metadata: metadata(`${name}-config`),
      data: { 'alertmanager.yml': config },
    });

    this.deployment = new k8s.KubeDeployment(this, 'deployment', {
      metadata: metadata(),
      spec: {
        replicas: 1,
        selector: { matchLabels: selector },
        // One instance without a gossip peer: never two at once, or both would notify.
        strategy: { type: 'Recreate' },
        template: {
          metadata: {
            labels: appLabels(values, 'alertmanager', version),
            annotations: { 'checksum/config': checksum(config) },
          },
          spec: {
            automountServiceAccountToken: false,
            enableServiceLinks: false,
            securityContext: podSecurityContext(NOBODY_UID),
            containers: [
              {
                name: 'alertmanager',
                image: a.image,
                args: [
                  `--config.file=${CONFIG_DIR}/alertmanager.yml`,
                  '--storage.path=/alertmanager',
                  `--web.listen-address=:${PORTS.alertmanager}`,
                  // Single replica: no HA gossip listener.
                  '--cluster.listen-address=',
                ],
                ports: [{ name: 'http', containerPort: PORTS.alertmanager, protocol: 'TCP' }],
                resources: resourceRequirements(a.resources),
                securityContext: containerSecurityContext(),
                livenessProbe: httpProbe('/-/healthy', 'http', {
                  periodSeconds: 15,
                  failureThreshold: 4,
                  timeoutSeconds: 3,
                }),
                readinessProbe: httpProbe('/-/ready', 'http', {
                  periodSeconds: 5,
                  failureThreshold: 3,
                  timeoutSeconds: 3,
                }),
                volumeMounts: [
                  { name: 'config', mountPath: CONFIG_DIR, readOnly: true },
                  { name: 'secrets', mountPath: SECRETS.alertmanager.mountPath, readOnly: true },
                  // Silences and the notification log: lost on restart (acceptable for one replica).
                  { name: 'data', mountPath: '/alertmanager' },
                  { name: 'tmp', mountPath: '/tmp' },
                ],
              },
            ],
            volumes: [
              { name: 'config', configMap: { name: `${name}-config` } },
              {
                name: 'secrets',
                secret: {
                  secretName: SECRETS.alertmanager.name,
                  defaultMode: 0o440,
                  items: Object.values(SECRETS.alertmanager.keys).map((key) => ({ key, path: key })),
                },
              },
              emptyDir('data', '256Mi'),
              emptyDir('tmp'),
            ],
          },
        },
      },
    });

    this.service = new k8s.KubeService(this, 'service', {
      metadata: metadata(),
      spec: {
        type: 'ClusterIP',
        selector,
        ports: [
          {
            name: 'http',
            port: PORTS.alertmanager,
            targetPort: k8s.IntOrString.fromString('http'),
            protocol: 'TCP',
          },
        ],
      },
    });
  }
}
