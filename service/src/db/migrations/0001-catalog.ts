import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    create table concerts (
      id bigint generated always as identity primary key,
      name text not null check (length(name) between 1 and 200),
      artist text not null check (length(artist) between 1 and 200),
      venue text not null check (length(venue) between 1 and 200),
      created_at timestamptz not null default now()
    );

    create table timeslots (
      id bigint generated always as identity primary key,
      concert_id bigint not null references concerts (id) on delete cascade,
      starts_at timestamptz not null,
      unique (concert_id, starts_at)
    );

    create table seats (
      id bigint generated always as identity primary key,
      timeslot_id bigint not null references timeslots (id) on delete cascade,
      number integer not null check (number > 0),
      grade text not null check (grade in ('VIP', 'R', 'S', 'A')),
      price integer not null check (price >= 0),
      status text not null default 'AVAILABLE' check (status in ('AVAILABLE', 'HELD', 'SOLD')),
      -- Also the index behind the seat-map query (where timeslot_id = ? order by number):
      -- the incident's slow query was this lookup without one.
      constraint seats_timeslot_number_key unique (timeslot_id, number)
    );
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(
    'drop table if exists seats; drop table if exists timeslots; drop table if exists concerts;',
  );
}
