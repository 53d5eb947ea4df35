/**
 * The bundle in the local cluster, as a user applies it (issue 14): `npm run cluster -- up`, the charts
 * synthesized with the local-images values, then docs/deploy.md's steps 3 and 4 run as written (namespace,
 * Secrets, `kubectl apply -f charts/` in order, rollouts). A real node runs every pod. Needs root; it never
 * skips: a cluster that cannot start fails the suite with the part that failed and its log.
 */
import { readFileSync } from 'node:fs';
import { APPS, LABEL } from '@concert-booking/cdk8s/labels';
import { status } from '../../src/cluster/cluster.js';
import { BUNDLE_NAMESPACE, deployBundle, runCommand, type DeployedBundle } from '../../src/cluster/deploy.js';
import { host, mountsUnder } from '../../src/cluster/host.js';
import type { Kubectl } from '../../src/cluster/kubectl.js';
import { clusterLayout, NETWORK } from '../../src/cluster/layout.js';
import { waitFor } from '../../src/wait.js';
import { bearer } from '../../src/identity.js';

const NS = BUNDLE_NAMESPACE;
const layout = clusterLayout();
let kubectl: Kubectl;
let deployed: DeployedBundle | undefined;
const run = runCommand;

const cluster = (...args: string[]) =>
  run(`npm run cluster -- ${args.join(' ')}`, 'npm', ['run', '-s', 'cluster', '--', ...args]);

async function json<T>(args: string[]): Promise<T> {
  return JSON.parse((await kubectl([...args, '-o', 'json'])).stdout) as T;
}

interface Pod {
  metadata: { name: string; labels: Record<string, string> };
  status: {
    podIP?: string;
    phase: string;
    conditions?: { type: string; status: string }[];
    initContainerStatuses?: { name: string; state: { terminated?: { exitCode: number; reason: string } } }[];
    containerStatuses?: { name: string; state: { terminated?: { exitCode: number } } }[];
  };
}

const pods = async (selector = '') =>
  (await json<{ items: Pod[] }>(['get', 'pods', '-n', NS, ...(selector ? ['-l', selector] : [])])).items;
const clusterIp = async (service: string) =>
  (await json<{ spec: { clusterIP: string } }>(['get', 'service', service, '-n', NS])).spec.clusterIP;
const secretValue = async (secret: string, key: string) =>
  Buffer.from(
    (await json<{ data: Record<string, string> }>(['get', 'secret', secret, '-n', NS])).data[key]!,
    'base64',
  ).toString();

/** Runs the service image once in the namespace `default` (its command, or `command`); its exit code and log. */
async function runPod(name: string, command: string[] = []) {
  const { image } = JSON.parse(readFileSync(layout.valuesFile, 'utf8')) as {
    image: { repository: string; tag: string };
  };
  await kubectl([
    'run',
    name,
    '-n',
    'default',
    '--restart=Never',
    '--image-pull-policy=Never',
    `--image=${image.repository}:${image.tag}`,
    ...(command.length > 0 ? ['--command', '--', ...command] : []),
  ]);
  let pod: Pod | undefined;
  await waitFor(
    async () => {
      pod = await json<Pod>(['get', 'pod', name, '-n', 'default']);
      return pod.status.phase === 'Failed' || pod.status.phase === 'Succeeded';
    },
    60_000,
    `the pod ${name} to end`,
  );
  const logs = (await kubectl(['logs', '-n', 'default', name])).stdout;
  return { exitCode: pod!.status.containerStatuses?.[0]?.state.terminated?.exitCode, logs };
}

beforeAll(async () => {
  await cluster('up');
  deployed = await deployBundle(layout);
  kubectl = deployed.kubectl;
}, 45 * 60_000);

afterAll(async () => {
  deployed?.close();
  await cluster('down').catch((error: Error) => process.stderr.write(`${error.message}\n`));
}, 120_000);

