import { createHash } from 'node:crypto';
import { k8s } from 'cdk8s-plus-33';
import type { Construct } from 'constructs';
import type { Labels } from './labels.js';
import type { BundleValues } from './values.js';

type Resources = BundleValues['service']['resources'];
type ProbeTiming = BundleValues['service']['probes']['liveness'];
type Scheduling = BundleValues['service']['scheduling'];
type Storage = Pick<BundleValues['postgres'], 'storageSize' | 'storageClassName'>;

/** requests and limits as Kubernetes quantities. */
export function resourceRequirements(r: Resources): k8s.ResourceRequirements {
  return {
    requests: {
      cpu: k8s.Quantity.fromString(r.requests.cpu),
      memory: k8s.Quantity.fromString(r.requests.memory),
    },
    limits: { cpu: k8s.Quantity.fromString(r.limits.cpu), memory: k8s.Quantity.fromString(r.limits.memory) },
  };
}

/**
 * Pod security context fit for the `restricted` Pod Security Standard (enforced on the namespace):
 * a fixed non-root uid/gid, volumes group-owned by it, the runtime's default seccomp profile.
 */
export function podSecurityContext(uid: number): k8s.PodSecurityContext {
  return {
    runAsNonRoot: true,
    runAsUser: uid,
    runAsGroup: uid,
    fsGroup: uid,
    fsGroupChangePolicy: 'OnRootMismatch',
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

/** Container security context: read-only root filesystem, no privilege escalation, no capabilities. */
export function containerSecurityContext(): k8s.SecurityContext {
  return {
    runAsNonRoot: true,
    readOnlyRootFilesystem: true,
    allowPrivilegeEscalation: false,
    privileged: false,
    capabilities: { drop: ['ALL'] },
  };
}

/**
 * Pod spec fields of a workload that needs no API access: no ServiceAccount token, no Service environment
 * variables, the restricted security context as `uid`.
 */
export function isolatedPod(
  uid: number,
): Pick<k8s.PodSpec, 'automountServiceAccountToken' | 'enableServiceLinks' | 'securityContext'> {
  return {
    automountServiceAccountToken: false,
    enableServiceLinks: false,
    securityContext: podSecurityContext(uid),
  };
}

const HOSTNAME = 'kubernetes.io/hostname';

/**
 * Pod spec fields that spread a Deployment's replicas (`selector`) as `scheduling` says: inter-pod
 * anti-affinity per node and topology spread constraints. Spread counts the current ReplicaSet's pods only
 * (`pod-template-hash`), so a rolling update is not skewed by the pods it replaces.
 */
export function podScheduling(
  scheduling: Scheduling,
  selector: Labels,
): Pick<k8s.PodSpec, 'affinity' | 'topologySpreadConstraints'> {
  const term: k8s.PodAffinityTerm = { labelSelector: { matchLabels: selector }, topologyKey: HOSTNAME };
  const antiAffinity: Record<Scheduling['podAntiAffinity'], k8s.PodAntiAffinity | undefined> = {
    preferred: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100, podAffinityTerm: term }] },
    required: { requiredDuringSchedulingIgnoredDuringExecution: [term] },
    none: undefined,
  };
  const podAntiAffinity = antiAffinity[scheduling.podAntiAffinity];
  return {
    ...(podAntiAffinity ? { affinity: { podAntiAffinity } } : {}),
    ...(scheduling.topologySpread.length > 0
      ? {
          topologySpreadConstraints: scheduling.topologySpread.map((spread) => ({
            ...spread,
            labelSelector: { matchLabels: selector },
            matchLabelKeys: ['pod-template-hash'],
          })),
        }
      : {}),
  };
}

/** A container under the restricted security context, with its requests and limits. */
export function restrictedContainer(
  container: Omit<k8s.Container, 'resources' | 'securityContext'>,
  resources: Resources,
): k8s.Container {
  return {
    ...container,
    resources: resourceRequirements(resources),
    securityContext: containerSecurityContext(),
  };
}

/** A named TCP container port (Services and probes refer to it by `name`). */
export function containerPort(name: string, port: number): k8s.ContainerPort {
  return { name, containerPort: port, protocol: 'TCP' };
}

