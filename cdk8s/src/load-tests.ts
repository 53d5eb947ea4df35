import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Construct } from 'constructs';
import { k8s } from 'cdk8s-plus-33';
import { loadTestThresholdEnv } from '@concert-booking/lib';
import { checksum, containerSecurityContext, emptyDir, podSecurityContext } from './common.js';
import { APPS, appLabels, appMetadata, imageVersion } from './labels.js';
import { PORTS } from './names.js';
import type { BundleValues } from './values.js';

/** The official k6 image; k6 >= 0.57 runs the TypeScript scripts natively (no bundling step). */
export const K6_IMAGE = 'grafana/k6:2.0.0';
/** The image's own non-root user (`USER 12345` in grafana/k6's Dockerfile). */
export const K6_UID = 12345;
/** Scripts k6 runs; other .ts files in load/k6 (common.ts) are modules they import. */
export const LOAD_SCENARIOS = ['seat-map', 'booking-flow', 'lock-counter'] as const;
const SCRIPTS_DIR = '/scripts';

/** The k6 scripts by file name, read from load/k6 at synth time (no second copy is kept). */
export function loadK6Scripts(repoRoot: string): Record<string, string> {
  const dir = join(repoRoot, 'load', 'k6');
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.ts'))
    .sort();
  return Object.fromEntries(files.map((f) => [f, readFileSync(join(dir, f), 'utf8')]));
}

/**
 * `load-seat-map-v1a2b3c4d`: a changed script (or a module it imports) gives a new Job name, so applying
 * the chart starts a new run instead of failing on an immutable Job template.
 */
export function jobName(scenario: string, scripts: Record<string, string>): string {
  const own = scripts[`${scenario}.ts`];
  if (own === undefined) throw new Error(`load/k6/${scenario}.ts not found`);
  const modules = Object.entries(scripts).filter(([f]) => !LOAD_SCENARIOS.some((s) => `${s}.ts` === f));
  return `load-${scenario}-v${checksum([own, ...modules]).slice(0, 8)}`;
}

export interface LoadTestsProps {
  values: BundleValues;
  scripts: Record<string, string>;
}

/**
 * The k6 load tests: a ConfigMap with the scripts and one Job per scenario, against the booking
 * Service inside the namespace (charts/optional: never applied by `kubectl apply -f charts/`).
 * A breached threshold fails the Job: k6 is the container's entrypoint (no shell to swallow its exit code 99),
 * `restartPolicy: Never` and `backoffLimit: 0`, so the pod's failure is the Job's and it never runs again on
 * its own. The thresholds' values come from the alert rules (P90_MS, MAX_FAILED_RATE).
 */
export class LoadTests extends Construct {
  readonly configMap: k8s.KubeConfigMap;
  readonly jobs: k8s.KubeJob[];

  constructor(scope: Construct, id: string, { values, scripts }: LoadTestsProps) {
    super(scope, id);
    const version = imageVersion(K6_IMAGE);
    const configName = `${APPS.loadTest.name}-scripts`;
    this.configMap = new k8s.KubeConfigMap(this, 'scripts', {
      metadata: appMetadata(values, 'loadTest', { name: configName, version }),
      data: scripts,
    });

    this.jobs = LOAD_SCENARIOS.map((scenario) => {
      const name = jobName(scenario, scripts);
      return new k8s.KubeJob(this, scenario, {
        metadata: appMetadata(values, 'loadTest', { name, version }),
        spec: {
          backoffLimit: 0,
          // Kept a day so `kubectl logs job/<name>` still shows the summary.
          ttlSecondsAfterFinished: 86_400,
          template: {
            metadata: {
              labels: { ...appLabels(values, 'loadTest', version), 'load-test/scenario': scenario },
            },
            spec: {
              restartPolicy: 'Never',
              automountServiceAccountToken: false,
              enableServiceLinks: false,
              securityContext: podSecurityContext(K6_UID),
              containers: [
                {
                  name: 'k6',
                  image: K6_IMAGE,
                  args: ['run', '--no-color', `${SCRIPTS_DIR}/${scenario}.ts`],
                  env: [
                    {
                      name: 'BASE_URL',
                      value: `http://${APPS.bookingService.name}:${PORTS.bookingServiceService}`,
                    },
                    { name: 'SUMMARY_DIR', value: '/tmp' },
                    ...Object.entries(loadTestThresholdEnv()).map(([name, value]) => ({ name, value })),
                    // The root filesystem is read-only: anything k6 writes goes to the emptyDir.
                    { name: 'HOME', value: '/tmp' },
                  ],
                  resources: {
                    requests: {
                      cpu: k8s.Quantity.fromString('500m'),
                      memory: k8s.Quantity.fromString('256Mi'),
                    },
                    limits: { cpu: k8s.Quantity.fromString('2'), memory: k8s.Quantity.fromString('1Gi') },
                  },
                  securityContext: containerSecurityContext(),
                  volumeMounts: [
                    { name: 'scripts', mountPath: SCRIPTS_DIR, readOnly: true },
                    { name: 'tmp', mountPath: '/tmp' },
                  ],
                },
              ],
              volumes: [{ name: 'scripts', configMap: { name: configName } }, emptyDir('tmp')],
            },
          },
        },
      });
    });
  }
}
