// Leader election on a real API server's Lease (devkit/src/cluster/envtest.ts); its pure rules are
// table-tested in leader.unit.test.ts. Each elector's requests (through a real client to the real server),
// its callbacks and its log lines go into one timeline, in order: a test waits until the timeline reaches a
// point and then compares it whole, so a wrong step fails at once rather than at a timeout, and no test
// sleeps. A lost race is provoked for real: another writer's request runs between the elector's read and
// its write, and the API server answers the elector's write as it would in production.
import { CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { createLogger } from '@concert-booking/lib';
import { LeaderElector, microTime, type Lease, type LeaseRecord } from '../src/leader.js';
import { httpCode } from '../src/kube-errors.js';
import { describeWithCluster, type TestCluster } from '@concert-booking/devkit/cluster/envtest';
import { waitFor } from '@concert-booking/devkit/wait';

/** Far above a few 100 ms retry periods and API round trips on a busy machine; short, so a broken election fails fast. */
const SETTLES_MS = 8_000;
/** A retry period no test outlasts: the elector runs its first tick only. */
const ONE_TICK_MS = 3_600_000;
const LEASES = { group: 'coordination.k8s.io', version: 'v1', plural: 'leases' };
const LOG_LEVELS: Record<number, string> = { 30: 'info', 40: 'warn' };

type Verb = 'get' | 'create' | 'replace';
const VERBS: Record<string, Verb> = {
  getNamespacedCustomObject: 'get',
  createNamespacedCustomObject: 'create',
  replaceNamespacedCustomObject: 'replace',
};
/** Another writer's turn, run once just before the elector's next request of that verb is sent. */
type Interleave = Partial<Record<Verb, () => Promise<void>>>;

/**
 * The real client, each request of the elector recorded in the timeline as it is sent (`get …`) and then
 * with its outcome (`get ok`, `get 404`); `before` runs another writer's request in between.
 */
function recordingApi(api: CustomObjectsApi, timeline: string[], before: Interleave): CustomObjectsApi {
  return new Proxy(api, {
    get(target, property, receiver) {
      const method: unknown = Reflect.get(target, property, receiver);
      const verb = typeof property === 'string' ? VERBS[property] : undefined;
      if (!verb || typeof method !== 'function') return method;
      return async (...args: unknown[]) => {
        const entry = timeline.push(`${verb} …`) - 1;
        const interleave = before[verb];
        delete before[verb];
        await interleave?.();
        try {
          const result: unknown = await method.apply(target, args);
          timeline[entry] = `${verb} ok`;
          return result;
        } catch (error) {
          timeline[entry] = `${verb} ${httpCode(error) ?? String(error)}`;
          throw error;
        }
      };
    },
  });
}

interface LogRecord {
  level: number;
  msg: string;
  identity?: string;
  leading?: boolean;
  err?: { code?: number };
}

interface Candidate {
  elector: LeaderElector;
  timeline: string[];
  logs: LogRecord[];
  before: Interleave;
}

describeWithCluster('LeaderElector on a real Lease', (cluster) => {
  let c: TestCluster;
  let admin: CustomObjectsApi;
  let leaseCount = 0;
  let candidates: Candidate[] = [];
  // Unique: a shared cluster (scripts/mutation-cluster.ts) sees this file run many times.
  const NS = `leader-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;

  const apiFor = (kubeconfigPath: string) => {
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(kubeconfigPath);
    return kubeConfig.makeApiClient(CustomObjectsApi);
  };
  const leaseName = () => `lease-${++leaseCount}`;
  const readLease = async (name: string) =>
    (await admin.getNamespacedCustomObject({ ...LEASES, namespace: NS, name })) as Lease & {
      spec: Required<LeaseRecord>;
    };
  const leaseIfAny = (name: string) =>
    readLease(name).catch((error: unknown) => {
      if (httpCode(error) === 404) return undefined;
      throw error;
    });
  /** Another writer's Lease: `holderIdentity` holds it for an hour from now ('' : nobody holds it). */
  const leaseOf = (name: string, holderIdentity: string): Lease => ({
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name, namespace: NS },
    spec: {
      holderIdentity,
      leaseDurationSeconds: 3600,
      acquireTime: microTime(new Date()),
      renewTime: microTime(new Date()),
      leaseTransitions: 7,
    },
  });
  const createLease = async (name: string, holderIdentity: string) => {
    await admin.createNamespacedCustomObject({
      ...LEASES,
      namespace: NS,
      body: leaseOf(name, holderIdentity),
    });
  };
  /** Another writer takes the Lease: a compare-and-swap of its own, tried again if a renewal came first. */
  const takeLease = async (name: string, holderIdentity: string) => {
    for (;;) {
      const { metadata } = await readLease(name);
      const body = leaseOf(name, holderIdentity);
      try {
        await admin.replaceNamespacedCustomObject({
          ...LEASES,
          namespace: NS,
          name,
          body: { ...body, metadata: { ...body.metadata, resourceVersion: metadata.resourceVersion } },
        });
        return;
      } catch (error) {
        if (httpCode(error) !== 409) throw error;
      }
    }
  };
  const deleteLease = async (name: string) => {
    await admin.deleteNamespacedCustomObject({ ...LEASES, namespace: NS, name });
  };

  /** A client of a new service account whose Role grants `verbs` on Leases (none: no Role at all). */
  async function serviceAccountApi(account: string, verbs: string[]): Promise<CustomObjectsApi> {
    await c.kubectl(['create', 'serviceaccount', account, '-n', NS]);
    if (verbs.length > 0) {
      await c.kubectl([
        'create',
        'role',
        account,
        `--verb=${verbs.join(',')}`,
        '--resource=leases',
        '-n',
        NS,
      ]);
      await c.kubectl([
        'create',
        'rolebinding',
        account,
        `--role=${account}`,
        `--serviceaccount=${NS}:${account}`,
        '-n',
        NS,
      ]);
    }
    return apiFor(await c.kubeconfigForServiceAccount(NS, account));
  }

  /** An elector whose requests, callbacks and log lines go into its timeline. */
  function candidate(
    name: string,
    identity: string,
    options: {
      api?: CustomObjectsApi;
      leaseSeconds?: number;
      retryPeriodMs?: number;
      renewDeadlineMs?: number;
      onStartedLeading?: () => void;
    } = {},
  ): Candidate {
    const timeline: string[] = [];
    const logs: LogRecord[] = [];
    const before: Interleave = {};
    const logger = createLogger(
      'info',
      {},
      {
        write(line: string) {
          const record = JSON.parse(line) as LogRecord;
          logs.push(record);
          timeline.push(`${LOG_LEVELS[record.level] ?? record.level}: ${record.msg}`);
        },
      },
    );
    const elector = new LeaderElector(
      recordingApi(options.api ?? admin, timeline, before),
      {
        namespace: NS,
        name,
        identity,
        leaseDurationSeconds: options.leaseSeconds ?? 3600,
        // Only the renew deadline's own test can miss it: no other steps down because the machine is slow.
        renewDeadlineMs: options.renewDeadlineMs ?? 3_600_000,
        retryPeriodMs: options.retryPeriodMs ?? 100,
      },
      {
        onStartedLeading: () => {
          timeline.push('started');
          options.onStartedLeading?.();
        },
        onStoppedLeading: () => timeline.push('stopped'),
      },
      logger,
    );
    const created = { elector, timeline, logs, before };
    candidates.push(created);
    return created;
  }

  /** The first `count` entries of the timeline, once they are there and every request among them answered. */
  async function settled({ timeline }: Candidate, count: number): Promise<string[]> {
    const first = () => timeline.slice(0, count);
    await waitFor(
      async () => first().length === count && !first().some((entry) => entry.endsWith('…')),
      SETTLES_MS,
      `${count} timeline entries (so far: ${timeline.join(', ')})`,
    );
    return first();
  }
  const reached = ({ timeline }: Candidate, entry: string) =>
    waitFor(async () => timeline.includes(entry), SETTLES_MS, `"${entry}" (so far: ${timeline.join(', ')})`);

  beforeAll(async () => {
    c = cluster();
    await c.kubectl(['create', 'namespace', NS]);
    admin = apiFor(c.kubeconfigPath);
  });
  // Every elector stopped and its last request answered before the test ends (afterEach is still part of
  // it): code run after a test counts for none in a mutation run's per-test coverage, and its mutants would
  // then run every test of the file.
  afterEach(async () => {
    for (const { elector } of candidates) await elector.stop();
    await waitFor(
      async () => candidates.every(({ timeline }) => !timeline.some((entry) => entry.endsWith('…'))),
      SETTLES_MS,
      'the last requests of the stopped electors',
    );
    candidates = [];
  });

  const BECAME = ['info: became the leader', 'started'];
  const STEPPED_DOWN = ['info: stopped leading', 'stopped'];

  test('the first candidate creates the Lease, leads on that write, and keeps renewing it', async () => {
    const name = leaseName();
    const a = candidate(name, 'pod-a', { leaseSeconds: 10 });
    a.elector.start();
    expect(await settled(a, 8)).toEqual([
      'get 404',
      'create ok',
      ...BECAME,
      ...['get ok', 'replace ok'],
      ...['get ok', 'replace ok'],
    ]);
    expect(a.logs[0]).toMatchObject({
      level: 30,
      identity: 'pod-a',
      leading: true,
      msg: 'became the leader',
    });
    const lease = await readLease(name);
    expect(lease.spec).toMatchObject({
      holderIdentity: 'pod-a',
      leaseDurationSeconds: 10,
      leaseTransitions: 0,
    });
    expect(lease.spec.acquireTime < lease.spec.renewTime).toBe(true);
    expect(a.elector.isLeader()).toBe(true);
  });

  test('a live holder keeps the Lease; a second candidate only reads it, and its stop() changes nothing', async () => {
    const name = leaseName();
    const a = candidate(name, 'pod-a', { leaseSeconds: 10 });
    a.elector.start();
    await reached(a, 'started');
    const b = candidate(name, 'pod-b', { leaseSeconds: 10 });
    b.elector.start();
    // Five reads of a Lease renewed all along: a candidate that ignored a live holder would have written.
    expect(await settled(b, 5)).toEqual(Array(5).fill('get ok'));
    await b.elector.stop();
    expect(b.timeline.every((entry) => entry.startsWith('get '))).toBe(true);
    expect([a.elector.isLeader(), b.elector.isLeader()]).toEqual([true, false]);
    expect((await readLease(name)).spec.holderIdentity).toBe('pod-a');
  });

  test('an expired Lease of a holder that died is taken over, and the transition counted', async () => {
    const name = leaseName();
    const stale = new Date(Date.now() - 3600_000);
    await admin.createNamespacedCustomObject({
      ...LEASES,
      namespace: NS,
      body: {
        ...leaseOf(name, 'pod-gone'),
        spec: {
          holderIdentity: 'pod-gone',
          leaseDurationSeconds: 1,
          acquireTime: microTime(stale),
          renewTime: microTime(stale),
          leaseTransitions: 4,
        },
      },
    });
    const b = candidate(name, 'pod-b', { leaseSeconds: 10 });
    b.elector.start();
    await reached(b, 'started');
    // Read until the record had not changed for its duration by b's own clock, then taken in one write.
    const reads = b.timeline.indexOf('replace ok');
    expect(reads).toBeGreaterThan(0);
    expect(b.timeline.slice(0, reads + 3)).toEqual([...Array(reads).fill('get ok'), 'replace ok', ...BECAME]);
    const taken = await readLease(name);
    expect(taken.spec).toMatchObject({
      holderIdentity: 'pod-b',
      leaseDurationSeconds: 10,
      leaseTransitions: 5,
    });
    expect(taken.spec.acquireTime).not.toBe(microTime(stale));
  });

  test('stop() releases the Lease (no holder) so a successor takes it at its first read', async () => {
    const name = leaseName();
    const a = candidate(name, 'pod-a', { retryPeriodMs: ONE_TICK_MS });
    a.elector.start();
    await reached(a, 'started');
    const acquired = await readLease(name);
    await a.elector.stop();
    expect(a.timeline).toEqual(['get 404', 'create ok', ...BECAME, ...STEPPED_DOWN, 'get ok', 'replace ok']);
    expect(a.elector.isLeader()).toBe(false);
    expect(a.logs[1]).toMatchObject({ level: 30, identity: 'pod-a', leading: false, msg: 'stopped leading' });
    expect((await readLease(name)).spec).toEqual({
      ...acquired.spec,
      holderIdentity: '',
      leaseDurationSeconds: 1,
    });
    // Without the release b would wait an hour.
    const b = candidate(name, 'pod-b');
    b.elector.start();
    expect(await settled(b, 4)).toEqual(['get ok', 'replace ok', ...BECAME]);
    expect((await readLease(name)).spec).toMatchObject({ holderIdentity: 'pod-b', leaseTransitions: 0 });
  });

  test('stop() during a tick (here from onStartedLeading) lets that tick schedule no other', async () => {
    const name = leaseName();
    const a: Candidate = candidate(name, 'pod-a', { onStartedLeading: () => void a.elector.stop() });
    a.elector.start();
    await settled(a, 8);
    // b starts after a's last request, with a's retry period: by b's second read a's next tick, had one
    // been scheduled, would have sent its read (the earlier timer fires first).
    const b = candidate(name, 'pod-b');
    b.elector.start();
    await settled(b, 6);
    expect(a.timeline).toEqual(['get 404', 'create ok', ...BECAME, ...STEPPED_DOWN, 'get ok', 'replace ok']);
  });

  test('stop() while a renewal is in flight: the renewal lands, then the release; no leading again', async () => {
    const name = leaseName();
    const a = candidate(name, 'pod-a');
    a.elector.start();
    await settled(a, 4);
    let stopping: Promise<void> | undefined;
    // Just before the next renewal's write is sent, the replica is told to stop.
    a.before.replace = async () => {
      stopping = a.elector.stop();
    };
    await waitFor(async () => stopping !== undefined, SETTLES_MS, 'a renewal under way');
    await stopping;
    const renewal = a.timeline.lastIndexOf('replace ok', a.timeline.indexOf('stopped'));
    expect(a.timeline.slice(renewal)).toEqual(['replace ok', ...STEPPED_DOWN, 'get ok', 'replace ok']);
    expect(a.elector.isLeader()).toBe(false);
    expect((await readLease(name)).spec).toMatchObject({ holderIdentity: '', leaseDurationSeconds: 1 });
  });

  test.each<[string, (name: string) => Promise<void>, string]>([
    ['another holder has taken it', (name) => takeLease(name, 'pod-b'), 'get ok'],
    ['it was deleted', deleteLease, 'get 404'],
  ])('stop() leaves the Lease alone when %s', async (_case, change, read) => {
    const name = leaseName();
    const a = candidate(name, 'pod-a', { retryPeriodMs: ONE_TICK_MS });
    a.elector.start();
    await reached(a, 'started');
    await change(name);
    const changed = await leaseIfAny(name);
    await a.elector.stop();
    expect(a.timeline).toEqual(['get 404', 'create ok', ...BECAME, ...STEPPED_DOWN, read]);
    expect(await leaseIfAny(name)).toEqual(changed);
  });

  test('a release the API server refuses is logged; the Lease is left to expire', async () => {
    const name = leaseName();
    // A Role without `update`: pod-a can create the Lease but not release it (403).
    const api = await serviceAccountApi('no-update', ['get', 'create']);
    await waitFor(
      async () =>
        (await api.getNamespacedCustomObject({ ...LEASES, namespace: NS, name }).catch(httpCode)) === 404,
      SETTLES_MS,
      'the grant to reach the authorizer',
    );
    const a = candidate(name, 'pod-a', { api, retryPeriodMs: ONE_TICK_MS });
    a.elector.start();
    await reached(a, 'started');
    await a.elector.stop();
    expect(a.timeline).toEqual([
      'get 404',
      'create ok',
      ...BECAME,
      ...STEPPED_DOWN,
      'get ok',
      'replace 403',
      'warn: could not release the lease',
    ]);
    expect(a.logs[2]).toMatchObject({ err: { code: 403 } });
    expect((await readLease(name)).spec.holderIdentity).toBe('pod-a');
  });

  test('a race lost on create (another created the Lease after our read: 409) is followed, not led', async () => {
    const name = leaseName();
    const a = candidate(name, 'pod-a');
    a.before.create = () => createLease(name, 'pod-b');
    a.elector.start();
    expect(await settled(a, 4)).toEqual(['get 404', 'create 409', 'get ok', 'get ok']);
    expect(a.elector.isLeader()).toBe(false);
    expect((await readLease(name)).spec.holderIdentity).toBe('pod-b');
  });

  test('a race lost on replace (another took the Lease after our read: 409) is followed, not led', async () => {
    const name = leaseName();
    await createLease(name, '');
    const a = candidate(name, 'pod-a');
    a.before.replace = () => takeLease(name, 'pod-c');
    a.elector.start();
    expect(await settled(a, 4)).toEqual(['get ok', 'replace 409', 'get ok', 'get ok']);
    expect(a.elector.isLeader()).toBe(false);
    expect((await readLease(name)).spec.holderIdentity).toBe('pod-c');
  });

  test.each<[string, boolean, Verb, string]>([
    ['create', false, 'create', 'get 404'],
    ['replace', true, 'replace', 'get ok'],
  ])(
    'a Lease the API server refuses on %s (422) is logged as a failure, not taken for a lost race',
    async (_case, exists, verb, read) => {
      const name = leaseName();
      if (exists) await createLease(name, '');
      // A duration of 0 s is invalid: the API server refuses the Lease.
      const a = candidate(name, 'pod-a', { leaseSeconds: 0 });
      a.elector.start();
      expect(await settled(a, 4)).toEqual([
        read,
        `${verb} 422`,
        'warn: leader election: lease request failed',
        read,
      ]);
      expect(a.logs[0]).toMatchObject({ err: { code: 422 } });
    },
  );

  test('a read refused for another reason than a missing Lease (403) is logged, and no Lease created', async () => {
    const name = leaseName();
    const a = candidate(name, 'pod-a', { api: await serviceAccountApi('no-leases', []) });
    a.elector.start();
    expect(await settled(a, 3)).toEqual([
      'get 403',
      'warn: leader election: lease request failed',
      'get 403',
    ]);
    expect(a.logs[0]).toMatchObject({ err: { code: 403 } });
  });

  test('a leader whose Lease another holder has taken steps down at its next read', async () => {
    const name = leaseName();
    const a = candidate(name, 'pod-a');
    a.elector.start();
    await reached(a, 'started');
    await takeLease(name, 'pod-b');
    await reached(a, 'stopped');
    const stepDown = a.timeline.indexOf('stopped') - 1;
    // Renewals until the take-over, then a read of pod-b's Lease and the step-down (not the renew deadline).
    expect(a.timeline.slice(stepDown - 1, stepDown + 2)).toEqual(['get ok', ...STEPPED_DOWN]);
    expect(a.timeline.filter((entry) => entry.startsWith('warn'))).toEqual([]);
    expect(a.elector.isLeader()).toBe(false);
    expect((await readLease(name)).spec.holderIdentity).toBe('pod-b');
  });

  test('a leader that cannot renew within the renew deadline steps down by itself', async () => {
    const name = leaseName();
    const a = candidate(name, 'pod-a', { renewDeadlineMs: 1000 });
    // Every renewal loses a race: another writer changes the Lease (not its holder) just before it.
    const conflict = async () => {
      a.before.replace = conflict;
      const lease = await readLease(name);
      await admin.replaceNamespacedCustomObject({
        ...LEASES,
        namespace: NS,
        name,
        body: {
          ...lease,
          metadata: { ...lease.metadata, annotations: { touched: lease.metadata.resourceVersion } },
        },
      });
    };
    a.before.replace = conflict;
    a.elector.start();
    await reached(a, 'stopped');
    const renewals = a.timeline.indexOf(
      'warn: could not renew the lease within the renew deadline: stepping down',
    );
    expect(a.timeline.slice(0, 4)).toEqual(['get 404', 'create ok', ...BECAME]);
    expect(a.timeline.slice(4, renewals)).toEqual(
      Array<string[]>((renewals - 4) / 2)
        .fill(['get ok', 'replace 409'])
        .flat(),
    );
    expect(a.timeline.slice(renewals + 1, renewals + 3)).toEqual(STEPPED_DOWN);
    await a.elector.stop();
    delete a.before.replace;
    // Nobody took the Lease: the renew deadline alone stepped pod-a down.
    expect((await readLease(name)).spec.holderIdentity).toBe('pod-a');
  });

  test('two candidates starting together: exactly one leads', async () => {
    const name = leaseName();
    const a = candidate(name, 'pod-a');
    const b = candidate(name, 'pod-b');
    a.elector.start();
    b.elector.start();
    await waitFor(async () => a.elector.isLeader() || b.elector.isLeader(), SETTLES_MS, 'a leader');
    const holder = (await readLease(name)).spec.holderIdentity;
    expect([a.elector.isLeader(), b.elector.isLeader()]).toEqual([holder === 'pod-a', holder === 'pod-b']);
  });
});
