import type { Knex } from 'knex';

/**
 * The write side of a sale. Lock order everywhere: the seat row first, then its reservations,
 * so holds, payments, cancels and the sweeper never deadlock one another.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    alter table seats add column hold_expires_at timestamptz;
    -- The sweeper's scan: only held seats are in it.
    create index seats_hold_expiry on seats (hold_expires_at) where status = 'HELD';

    create table reservations (
      id bigint generated always as identity primary key,
      seat_id bigint not null references seats (id) on delete cascade,
      timeslot_id bigint not null references timeslots (id) on delete cascade,
      user_id bigint not null check (user_id > 0),
      status text not null check (status in ('HELD', 'CONFIRMED', 'CANCELLED', 'EXPIRED')),
      expires_at timestamptz not null,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    );
    -- The last word on "one winner": at most one live reservation per seat.
    create unique index reservations_one_live_per_seat on reservations (seat_id) where status in ('HELD', 'CONFIRMED');
    create index reservations_user on reservations (user_id);

    create table wallets (
      user_id bigint primary key check (user_id > 0),
      balance bigint not null default 0 constraint wallets_balance_not_negative check (balance >= 0),
      updated_at timestamptz not null default now()
    );

    create table payments (
      id bigint generated always as identity primary key,
      reservation_id bigint not null unique references reservations (id),
      user_id bigint not null check (user_id > 0),
      amount bigint not null check (amount >= 0),
      created_at timestamptz not null default now()
    );

    -- Every balance change is a row here: balance = sum(amount) per user.
    create table wallet_ledger (
      id bigint generated always as identity primary key,
      user_id bigint not null references wallets (user_id),
      amount bigint not null check (amount <> 0),
      kind text not null check (kind in ('CHARGE', 'PAYMENT')),
      payment_id bigint references payments (id),
      created_at timestamptz not null default now(),
      check ((kind = 'PAYMENT') = (payment_id is not null))
    );
    create index wallet_ledger_user on wallet_ledger (user_id);

    create table idempotency_keys (
      scope text not null,
      key text not null,
      request_hash text not null,
      state text not null check (state in ('IN_PROGRESS', 'DONE')),
      response_status integer,
      -- json, not jsonb: a replay sends back the very bytes of the first answer.
      response_body json,
      locked_at timestamptz not null default now(),
      expires_at timestamptz not null,
      primary key (scope, key)
    );
    create index idempotency_keys_expiry on idempotency_keys (expires_at);

    -- The incident document's hot row, for the lock experiment.
    create table experiment_counters (
      name text primary key,
      value bigint not null default 0
    );
    insert into experiment_counters (name) values ('incident');
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    drop table if exists experiment_counters, idempotency_keys, wallet_ledger, payments, wallets, reservations;
    drop index if exists seats_hold_expiry;
    alter table seats drop column if exists hold_expires_at;
  `);
}
