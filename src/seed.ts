import type { Core } from './core';
import type { Logger } from './logging/logger';

const DEMO_USERS = [
  { name: 'Ada Lovelace', email: 'ada@example.com', bio: 'Wrote the first program.' },
  { name: 'Grace Hopper', email: 'grace@example.com', bio: 'Found the first bug.' },
  { name: 'Alan Turing', email: 'alan@example.com', bio: null },
];

/**
 * Gives a new database a few users to query, through the core so they are cached too.
 * Only when the table is empty: a database someone uses is never touched.
 */
export async function seedDemoData(core: Core, logger: Logger): Promise<void> {
  if (!(await core.users.isEmpty())) return;
  for (const user of DEMO_USERS) await core.users.create(user);
  logger.info({ users: DEMO_USERS.length }, 'seeded demo users into the empty database');
}
