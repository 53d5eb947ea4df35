import * as catalog from './0001-catalog.js';

export interface Migration {
  name: string;
  up(knex: import('knex').Knex): Promise<void>;
  down(knex: import('knex').Knex): Promise<void>;
}

/** Applied in this order; append, never reorder or edit a released migration. */
export const migrations: Migration[] = [{ name: '0001-catalog', ...catalog }];
