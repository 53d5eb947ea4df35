import { createHash } from 'node:crypto';
import { k8s } from 'cdk8s-plus-33';
import type { BundleValues } from './values.js';

type Resources = BundleValues['service']['resources'];
type ProbeTiming = BundleValues['service']['probes']['liveness'];

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

/** An emptyDir volume (for /tmp and other scratch space under a read-only root filesystem). */
export function emptyDir(name: string, sizeLimit = '64Mi', medium?: 'Memory'): k8s.Volume {
  return { name, emptyDir: { sizeLimit: k8s.Quantity.fromString(sizeLimit), ...(medium ? { medium } : {}) } };
}
