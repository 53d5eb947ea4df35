import * as catalog from './0001-catalog.js';
import * as booking from './0002-booking.js';

export interface Migration {
  name: string;
  up(knex: import('knex').Knex): Promise<void>;
  down(knex: import('knex').Knex): Promise<void>;
}

/** Applied in this order; append, never reorder or edit a released migration. */
export const migrations: Migration[] = [
  { name: '0001-catalog', ...catalog },
  { name: '0002-booking', ...booking },
];
