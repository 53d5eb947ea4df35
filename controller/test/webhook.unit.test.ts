import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLogger } from '@concert-booking/lib';
import { applyResync } from '../src/alerts/episodes.js';
import { webhookHandler } from '../src/alerts/webhook.js';
import type { AlertScalerResource } from '../src/api/alertscaler.js';
import { ControllerMetrics } from '../src/metrics.js';
import { MemoryScalerStore } from '../src/reconcile/store.js';
import { payload, postAlerts } from './support/payloads.js';

const TOKEN = 'webhook-token-0123456789abcdef';
const STARTS = '2025-06-01T11:58:12.345678901Z';
const STARTS_ISO = '2025-06-01T11:58:12.345Z';

const scalerResource: AlertScalerResource = {
  metadata: { name: 'booking-service' },
  spec: {
    scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'booking-service' },
    alerts: [
      { alertName: 'BookingHighP90Latency', matchers: [{ name: 'autoscale', value: 'booking-service' }] },
    ],
    saturation: {
      alerts: [
        { alertName: 'BookingDbPoolWaiting', matchers: [{ name: 'autoscale', value: 'booking-service' }] },
      ],
    },
    minReplicas: 2,
    maxReplicas: 6,
  },
};

let server: Server;
let url: string;
let store: MemoryScalerStore;
let metrics: ControllerMetrics;
let truncations: number;

const status = () => store.list()[0]!.status;
const firingKeys = () => status().firingAlerts.map((f) => `${f.fingerprint}@${f.startsAt}`);
const post = (body: unknown, token: string | null = TOKEN) => postAlerts(url, token ?? undefined, body);

