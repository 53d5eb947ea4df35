import type { V1ConfigMap, V1Job } from '@kubernetes/client-node';
import { DEFAULT_RULE_PARAMS } from '@concert-booking/monitoring/rules';
import { REPO_ROOT } from '../main.js';
import { K6_IMAGE, K6_UID, LOAD_SCENARIOS, LoadTests, jobName, loadK6Scripts } from '../src/load-tests.js';
import { defaultValues } from '../src/values.js';
import { bundleFiles, find, render } from './support.js';

const scripts = {
  'common.ts': 'export const x = 1;\n',
  ...Object.fromEntries(LOAD_SCENARIOS.map((s) => [`${s}.ts`, `// ${s}\n`])),
};
const objects = render((chart) => new LoadTests(chart, 'load-tests', { values: defaultValues(), scripts }));
const jobs = objects.filter((o) => o.kind === 'Job') as unknown as V1Job[];

test('the ConfigMap carries every script of load/k6, read at synth time', () => {
  const configMap = find<V1ConfigMap>(objects, 'ConfigMap', 'load-test-scripts');
  expect(configMap.data).toEqual(scripts);
  const fromRepo = loadK6Scripts(REPO_ROOT);
  expect(Object.keys(fromRepo).sort()).toEqual([
    'booking-flow.ts',
    'common.ts',
    'lock-counter.ts',
    'seat-map.ts',
  ]);
  expect(fromRepo['seat-map.ts']).toContain('export function handleSummary');
});

test('one Job per scenario runs its script with the pinned k6 image, once', () => {
  expect(jobs.map((j) => j.metadata!.name)).toEqual(LOAD_SCENARIOS.map((s) => jobName(s, scripts)));
  for (const [i, job] of jobs.entries()) {
    const scenario = LOAD_SCENARIOS[i]!;
    expect(job.spec!.backoffLimit).toBe(0);
    const pod = job.spec!.template.spec!;
    expect(pod.restartPolicy).toBe('Never');
    const [k6] = pod.containers;
    expect(k6!.image).toBe(K6_IMAGE);
    expect(K6_IMAGE).toMatch(/^grafana\/k6:\d+\.\d+\.\d+$/);
    expect(k6!.args).toEqual(['run', '--no-color', `/scripts/${scenario}.ts`]);
    expect(k6!.env).toContainEqual({ name: 'BASE_URL', value: 'http://booking-service:80' });
    expect(pod.volumes).toContainEqual({ name: 'scripts', configMap: { name: 'load-test-scripts' } });
    expect(job.spec!.template.metadata!.labels).toMatchObject({
      'app.kubernetes.io/name': 'load-test',
      'load-test/scenario': scenario,
    });
  }
});

test("a breached threshold fails the Job: k6's exit code is the pod's, the pod is never retried", () => {
  for (const job of jobs) {
    expect(job.spec!.backoffLimit).toBe(0);
    const pod = job.spec!.template.spec!;
    expect(pod.restartPolicy).toBe('Never');
    // No command: the image's entrypoint is k6 itself, so no shell or wrapper stands between its exit 99 and the pod.
    expect(pod.containers[0]!.command).toBeUndefined();
    expect(pod.containers[0]!.args![0]).toBe('run');
  }
});

test("the Jobs' thresholds are the alerts' values: the p90 alert's threshold and the availability budget", () => {
  for (const job of jobs) {
    const env = Object.fromEntries(
      job.spec!.template.spec!.containers[0]!.env!.map((e) => [e.name, e.value]),
    );
    expect(Number(env.P90_MS)).toBe(DEFAULT_RULE_PARAMS.p90ThresholdSeconds * 1000);
    expect(Number(env.MAX_FAILED_RATE)).toBeCloseTo(1 - DEFAULT_RULE_PARAMS.availabilityObjective, 12);
  }
});

test('non-root as the image user, read-only root filesystem, /tmp for the summary', () => {
  for (const job of jobs) {
    const pod = job.spec!.template.spec!;
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: K6_UID });
    expect(pod.automountServiceAccountToken).toBe(false);
    const k6 = pod.containers[0]!;
    expect(k6.securityContext).toMatchObject({
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
    });
    expect(k6.volumeMounts).toContainEqual({ name: 'tmp', mountPath: '/tmp' });
    expect(k6.env).toContainEqual({ name: 'SUMMARY_DIR', value: '/tmp' });
  }
});

test('the Job name changes with its script or a shared module, and only then', () => {
  const name = jobName('seat-map', scripts);
  expect(name).toMatch(/^load-seat-map-v[0-9a-f]{8}$/);
  expect(jobName('seat-map', { ...scripts, 'seat-map.ts': '// changed\n' })).not.toBe(name);
  expect(jobName('seat-map', { ...scripts, 'common.ts': '// changed\n' })).not.toBe(name);
  expect(jobName('seat-map', { ...scripts, 'lock-counter.ts': '// changed\n' })).toBe(name);
  expect(() => jobName('missing', scripts)).toThrow(/load\/k6\/missing.ts not found/);
});

test('the bundle puts the load tests under charts/optional only', () => {
  const files = bundleFiles();
  const optional = files.get('optional/70-load-tests.k8s.yaml')!;
  expect(optional.map((o) => o.kind).sort()).toEqual(['ConfigMap', 'Job', 'Job', 'Job']);
  for (const [file, objs] of files) {
    if (file.startsWith('optional/')) continue;
    expect(objs.some((o) => o.metadata.labels?.['app.kubernetes.io/name'] === 'load-test')).toBe(false);
  }
});
