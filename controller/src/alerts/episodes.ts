import type { AlertMatcher, AlertScalerSpec, AlertScalerStatus, FiringAlert } from '../api/alertscaler.js';

/**
 * The known alert state of one AlertScaler, as pure functions over its status. An episode is
 * (fingerprint, startsAt): Alertmanager repeats, duplicates (one copy per cluster peer) and reorders
 * notifications, and a new firing of the same alert gets a new startsAt.
 */
export type AlertState = Pick<AlertScalerStatus, 'firingAlerts' | 'resolvedAlerts' | 'lastFiringTime'>;

export interface Notification {
  status: 'firing' | 'resolved';
  fingerprint: string;
  startsAt: string;
  alertName: string;
  endsAt?: string;
}

/**
 * new: a firing episode not known before; repeat: already known in that state (duplicate or repeat);
 * resolved: a known firing episode ended; stale: firing for an episode already resolved or superseded
 * (out of order); unknownResolved: resolved for an episode never seen firing (kept so a late firing is stale).
 */
export type Outcome = 'new' | 'repeat' | 'resolved' | 'stale' | 'unknownResolved';

/** Resolved episodes are remembered this long (longer than Alertmanager's retries of one notification). */
export const RESOLVED_MEMORY_MS = 60 * 60_000;
/** At most this many episodes of each kind are kept in the status. */
export const MAX_EPISODES = 50;

const sameEpisode = (
  a: { fingerprint: string; startsAt: string },
  b: { fingerprint: string; startsAt: string },
) => a.fingerprint === b.fingerprint && a.startsAt === b.startsAt;

const latest = (a: string | undefined, b: string): string => (a && a > b ? a : b);

function forget(state: AlertState, now: Date): AlertState {
  const horizon = new Date(now.getTime() - RESOLVED_MEMORY_MS).toISOString();
  return {
    ...state,
    firingAlerts: state.firingAlerts.slice(-MAX_EPISODES),
    resolvedAlerts: state.resolvedAlerts.filter((r) => r.resolvedTime >= horizon).slice(-MAX_EPISODES),
  };
}

/** Moves episodes from firing to resolved at `at`; the stabilization window restarts there. */
function resolve(state: AlertState, ended: FiringAlert[], at: string): AlertState {
  if (ended.length === 0) return state;
  return {
    firingAlerts: state.firingAlerts.filter((f) => !ended.some((e) => sameEpisode(e, f))),
    resolvedAlerts: [
      ...state.resolvedAlerts,
      ...ended.map((e) => ({ fingerprint: e.fingerprint, startsAt: e.startsAt, resolvedTime: at })),
    ],
    lastFiringTime: latest(state.lastFiringTime, at),
  };
}

export function applyNotification(
  state: AlertState,
  alert: Notification,
  now: Date,
): { state: AlertState; outcome: Outcome } {
  const at = now.toISOString();
  const known = state.firingAlerts.find((f) => sameEpisode(f, alert));
  const resolvedBefore = state.resolvedAlerts.some((r) => sameEpisode(r, alert));
  if (alert.status === 'firing') {
    const newer = state.firingAlerts.some(
      (f) => f.fingerprint === alert.fingerprint && f.startsAt > alert.startsAt,
    );
    if (resolvedBefore || newer) return { state, outcome: 'stale' };
    if (known) {
      const firingAlerts = state.firingAlerts.map((f) => (f === known ? { ...f, lastNotifiedTime: at } : f));
      return { state: { ...state, firingAlerts }, outcome: 'repeat' };
    }
    // A newer episode of the same alert means the older one ended even if its "resolved" was lost.
    const superseded = state.firingAlerts.filter((f) => f.fingerprint === alert.fingerprint);
    const episode = { fingerprint: alert.fingerprint, startsAt: alert.startsAt, alertName: alert.alertName };
    const next = resolve(state, superseded, at);
    return {
      state: forget(
        { ...next, firingAlerts: [...next.firingAlerts, { ...episode, lastNotifiedTime: at }] },
        now,
      ),
      outcome: 'new',
    };
  }
  if (known) return { state: forget(resolve(state, [known], at), now), outcome: 'resolved' };
  if (resolvedBefore) return { state, outcome: 'repeat' };
  // Never seen firing, but it did fire until endsAt: that counts for the stabilization window too.
  const endedAt = alert.endsAt && alert.endsAt < at ? alert.endsAt : at;
  const tombstone = { fingerprint: alert.fingerprint, startsAt: alert.startsAt, resolvedTime: at };
  return {
    state: forget(
      {
        ...state,
        resolvedAlerts: [...state.resolvedAlerts, tombstone],
        lastFiringTime: latest(state.lastFiringTime, endedAt),
      },
      now,
    ),
    outcome: 'unknownResolved',
  };
}

/**
 * Rebuilds the firing set from Alertmanager's list of active alerts fetched at `fetchedAt`: what it
 * lists is firing, what it does not is resolved, except episodes a webhook reported during the fetch.
 */
export function applyResync(
  state: AlertState,
  active: readonly { fingerprint: string; startsAt: string; alertName: string }[],
  fetchedAt: Date,
  now: Date,
): AlertState {
  const fetched = fetchedAt.toISOString();
  const isActive = (e: { fingerprint: string; startsAt: string }) => active.some((a) => sameEpisode(a, e));
  const ended = state.firingAlerts.filter((f) => !isActive(f) && f.lastNotifiedTime < fetched);
  const next = resolve(state, ended, now.toISOString());
  const added = active
    .filter((a) => !next.firingAlerts.some((f) => sameEpisode(f, a)))
    .map((a) => ({
      fingerprint: a.fingerprint,
      startsAt: a.startsAt,
      alertName: a.alertName,
      lastNotifiedTime: fetched,
    }));
  return forget(
    {
      ...next,
      firingAlerts: [...next.firingAlerts, ...added],
      // Alertmanager is the authority: an episode it lists as active is not resolved.
      resolvedAlerts: next.resolvedAlerts.filter((r) => !isActive(r)),
    },
    now,
  );
}

function matcherHolds(matcher: AlertMatcher, labels: Record<string, string>): boolean {
  const value = labels[matcher.name] ?? '';
  switch (matcher.op) {
    case '=':
      return value === matcher.value;
    case '!=':
      return value !== matcher.value;
    case '=~':
      return new RegExp(`^(?:${matcher.value})$`).test(value);
    case '!~':
      return !new RegExp(`^(?:${matcher.value})$`).test(value);
  }
}

/** Does an alert with these labels count for this AlertScaler? */
export function alertMatches(spec: Pick<AlertScalerSpec, 'alerts'>, labels: Record<string, string>): boolean {
  return spec.alerts.some(
    (entry) => labels.alertname === entry.alertName && entry.matchers.every((m) => matcherHolds(m, labels)),
  );
}
