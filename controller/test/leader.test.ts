// Leader election on a real API server's Lease (devkit/src/cluster/envtest.ts); its pure rules are
// table-tested in leader.unit.test.ts.
import { CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { createLogger } from '@concert-booking/lib';
import { LeaderElector, microTime, type LeaseRecord } from '../src/leader.js';
import { describeWithCluster, type TestCluster } from '@concert-booking/devkit/cluster/envtest';
import { waitFor } from '@concert-booking/devkit/wait';

const logger = createLogger(process.env.TEST_LOG_LEVEL ?? 'silent', {});
/** Far above a few 100 ms retry periods and API round trips on a busy machine; short, so a broken election fails fast. */
const SETTLES_MS = 8_000;

interface Lease {
  metadata: { resourceVersion: string };
  spec: Required<LeaseRecord>;
}

describeWithCluster('LeaderElector on a real Lease', (cluster) => {
  let c: TestCluster;
  let api: CustomObjectsApi;
  let leaseCount = 0;
  const electors: LeaderElector[] = [];
  // Unique: a shared cluster (scripts/mutation-cluster.ts) sees this file run many times.
  const NS = `leader-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;

  const apiFor = (kubeconfigPath: string) => {
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(kubeconfigPath);
    return kubeConfig.makeApiClient(CustomObjectsApi);
  };
  const readLease = async (name: string): Promise<Lease> =>
    JSON.parse((await c.kubectl(['get', 'lease', name, '-n', NS, '-o', 'json'])).stdout) as Lease;

  /** An elector with short timings; `events` records its callbacks in order. */
  function elector(
    name: string,
    identity: string,
    options: { api?: CustomObjectsApi; leaseSeconds?: number } = {},
  ) {
    const events: string[] = [];
    const candidate = new LeaderElector(
      options.api ?? api,
      {
        namespace: NS,
        name,
        identity,
        leaseDurationSeconds: options.leaseSeconds ?? 10,
        renewDeadlineMs: 3000,
        retryPeriodMs: 100,
      },
      { onStartedLeading: () => events.push('started'), onStoppedLeading: () => events.push('stopped') },
      logger,
    );
    electors.push(candidate);
    return { candidate, events };
  }

  beforeAll(async () => {
    c = cluster();
    await c.kubectl(['create', 'namespace', NS]);
    api = apiFor(c.kubeconfigPath);
  });
  afterAll(async () => {
    for (const candidate of electors) await candidate.stop();
  });
  const leaseName = () => `lease-${++leaseCount}`;

  test('the first candidate creates the Lease, leads, and keeps renewing it', async () => {
    const name = leaseName();
    const { candidate, events } = elector(name, 'pod-a');
    candidate.start();
    await waitFor(async () => candidate.isLeader(), SETTLES_MS, 'pod-a to lead');
    const created = await readLease(name);
    expect(created.spec).toMatchObject({
      holderIdentity: 'pod-a',
      leaseDurationSeconds: 10,
      leaseTransitions: 0,
    });
    expect(created.spec.acquireTime <= created.spec.renewTime).toBe(true);
    await waitFor(
      async () => (await readLease(name)).spec.renewTime > created.spec.renewTime,
      SETTLES_MS,
      'a renewal',
    );
    const renewed = await readLease(name);
    expect(renewed.spec).toMatchObject({ holderIdentity: 'pod-a', acquireTime: created.spec.acquireTime });
    expect(events).toEqual(['started']);
  });

  test('a live holder keeps the Lease; a second candidate follows', async () => {
    const name = leaseName();
    const a = elector(name, 'pod-a');
    a.candidate.start();
    await waitFor(async () => a.candidate.isLeader(), SETTLES_MS, 'pod-a to lead');
    const b = elector(name, 'pod-b');
    b.candidate.start();
    // Ten of b's retry periods: a candidate that ignored a live holder would have taken the Lease by then.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect([a.candidate.isLeader(), b.candidate.isLeader()]).toEqual([true, false]);
    expect((await readLease(name)).spec.holderIdentity).toBe('pod-a');
    expect(b.events).toEqual([]);
  });

  test('an expired Lease of a holder that died is taken over, and the transition counted', async () => {
    const name = leaseName();
    const stale = new Date(Date.now() - 3600_000);
    await c.kubectl(['apply', '-n', NS, '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name, namespace: NS },
        spec: {
          holderIdentity: 'pod-gone',
          leaseDurationSeconds: 1,
          acquireTime: microTime(stale),
          renewTime: microTime(stale),
          leaseTransitions: 4,
        },
      }),
    });
    const { candidate, events } = elector(name, 'pod-b');
    candidate.start();
    await waitFor(async () => candidate.isLeader(), SETTLES_MS, 'pod-b to take over');
    const taken = await readLease(name);
    expect(taken.spec).toMatchObject({
      holderIdentity: 'pod-b',
      leaseDurationSeconds: 10,
      leaseTransitions: 5,
    });
    expect(taken.spec.acquireTime).not.toBe(microTime(stale));
    expect(events).toEqual(['started']);
  });

  test('stop() releases the Lease so another candidate takes over at once', async () => {
    const name = leaseName();
    const a = elector(name, 'pod-a', { leaseSeconds: 3600 });
    a.candidate.start();
    await waitFor(async () => a.candidate.isLeader(), SETTLES_MS, 'pod-a to lead');
    const b = elector(name, 'pod-b', { leaseSeconds: 3600 });
    b.candidate.start();
    await a.candidate.stop();
    expect(a.candidate.isLeader()).toBe(false);
    expect(a.events).toEqual(['started', 'stopped']);
    // Without the release b would wait an hour.
    await waitFor(async () => b.candidate.isLeader(), SETTLES_MS, 'pod-b to lead after the release');
    expect((await readLease(name)).spec).toMatchObject({ holderIdentity: 'pod-b', leaseTransitions: 0 });
  });

  test('a leader that cannot renew within the renew deadline steps down by itself', async () => {
    const name = leaseName();
    await c.kubectl(['create', 'serviceaccount', 'elector', '-n', NS]);
    await c.kubectl(['create', 'role', 'elector', '--verb=get,create,update', '--resource=leases', '-n', NS]);
    await c.kubectl([
      'create',
      'rolebinding',
      'elector',
      '--role=elector',
      `--serviceaccount=${NS}:elector`,
      '-n',
      NS,
    ]);
    const kubeconfig = await c.kubeconfigForServiceAccount(NS, 'elector');
    const { candidate, events } = elector(name, 'pod-a', { api: apiFor(kubeconfig), leaseSeconds: 3600 });
    candidate.start(); // retries until the new grant reaches the authorizer
    await waitFor(async () => candidate.isLeader(), 20_000, 'pod-a to lead');
    // Every renewal is now refused (403): the lease stays pod-a's, but pod-a must stop acting as leader.
    await c.kubectl(['delete', 'rolebinding', 'elector', '-n', NS]);
    await waitFor(async () => !candidate.isLeader(), SETTLES_MS, 'pod-a to step down');
    expect(events).toEqual(['started', 'stopped']);
    expect((await readLease(name)).spec.holderIdentity).toBe('pod-a');
  });

  test('two candidates starting together: exactly one leads', async () => {
    const name = leaseName();
    const a = elector(name, 'pod-a');
    const b = elector(name, 'pod-b');
    a.candidate.start();
    b.candidate.start();
    await waitFor(async () => a.candidate.isLeader() || b.candidate.isLeader(), SETTLES_MS, 'a leader');
    const holder = (await readLease(name)).spec.holderIdentity;
    expect([a.candidate.isLeader(), b.candidate.isLeader()]).toEqual([
      holder === 'pod-a',
      holder === 'pod-b',
    ]);
  });
});
