// The inhibit rules, which `amtool config routes test` does not evaluate, against a real Alertmanager:
// the production route tree and inhibit rules with the people's receivers replaced by webhooks to a local
// HTTP server (withLocalReceivers), short timings, alerts posted to /api/v2/alerts.

import { rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { join } from 'node:path';
import { alertmanagerConfig, withLocalReceivers } from '../src/alertmanager.js';
import { startProcess, type ManagedProcess } from '@concert-booking/devkit/process';
import { alertmanagerProcess } from '@concert-booking/devkit/programs';
import { freePort, waitFor } from '@concert-booking/devkit/wait';
import { renderAlertmanager } from '../src/render.js';
import { sleep, tempDir } from './support.js';

interface Notification {
  path: string;
  authorization: string | undefined;
  receiver: string;
  status: string;
  alerts: Array<{ status: string; labels: Record<string, string> }>;
}

const TOKEN = 'test-controller-token';

let dir = '';
let server: Server | undefined;
let alertmanager: ManagedProcess | undefined;
let amUrl = '';
const notifications: Notification[] = [];

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function alert(labels: Record<string, string>, endsAt?: Date): object {
  return {
    labels: { service: 'booking', ...labels },
    annotations: { summary: labels.alertname },
    startsAt: new Date(Date.now() - 60_000).toISOString(),
    ...(endsAt ? { endsAt: endsAt.toISOString() } : {}),
  };
}

async function postAlerts(alerts: object[]): Promise<void> {
  const res = await fetch(`${amUrl}/api/v2/alerts`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(alerts),
  });
  expect(res.status).toBe(200);
}

/** Firing alert names notified per receiver and namespace: `receiver namespace` -> sorted alert names. */
function delivered(): Record<string, string[]> {
  const out: Record<string, Set<string>> = {};
  for (const n of notifications) {
    for (const a of n.alerts) {
      if (a.status !== 'firing') continue;
      const key = `${n.receiver} ${a.labels.namespace}`;
      (out[key] ??= new Set()).add(`${a.labels.alertname}/${a.labels.severity}`);
    }
  }
  return Object.fromEntries(
    Object.entries(out)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => [k, [...v].sort()]),
  );
}