/** The ClusterIP Service `service` of `scope`, in front of the pods `selector` picks. */
export function clusterIpService(
  scope: Construct,
  metadata: k8s.ObjectMeta,
  selector: Labels,
  port: k8s.ServicePort,
  id = 'service',
): k8s.KubeService {
  return new k8s.KubeService(scope, id, {
    metadata,
    spec: { type: 'ClusterIP', selector, ports: [port] },
  });
}

/** The PodDisruptionBudget `pdb` of `scope`: at most `maxUnavailable` of the pods `selector` picks evicted at once. */
export function podDisruptionBudget(
  scope: Construct,
  metadata: k8s.ObjectMeta,
  selector: Labels,
  maxUnavailable: number,
): k8s.KubePodDisruptionBudget {
  return new k8s.KubePodDisruptionBudget(scope, 'pdb', {
    metadata,
    spec: {
      maxUnavailable: k8s.IntOrString.fromNumber(maxUnavailable),
      selector: { matchLabels: selector },
      // A pod that is not Ready serves nothing: evicting it never costs availability.
      unhealthyPodEvictionPolicy: 'AlwaysAllow',
    },
  });
}

/** A TCP Service port forwarding to the container port of the same name. */
export function servicePort(name: string, port: number): k8s.ServicePort {
  return { name, port, targetPort: k8s.IntOrString.fromString(name), protocol: 'TCP' };
}

/**
 * Deployment spec fields of a workload that must never run as two pods at once: one replica, and an
 * update stops the old pod before it starts the new one.
 */
export function singleInstance(
  selector: Labels,
): Pick<k8s.DeploymentSpec, 'replicas' | 'selector' | 'strategy'> {
  return { replicas: 1, selector: { matchLabels: selector }, strategy: { type: 'Recreate' } };
}

/** How often a probe runs, after how many failures in a row it gives up, how long one try may take. */
export function probeTiming(
  periodSeconds: number,
  failureThreshold: number,
  timeoutSeconds: number,
): ProbeTiming {
  return { periodSeconds, failureThreshold, timeoutSeconds };
}

/** An HTTP GET probe on the container port named `port`. */
export function httpProbe(path: string, port: string, timing: ProbeTiming): k8s.Probe {
  return { httpGet: { path, port: k8s.IntOrString.fromString(port) }, ...timing };
}

/** An exec probe running `script` under /bin/sh. */
export function shellProbe(script: string, timing: ProbeTiming): k8s.Probe {
  return { exec: { command: ['/bin/sh', '-c', script] }, ...timing };
}

/** A short stable hash of some content, for `checksum/*` pod annotations that roll pods when config changes. */
export function checksum(content: unknown): string {
  return createHash('sha256')
    .update(typeof content === 'string' ? content : JSON.stringify(content))
    .digest('hex')
    .slice(0, 16);
}

/** A volume with the ConfigMap `configMapName`'s files. */
export function configMapVolume(name: string, configMapName: string): k8s.Volume {
  return { name, configMap: { name: configMapName } };
}

/** A volume with the Secret's `keys` as files named after them, readable by the pod's group and no one else. */
export function secretFilesVolume(name: string, secretName: string, keys: readonly string[]): k8s.Volume {
  return { name, secret: { secretName, defaultMode: 0o440, items: keys.map((key) => ({ key, path: key })) } };
}

/**
 * The claim template `data` of a one-replica StatefulSet, on the cluster's default StorageClass unless
 * `storageClassName` is set; with the policy that keeps the claim (and its data) when the set goes.
 */
export function retainedDataClaim(
  labels: Labels,
  storage: Storage,
): Pick<k8s.StatefulSetSpec, 'persistentVolumeClaimRetentionPolicy' | 'volumeClaimTemplates'> {
  return {
    persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Retain' },
    volumeClaimTemplates: [
      {
        metadata: { name: 'data', labels },
        spec: {
          accessModes: ['ReadWriteOnce'],
          ...(storage.storageClassName ? { storageClassName: storage.storageClassName } : {}),
          resources: { requests: { storage: k8s.Quantity.fromString(storage.storageSize) } },
        },
      },
    ],
  };
}

/** An emptyDir volume (for /tmp and other scratch space under a read-only root filesystem). */
export function emptyDir(name: string, sizeLimit = '64Mi', medium?: 'Memory'): k8s.Volume {
  return { name, emptyDir: { sizeLimit: k8s.Quantity.fromString(sizeLimit), ...(medium ? { medium } : {}) } };
}
