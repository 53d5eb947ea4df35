import type { AlertRole, AlertScalerStatus, FiringAlert } from '../api/alertscaler.js';

/**
 * The known alert state of one AlertScaler, as pure functions over its status. An episode is
 * (fingerprint, startsAt): Alertmanager repeats, duplicates (one copy per cluster peer) and reorders
 * notifications, and a new firing of the same alert gets a new startsAt.
 */
export type AlertState = Pick<
  AlertScalerStatus,
  'firingAlerts' | 'resolvedAlerts' | 'lastFiringTime' | 'lastSaturatedTime'
>;

export interface Notification {
  status: 'firing' | 'resolved';
  fingerprint: string;
  startsAt: string;
  alertName: string;
  /** What the alert means to this AlertScaler (see alertRole). */
  role: AlertRole;
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

/** Of `state`, the time field that an episode of `role` ending at `at` moves forward. */
function ended(state: AlertState, role: AlertRole, at: string): Partial<AlertState> {
  // A scaling alert restarts the scale-down stabilization window; a saturation alert the saturation hold.
  return role === 'scale'
    ? { lastFiringTime: latest(state.lastFiringTime, at) }
    : { lastSaturatedTime: latest(state.lastSaturatedTime, at) };
}

/** Moves episodes from firing to resolved at `at`. */
function resolve(state: AlertState, endedEpisodes: FiringAlert[], at: string): AlertState {
  if (endedEpisodes.length === 0) return state;
  let next: AlertState = {
    ...state,
    firingAlerts: state.firingAlerts.filter((f) => !endedEpisodes.some((e) => sameEpisode(e, f))),
    resolvedAlerts: [
      ...state.resolvedAlerts,
      ...endedEpisodes.map((e) => ({ fingerprint: e.fingerprint, startsAt: e.startsAt, resolvedTime: at })),
    ],
  };
  for (const e of endedEpisodes) next = { ...next, ...ended(next, e.role, at) };
  return next;
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
    const episode = {
      fingerprint: alert.fingerprint,
      startsAt: alert.startsAt,
      alertName: alert.alertName,
      role: alert.role,
    };
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
        ...ended(state, alert.role, endedAt),
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
  active: readonly { fingerprint: string; startsAt: string; alertName: string; role: AlertRole }[],
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
      role: a.role,
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
