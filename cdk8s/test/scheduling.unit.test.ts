// Hardening of the workloads that run several replicas (issue 17): spread over nodes as the values say,
// a PodDisruptionBudget each, optional image digests.
import type { V1Deployment, V1PodDisruptionBudget } from '@kubernetes/client-node';
import { podScheduling } from '../src/common.js';
import { allObjects, find } from './support.js';
import { defaultValues, valuesWith, type BundleValues } from '../src/values.js';

const selector = { 'app.kubernetes.io/name': 'web' };
const term = { labelSelector: { matchLabels: selector }, topologyKey: 'kubernetes.io/hostname' };
const zoneSpread = {
  topologyKey: 'topology.kubernetes.io/zone',
  maxSkew: 1,
  whenUnsatisfiable: 'DoNotSchedule',
};

describe('podScheduling', () => {
  test.each<[string, BundleValues['service']['scheduling'], ReturnType<typeof podScheduling>]>([
    [
      'preferred anti-affinity, no spread',
      { podAntiAffinity: 'preferred', topologySpread: [] },
      {
        affinity: {
          podAntiAffinity: {
            preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100, podAffinityTerm: term }],
          },
        },
      },
    ],
    [
      'required anti-affinity',
      { podAntiAffinity: 'required', topologySpread: [] },
      { affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term] } } },
    ],
    [
      'spread over zones only',
      { podAntiAffinity: 'none', topologySpread: [zoneSpread] as never },
      {
        topologySpreadConstraints: [
          { ...zoneSpread, labelSelector: { matchLabels: selector }, matchLabelKeys: ['pod-template-hash'] },
        ] as never,
      },
    ],
    ['nothing', { podAntiAffinity: 'none', topologySpread: [] }, {}],
  ])('%s', (_name, scheduling, expected) => {
    expect(podScheduling(scheduling, selector)).toEqual(expected);
  });
});

describe.each(['booking-service', 'alertscaler'])('%s: several replicas, spread and protected', (name) => {
  const objects = allObjects();
  const deployment = find<V1Deployment>(objects, 'Deployment', name);
  const pod = deployment.spec!.template.spec!;
  const selector = deployment.spec!.selector.matchLabels!;

  test('prefers other nodes for each replica (kube-linter no-anti-affinity) and spreads them per node', () => {
    expect(pod.affinity!.podAntiAffinity!.preferredDuringSchedulingIgnoredDuringExecution).toEqual([
      {
        weight: 100,
        podAffinityTerm: { labelSelector: { matchLabels: selector }, topologyKey: 'kubernetes.io/hostname' },
      },
    ]);
    expect(pod.topologySpreadConstraints).toEqual([
      expect.objectContaining({ topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'ScheduleAnyway' }),
    ]);
  });

  test('a PodDisruptionBudget over the same pods', () => {
    const pdb = find<V1PodDisruptionBudget>(objects, 'PodDisruptionBudget', name);
    expect(pdb.spec).toEqual({
      maxUnavailable: 1,
      selector: { matchLabels: selector },
      unhealthyPodEvictionPolicy: 'AlwaysAllow',
    });
  });

  test('scheduling values reach the pod', () => {
    const key = name === 'alertscaler' ? 'alertscaler' : 'service';
    const values = valuesWith({ [key]: { scheduling: { podAntiAffinity: 'required', topologySpread: [] } } });
    const spec = find<V1Deployment>(allObjects(values), 'Deployment', name).spec!.template.spec!;
    expect(spec.affinity!.podAntiAffinity!.requiredDuringSchedulingIgnoredDuringExecution).toHaveLength(1);
    expect(spec).not.toHaveProperty('topologySpreadConstraints');
  });
});

describe('the alertscaler values', () => {
  test('replicas and the PDB follow the values; without scaleBookingService no AlertScaler is emitted', () => {
    const values = valuesWith({
      alertscaler: { replicas: 3, pdbMaxUnavailable: 2, scaleBookingService: false },
    });
    const objects = allObjects(values);
    expect(find<V1Deployment>(objects, 'Deployment', 'alertscaler').spec!.replicas).toBe(3);
    expect(
      find<V1PodDisruptionBudget>(objects, 'PodDisruptionBudget', 'alertscaler').spec!.maxUnavailable,
    ).toBe(2);
    expect(objects.filter((o) => o.kind === 'AlertScaler')).toEqual([]);
    expect(allObjects().filter((o) => o.kind === 'AlertScaler')).toHaveLength(1);
  });
});

describe('image digests', () => {
  const digest = `sha256:${'ab'.repeat(32)}`;

  test('image.digest pins the service, migration and controller containers as repository:tag@digest', () => {
    const objects = allObjects(valuesWith({ image: { digest } }));
    const images = ['booking-service', 'alertscaler'].flatMap((name) => {
      const spec = find<V1Deployment>(objects, 'Deployment', name).spec!.template.spec!;
      return [...(spec.initContainers ?? []), ...spec.containers].map((c) => c.image);
    });
    expect(images).toEqual(Array(3).fill(`concert-booking:${defaultValues().image.tag}@${digest}`));
  });

  test.each(['sha256:abc', `sha512:${'ab'.repeat(32)}`, `SHA256:${'AB'.repeat(32)}`])(
    'a malformed digest %s is refused, naming image.digest',
    (bad) => {
      expect(() => valuesWith({ image: { digest: bad } })).toThrow(/image\.digest/);
    },
  );

  test('the other images take a digest in their reference', () => {
    const pinned = `postgres:17.6-alpine@${digest}`;
    const objects = allObjects(valuesWith({ postgres: { image: pinned } }));
    expect(JSON.stringify(objects)).toContain(`"image":"${pinned}"`);
  });
});
