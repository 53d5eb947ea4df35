import { Construct } from 'constructs';
import { k8s } from 'cdk8s-plus-33';
import {
  checksum,
  clusterIpService,
  configMapVolume,
  containerPort,
  emptyDir,
  httpProbe,
  isolatedPod,
  probeTiming,
  restrictedContainer,
  secretFilesVolume,
  servicePort,
  singleInstance,
} from './common.js';
import { APPS, appLabelling, imageVersion } from './labels.js';
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
    const { selector, labels, metadata } = appLabelling(values, 'alertmanager', imageVersion(a.image));

    this.configMap = new k8s.KubeConfigMap(this, 'config', {
      metadata: metadata(`${name}-config`),
      data: { 'alertmanager.yml': config },
    });

    this.deployment = new k8s.KubeDeployment(this, 'deployment', {
      metadata: metadata(),
      spec: {
        // One instance without a gossip peer: never two at once, or both would notify.
        ...singleInstance(selector),
        template: {
          metadata: { labels, annotations: { 'checksum/config': checksum(config) } },
          spec: {
            ...isolatedPod(NOBODY_UID),
            containers: [
              restrictedContainer(
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
                  ports: [containerPort('http', PORTS.alertmanager)],
                  livenessProbe: httpProbe('/-/healthy', 'http', probeTiming(15, 4, 3)),
                  readinessProbe: httpProbe('/-/ready', 'http', probeTiming(5, 3, 3)),
                  volumeMounts: [
                    { name: 'config', mountPath: CONFIG_DIR, readOnly: true },
                    { name: 'secrets', mountPath: SECRETS.alertmanager.mountPath, readOnly: true },
                    // Silences and the notification log: lost on restart (acceptable for one replica).
                    { name: 'data', mountPath: '/alertmanager' },
                    { name: 'tmp', mountPath: '/tmp' },
                  ],
                },
                a.resources,
              ),
            ],
            volumes: [
              configMapVolume('config', `${name}-config`),
              secretFilesVolume(
                'secrets',
                SECRETS.alertmanager.name,
                Object.values(SECRETS.alertmanager.keys),
              ),
              emptyDir('data', '256Mi'),
              emptyDir('tmp'),
            ],
          },
        },
      },
    });

    this.service = clusterIpService(this, metadata(), selector, servicePort('http', PORTS.alertmanager));
  }
}