beforeAll(async () => {
  dir = tempDir('monitoring-alertmanager');
  server = createServer((req, res) => {
    void readBody(req).then((body) => {
      const payload = JSON.parse(body) as Omit<Notification, 'path' | 'authorization'>;
      notifications.push({ ...payload, path: req.url ?? '', authorization: req.headers.authorization });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;

  const tokenFile = join(dir, 'controller-webhook-token');
  writeFileSync(tokenFile, TOKEN);
  const timing = { groupWait: '1s', groupInterval: '2s', repeatInterval: '1h' };
  const config = withLocalReceivers(
    alertmanagerConfig({
      controllerWebhookUrl: `${base}/alertscaler`,
      controllerWebhookTokenFile: tokenFile,
      people: timing,
      controller: timing,
      pageRepeatInterval: '1h',
    }),
    base,
  );
  const configFile = join(dir, 'alertmanager.yml');
  writeFileSync(configFile, renderAlertmanager(config));

  const port = await freePort();
  amUrl = `http://127.0.0.1:${port}`;
  alertmanager = await startProcess({
    ...alertmanagerProcess({ configFile, dataDir: join(dir, 'data'), port }),
    readyTimeoutMs: 20_000,
  });
});

afterAll(async () => {
  await alertmanager?.stop();
  if (server) await new Promise((resolve) => server!.close(resolve));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('inhibition in a running Alertmanager', () => {
  it('mutes latency and scaling while Postgres is down, and lets them through once it recovers', async () => {
    const latency = { alertname: 'BookingHighP90Latency', severity: 'page', autoscale: 'booking-service' };
    // The inhibiting alerts first: Alertmanager's inhibitor learns of new alerts asynchronously, so
    // a source posted in the same request as its target can lose the race on a busy machine (as it
    // would in production, where the cause is usually seen before its effects).
    await postAlerts([
      alert({ alertname: 'BookingPostgresDown', severity: 'page', namespace: 'pg-down' }),
      alert({ alertname: 'BookingRedisDown', severity: 'ticket', namespace: 'redis-down' }),
      alert({
        alertname: 'BookingAvailabilityBudgetBurn',
        severity: 'page',
        slo: 'availability',
        namespace: 'burn',
      }),
    ]);
    await sleep(1_000);
    await postAlerts([
      // Postgres down in namespace pg-down: its latency page and scaling webhook are inhibited.
      alert({ ...latency, namespace: 'pg-down' }),
      alert({
        alertname: 'BookingLatencyBudgetBurn',
        severity: 'page',
        slo: 'latency',
        namespace: 'pg-down',
      }),
      alert({
        alertname: 'BookingDbPoolWaiting',
        severity: 'ticket',
        pod: 'booking-0',
        namespace: 'pg-down',
      }),
      // ... but not the availability page (users' errors are still paged).
      alert({
        alertname: 'BookingAvailabilityBudgetBurn',
        severity: 'page',
        slo: 'availability',
        namespace: 'pg-down',
      }),
      // Control: the same latency alert in a namespace whose Postgres is fine reaches the controller and people.
      alert({ ...latency, namespace: 'control' }),
      // Redis down inhibits the cache hit ratio ticket.
      alert({
        alertname: 'BookingSeatmapCacheHitRatioLow',
        severity: 'ticket',
        layer: 'memory',
        namespace: 'redis-down',
      }),
      // A paging budget burn inhibits the ticket of the same SLO.
      alert({
        alertname: 'BookingAvailabilityBudgetBurn',
        severity: 'ticket',
        slo: 'availability',
        namespace: 'burn',
      }),
    ]);

    const expected = {
      'alertscaler control': ['BookingHighP90Latency/page'],
      'booking-page burn': ['BookingAvailabilityBudgetBurn/page'],
      'booking-page control': ['BookingHighP90Latency/page'],
      'booking-page pg-down': ['BookingAvailabilityBudgetBurn/page', 'BookingPostgresDown/page'],
      'booking-ticket redis-down': ['BookingRedisDown/ticket'],
    };
    const matches = async () => JSON.stringify(delivered()) === JSON.stringify(expected);
    await waitFor(matches, 20_000).catch(() => undefined);
    // Every group has flushed at least once more (group_wait 1s, group_interval 2s): nothing else may arrive.
    await sleep(4_000);
    expect({ delivered: delivered(), log: '' }).toEqual({
      delivered: expected,
      log: (await matches()) ? '' : alertmanager!.output().slice(-4000),
    });

    // The controller's webhook carried the bearer token from the credentials file.
    const toController = notifications.filter((n) => n.receiver === 'alertscaler');
    expect(toController.length).toBeGreaterThan(0);
    for (const n of toController) {
      expect(n.path).toBe('/alertscaler');
      expect(n.authorization).toBe(`Bearer ${TOKEN}`);
    }

    // The API shows why: the latency alert is suppressed, inhibited by the Postgres alert.
    const query = new URLSearchParams();
    query.append('filter', 'alertname="BookingHighP90Latency"');
    query.append('filter', 'namespace="pg-down"');
    const res = await fetch(`${amUrl}/api/v2/alerts?${query}`);
    const alerts = (await res.json()) as Array<{ status: { state: string; inhibitedBy: string[] } }>;
    expect(alerts).toHaveLength(1);
    expect(alerts[0]!.status.state).toBe('suppressed');
    expect(alerts[0]!.status.inhibitedBy).toHaveLength(1);

    // Postgres recovers: the latency alert, still firing, now reaches the controller and the on-call person.
    await postAlerts([
      alert({ alertname: 'BookingPostgresDown', severity: 'page', namespace: 'pg-down' }, new Date()),
    ]);
    const released = await waitFor(async () => {
      const d = delivered();
      return (
        (d['alertscaler pg-down'] ?? []).includes('BookingHighP90Latency/page') &&
        (d['booking-page pg-down'] ?? []).includes('BookingHighP90Latency/page')
      );
    }, 20_000).then(
      () => true,
      () => false,
    );
    expect({ released, delivered: delivered() }).toEqual({ released: true, delivered: expect.any(Object) });
  });
});