describe('the bundle in the local cluster', () => {
  test('every pod is Ready', async () => {
    const all = await pods();
    const running = new Set(all.map((p) => p.metadata.labels[LABEL.name]));
    const apps = [
      'bookingService',
      'postgres',
      'redis',
      'prometheus',
      'alertmanager',
      'alertscaler',
    ] as const;
    expect(apps.filter((app) => !running.has(APPS[app].name))).toEqual([]);
    const notReady = all.filter(
      (p) => !p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
    );
    expect(notReady.map((p) => `${p.metadata.name} ${p.status.phase}`)).toEqual([]);
  });

  test('the migrations ran in the init container', async () => {
    const booking = await pods('app.kubernetes.io/name=booking-service');
    for (const pod of booking) {
      const migrate = pod.status.initContainerStatuses?.find((c) => c.name === 'migrate');
      expect(migrate?.state.terminated).toMatchObject({ exitCode: 0, reason: 'Completed' });
    }
    const logs = await Promise.all(
      booking.map(
        async (pod) => (await kubectl(['logs', '-n', NS, pod.metadata.name, '-c', 'migrate'])).stdout,
      ),
    );
    expect(logs.join('\n')).toContain('migrations applied');
  });

  test('a seat is booked end to end through the booking Service', async () => {
    // A small catalog, loaded as `npm run seed` does, into the Postgres pod (pod addresses reach the host).
    const [postgres] = await pods('app.kubernetes.io/name=postgres');
    const url = new URL(await secretValue('booking-db', 'database-url'));
    url.hostname = postgres!.status.podIP!;
    await run(
      'npm run seed',
      'npm',
      ['run', '-s', 'seed', '--', '--concerts', '1', '--timeslots', '1', '--seats', '5'],
      {
        DATABASE_URL: url.toString(),
      },
    );

    const api = `http://${await clusterIp('booking-service')}`;
    const send = async (
      method: string,
      path: string,
      body?: unknown,
      headers: Record<string, string> = {},
    ) => {
      const response = await fetch(`${api}${path}`, {
        method,
        headers: { 'content-type': 'application/json', ...headers },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: response.status, body: (await response.json()) as Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any
    };
    const { body: map } = await send('GET', '/v1/timeslots/1/seats');
    const seat = (map.seats as { id: number; price: number; status: string }[]).find(
      (s) => s.status === 'AVAILABLE',
    )!;
    // User 7 signs in with the operator's identity provider (the JWKS the pods fetch from the node).
    const user = await bearer(7);
    const { status: issuedStatus, body: issued } = await send('POST', '/v1/queue/tokens', undefined, user);
    expect(issuedStatus).toBeLessThan(300);
    const token = issued.token as string;
    await waitFor(
      async () =>
        (await send('GET', '/v1/queue/tokens/current', undefined, { ...user, 'Queue-Token': token })).body
          .state === 'ACTIVE',
      30_000,
      'an admitted token',
    );
    const hold = await send(
      'POST',
      '/v1/reservations',
      { timeslotId: 1, seatId: seat.id },
      { ...user, 'Queue-Token': token },
    );
    expect(hold.status).toBe(201);
    const charge = await send(
      'POST',
      '/v1/users/7/balance/charges',
      { amount: seat.price },
      { ...(await bearer(7, ['wallet:topup'])), 'Idempotency-Key': 'cluster-charge' },
    );
    expect(charge.status).toBe(201);
    const paid = await send(
      'POST',
      '/v1/payments',
      { reservationId: hold.body.id },
      { ...user, 'Queue-Token': token, 'Idempotency-Key': 'cluster-pay' },
    );
    expect(paid.status).toBe(201);
    const after = (await send('GET', '/v1/timeslots/1/seats')).body.seats as { id: number; status: string }[];
    expect(after.find((s) => s.id === seat.id)?.status).toBe('SOLD');
  }, 120_000);

  test("the cluster's Prometheus finds every booking pod through Kubernetes discovery, up", async () => {
    const booking = (await pods('app.kubernetes.io/name=booking-service')).map((p) => p.metadata.name).sort();
    const prometheus = `http://${await clusterIp('prometheus')}:9090`;
    type Target = { labels: Record<string, string>; health: string; lastError: string };
    let targets: Target[] = [];
    await waitFor(
      async () => {
        const response = await fetch(`${prometheus}/api/v1/targets?state=active`);
        targets = (
          (await response.json()) as { data: { activeTargets: Target[] } }
        ).data.activeTargets.filter((t) => t.labels.job === 'booking-service');
        return targets.length === booking.length && targets.every((t) => t.health === 'up');
      },
      120_000,
      'every booking pod as an up target',
    ).catch(() => undefined);
    expect(targets.map((t) => `${t.labels.pod} ${t.health} ${t.lastError}`).sort()).toEqual(
      booking.map((pod) => `${pod} up `),
    );
  }, 150_000);

  test("Alertmanager delivers to the controller through the Service's DNS name", async () => {
    // The Service picks either controller replica: count the webhook requests both received.
    const controllers = await pods('app.kubernetes.io/name=alertscaler');
    const delivered = async () => {
      let total = 0;
      for (const pod of controllers) {
        const text = await (await fetch(`http://${pod.status.podIP}:8080/metrics`)).text();
        for (const m of text.matchAll(/^alertscaler_webhook_requests_total\{[^}]*\} (\d+)/gm))
          total += Number(m[1]);
      }
      return total;
    };
    const before = await delivered();
    const alertmanager = `http://${await clusterIp('alertmanager')}:9093`;
    const posted = await fetch(`${alertmanager}/api/v2/alerts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([
        {
          labels: {
            alertname: 'ClusterDeliveryCheck',
            autoscale: 'booking-service',
            namespace: NS,
            severity: 'ticket',
          },
        },
      ]),
    });
    expect(posted.status).toBe(200);
    // The route's group_wait is 10 s.
    await waitFor(async () => (await delivered()) > before, 60_000, 'the webhook at the controller');
  }, 90_000);

  test('one controller replica holds the Lease', async () => {
    const controllers = (await pods('app.kubernetes.io/name=alertscaler')).map((p) => p.metadata.name);
    const lease = await json<{ spec: { holderIdentity?: string; renewTime?: string } }>([
      'get',
      'lease',
      'alertscaler-leader',
      '-n',
      NS,
    ]);
    expect(controllers).toContain(lease.spec.holderIdentity);
    expect(Date.now() - Date.parse(lease.spec.renewTime!)).toBeLessThan(60_000);
  });

  test("an OnSale's pre-queue reaches the waiting room: the controller publishes it on the booking admin Service", async () => {
    const scaler = await json<{ spec: { minReplicas: number } }>([
      'get',
      'alertscalers.autoscaling.concert-booking.dev',
      'booking-service',
      '-n',
      NS,
    ]);
    // In its pre-queue now, opening in 3 minutes; the floor it holds is the one the AlertScaler has anyway.
    const opensAt = Date.now() + 180_000;
    const sale = {
      apiVersion: 'autoscaling.concert-booking.dev/v1alpha1',
      kind: 'OnSale',
      metadata: { name: 'cluster-check', namespace: NS },
      spec: {
        timeslotIds: [1],
        opensAt: new Date(opensAt).toISOString(),
        closesAt: new Date(opensAt + 60_000).toISOString(),
        preQueueSeconds: 600,
        scaling: { alertScalerName: 'booking-service', minReplicas: scaler.spec.minReplicas, leadSeconds: 0 },
      },
    };
    await kubectl(['apply', '-f', '-'], { input: JSON.stringify(sale) });
    const api = `http://${await clusterIp('booking-service')}`;
    // Without a sale a new user is admitted at the next round (a wait of seconds); in a published pre-queue
    // nobody is admitted before opensAt, so the promised wait covers the minutes until then. Each try is a new
    // user: the controller's pass (every 30 s) publishes the sale some time after the apply.
    let user = 100;
    let wait: unknown;
    try {
      await waitFor(
        async () => {
          const headers = { 'content-type': 'application/json', ...(await bearer(user++)) };
          const joined = await fetch(`${api}/v1/queue/tokens`, { method: 'POST', headers });
          const { token } = (await joined.json()) as { token: string };
          const current = await fetch(`${api}/v1/queue/tokens/current`, {
            headers: { ...headers, 'Queue-Token': token },
          });
          const state = (await current.json()) as { state: string; estimatedWaitSeconds?: number };
          wait = state;
          if (state.state === 'WAITING' && state.estimatedWaitSeconds! * 1000 >= opensAt - Date.now() - 5_000)
            return true;
          await new Promise((resolve) => setTimeout(resolve, 2_000)); // a new user every 2 s, under the rate limits
          return false;
        },
        90_000,
        'a pre-queued user told to wait for the opening',
      );
    } finally {
      await kubectl(['delete', 'onsale', 'cluster-check', '-n', NS]);
    }
    expect(wait).toMatchObject({ state: 'WAITING' });
  }, 150_000);

  test('the service image without DATABASE_URL stops with a configuration error, exit code 78', async () => {
    const { exitCode, logs } = await runPod('no-database');
    expect(exitCode).toBe(78);
    expect(logs).toContain('invalid configuration: DATABASE_URL');
  });

  test('CoreDNS answers the cluster zone and refuses every other name (nothing is forwarded)', async () => {
    const script = `const { promises: dns } = await import('node:dns');
      for (const name of ['kubernetes.default.svc.cluster.local', 'example.com'])
        await dns.resolve4(name).then((a) => console.log(name, a.join()), (e) => console.log(name, e.code));`;
    const output = await runPod('dns-check', ['node', '-e', script]);
    expect(output.logs).toBe('kubernetes.default.svc.cluster.local 198.19.0.1\nexample.com EREFUSED\n');
  });

  test('down leaves no process and no mount behind', async () => {
    await cluster('down');
    expect(Object.values(status(layout).daemons).filter(Boolean)).toEqual([]);
    expect(mountsUnder(layout.root)).toEqual([]);
    expect(host('ip', ['link', 'show', NETWORK.bridge], true).code).not.toBe(0);
    for (const table of ['filter', 'nat', 'mangle']) {
      const rules = host('iptables', ['-w', '-t', table, '-S']).stdout.split('\n');
      expect(rules.filter((rule) => /KUBE-|CB-/.test(rule))).toEqual([]);
    }
  }, 120_000);
});