beforeEach(async () => {
  store = new MemoryScalerStore([scalerResource]);
  metrics = new ControllerMetrics();
  truncations = 0;
  const handler = webhookHandler({
    store,
    token: TOKEN,
    bodyLimitBytes: 4096,
    metrics,
    logger: createLogger('silent', {}),
    clock: () => new Date('2025-06-01T12:00:00Z'),
    onTruncated: () => truncations++,
  });
  server = createServer((req, res) => void handler(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterEach(async () => {
  await new Promise((resolve) => server.close(resolve));
});

const firing = (fingerprint: string, startsAt = STARTS) => ({
  status: 'firing' as const,
  fingerprint,
  startsAt,
});
const resolved = (fingerprint: string, startsAt = STARTS) => ({
  status: 'resolved' as const,
  fingerprint,
  startsAt,
});

describe('POST /alerts authentication and validation', () => {
  test.each([
    ['no header', null],
    ['a wrong token', 'webhook-token-0123456789abcdeX'],
    ['a shorter token', 'webhook'],
  ])('401 with %s, and nothing is recorded', async (_name, token) => {
    const response = await post(payload([firing('a1')]), token);
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(status().firingAlerts).toEqual([]);
  });

  test('401 for a Basic scheme carrying the token', async () => {
    const response = await fetch(`${url}/alerts`, {
      method: 'POST',
      headers: { authorization: `Basic ${TOKEN}` },
      body: JSON.stringify(payload([firing('a1')])),
    });
    expect(response.status).toBe(401);
  });

  test.each([
    ['not JSON', '{"version": "4", '],
    ['webhook version 3', { ...payload([firing('a1')]), version: '3' }],
    ['no alerts array', { ...payload([]), alerts: undefined }],
    [
      'an alert without fingerprint',
      { ...payload([firing('a1')]), alerts: [{ status: 'firing', labels: {}, startsAt: STARTS }] },
    ],
    ['an unknown alert status', payload([{ ...firing('a1'), status: 'pending' as 'firing' }])],
    ['a startsAt that is not a time', payload([firing('a1', 'yesterday')])],
  ])('400 for %s, and nothing is recorded', async (_name, body) => {
    const response = await post(body);
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    expect(status().firingAlerts).toEqual([]);
  });

  test('413 past the body limit', async () => {
    const many = Array.from({ length: 30 }, (_, i) => firing(`fp-${i}`));
    const response = await post(payload(many));
    expect(response.status).toBe(413);
    expect(status().firingAlerts).toEqual([]);
  });
});

describe('POST /alerts saturation alerts', () => {
  const pool = (status: 'firing' | 'resolved', fingerprint = 'pool') => ({
    status,
    fingerprint,
    startsAt: STARTS,
    alertname: 'BookingDbPoolWaiting',
  });

  test('an alert of saturation.alerts is recorded with the saturation role, a scaling alert with scale', async () => {
    await post(payload([firing('p90'), pool('firing')]));
    expect(status().firingAlerts.map((f) => [f.alertName, f.role])).toEqual([
      ['BookingHighP90Latency', 'scale'],
      ['BookingDbPoolWaiting', 'saturation'],
    ]);
  });

  test('a resolved saturation alert starts the saturation hold, not the stabilization window; a scaling alert the window', async () => {
    await post(payload([pool('firing')]));
    await post(payload([pool('resolved')]));
    expect(status().firingAlerts).toEqual([]);
    expect(status().lastFiringTime).toBeUndefined();
    expect(status().lastSaturatedTime).toBe('2025-06-01T12:00:00.000Z');
    await post(payload([firing('p90')]));
    await post(payload([resolved('p90')]));
    expect(status().lastFiringTime).toBe('2025-06-01T12:00:00.000Z');
  });

  test('an alert matching neither list is not recorded', async () => {
    const response = await post(payload([{ ...pool('firing'), alertname: 'BookingRedisDown' }]));
    expect(await response.json()).toMatchObject({ outcome: 'ignored', alerts: { unmatched: 1 } });
    expect(status().firingAlerts).toEqual([]);
  });
});

describe('POST /alerts episodes', () => {
  test('a firing alert becomes a firing episode (fingerprint, startsAt)', async () => {
    const response = await post(payload([firing('a1')]));
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ outcome: 'accepted', alerts: { new: 1 } });
    expect(status().firingAlerts).toEqual([
      {
        fingerprint: 'a1',
        startsAt: STARTS_ISO,
        alertName: 'BookingHighP90Latency',
        role: 'scale',
        lastNotifiedTime: '2025-06-01T12:00:00.000Z',
      },
    ]);
  });

  test('the same notification twice (two Alertmanager peers) is a 2xx duplicate, recorded once', async () => {
    await post(payload([firing('a1')]));
    const again = await post(payload([firing('a1')]));
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({ outcome: 'duplicate', alerts: { repeat: 1 } });
    expect(firingKeys()).toEqual([`a1@${STARTS_ISO}`]);
  });

  test("each alert's own status counts, not the group's", async () => {
    await post(payload([firing('a1'), firing('a2')]));
    const response = await post(payload([firing('a2'), resolved('a1')], { status: 'firing' }));
    expect(await response.json()).toMatchObject({ alerts: { resolved: 1, repeat: 1 } });
    expect(firingKeys()).toEqual([`a2@${STARTS_ISO}`]);
    expect(status().lastFiringTime).toBe('2025-06-01T12:00:00.000Z');
  });

  test('resolved before firing: 2xx, remembered, and the late firing is stale', async () => {
    const early = await post(payload([{ ...resolved('a1'), endsAt: '2025-06-01T11:59:00Z' }]));
    expect(early.status).toBe(200);
    expect(await early.json()).toMatchObject({ alerts: { unknownResolved: 1 } });
    expect(status().lastFiringTime).toBe('2025-06-01T11:59:00.000Z');
    const late = await post(payload([firing('a1')]));
    expect(late.status).toBe(200);
    expect(await late.json()).toMatchObject({ outcome: 'ignored', alerts: { stale: 1 } });
    expect(status().firingAlerts).toEqual([]);
  });

  test('out of order: an older episode arriving after a newer one is stale; a new startsAt replaces the old', async () => {
    await post(payload([firing('a1', '2025-06-01T10:00:00Z')]));
    await post(payload([firing('a1', '2025-06-01T11:00:00Z')]));
    expect(firingKeys()).toEqual(['a1@2025-06-01T11:00:00.000Z']);
    const old = await post(payload([firing('a1', '2025-06-01T10:00:00Z')]));
    expect(await old.json()).toMatchObject({ alerts: { stale: 1 } });
    expect(firingKeys()).toEqual(['a1@2025-06-01T11:00:00.000Z']);
  });

  test('alerts that match no AlertScaler are a 2xx "ignored"', async () => {
    const response = await post(
      payload([
        { ...firing('x1'), labels: { autoscale: 'other-service' } },
        { ...firing('x2'), alertname: 'BookingRedisDown' },
      ]),
    );
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ outcome: 'ignored', alerts: { unmatched: 2 } });
    expect(status().firingAlerts).toEqual([]);
  });

  test('a truncated payload records what it has and asks for a resync', async () => {
    const response = await post(payload([firing('a1')], { truncatedAlerts: 7 }));
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ truncatedAlerts: 7, alerts: { new: 1 } });
    expect(truncations).toBe(1);
  });

  test('outcomes are counted in alertscaler_webhook_requests_total', async () => {
    await post(payload([firing('a1')]));
    await post(payload([firing('a1')]));
    await post('nope');
    await post(payload([firing('a1')]), 'wrong');
    const text = await metrics.registry.getSingleMetricAsString('alertscaler_webhook_requests_total');
    for (const outcome of ['accepted', 'duplicate', 'bad_request', 'unauthorized']) {
      expect(text).toContain(`alertscaler_webhook_requests_total{outcome="${outcome}"} 1`);
    }
  });
});

describe('resync from Alertmanager /api/v2/alerts', () => {
  const fetchedAt = new Date('2025-06-01T12:00:00Z');
  const now = new Date('2025-06-01T12:00:01Z');
  const episode = (fingerprint: string, lastNotifiedTime: string) => ({
    fingerprint,
    startsAt: STARTS_ISO,
    alertName: 'BookingHighP90Latency',
    role: 'scale' as const,
    lastNotifiedTime,
  });

  test('drops episodes Alertmanager no longer lists, adds the ones it does, keeps ones notified during the fetch', () => {
    const state = {
      firingAlerts: [
        episode('lost-resolve', '2025-06-01T11:00:00.000Z'),
        episode('during-fetch', '2025-06-01T12:00:00.500Z'),
      ],
      resolvedAlerts: [
        { fingerprint: 'missed', startsAt: STARTS_ISO, resolvedTime: '2025-06-01T11:30:00.000Z' },
      ],
    };
    const active = [
      {
        fingerprint: 'missed',
        startsAt: STARTS_ISO,
        alertName: 'BookingHighP90Latency',
        role: 'scale' as const,
      },
    ];
    const next = applyResync(state, active, fetchedAt, now);
    expect(next.firingAlerts.map((f) => f.fingerprint).sort()).toEqual(['during-fetch', 'missed']);
    expect(next.resolvedAlerts.map((r) => r.fingerprint)).toEqual(['lost-resolve']);
    expect(next.lastFiringTime).toBe(now.toISOString());
  });
});
