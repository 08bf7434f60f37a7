import { sql } from 'drizzle-orm';
import type { Database } from './client';

/**
 * Versions the database itself guarantees. The API bumps `version` in the UPDATE that
 * changes a row (writethrough/statements.ts), but a writer that goes around it (an
 * operator's `UPDATE users SET name = 'x' WHERE id = 1`, a script, another service)
 * would change the row and leave its version, so the cache's compare-and-set would
 * keep the old row as if it were current. Two triggers on every cached table close
 * that gap:
 *
 * - BEFORE INSERT: every new row is version 1, whatever the INSERT names.
 * - BEFORE UPDATE: the version the UPDATE set if it moved it forward (the API's
 *   `version = version + 1`, which is so bumped once, not twice), else OLD + 1. An
 *   UPDATE that matches a row always bumps it, even if it changes nothing else: its
 *   row count says so, and the API's writes counted on that already.
 *
 * `WHERE version = ?` (expectedVersion) is evaluated before the trigger runs, on the
 * row as stored, so it keeps working.
 */
export const VERSION_TRIGGER_BODIES = {
  INSERT: 'SET NEW.version = 1',
  UPDATE: 'SET NEW.version = IF(NEW.version > OLD.version, NEW.version, OLD.version + 1)',
} as const;

export interface VersionTrigger {
  name: string;
  table: string;
  event: 'INSERT' | 'UPDATE' | 'DELETE';
  body: string;
}

/** The two triggers of `table`: `<table>_version_insert` and `<table>_version_update`. */
export function versionTriggersOf(table: string): VersionTrigger[] {
  // The names are put in the DDL as they are (between backticks): nothing but an identifier may pass.
  // 49 = 64 (MySQL's longest name) minus `_version_insert`.
  if (!/^[A-Za-z0-9_]{1,49}$/.test(table)) {
    throw new Error(`version triggers: "${table}" is not a table name of 1 to 49 letters, digits or _`);
  }
  return (['INSERT', 'UPDATE'] as const).map((event) => ({
    name: `${table}_version_${event.toLowerCase()}`,
    table,
    event,
    body: VERSION_TRIGGER_BODIES[event],
  }));
}

interface ExistingTrigger {
  name: string;
  target: string;
  event: string;
  timing: string;
  body: string;
}

/**
 * Makes sure every table in `tableNames` (of the connection's current database) has
 * both version triggers, as `VERSION_TRIGGER_BODIES` words them: creates the missing
 * ones, replaces those that differ, leaves the rest alone (so running it again, on
 * every start, changes nothing). migrate.ts calls it under its named lock, so two
 * instances never race each other here; writers may run meanwhile. Creating a
 * trigger waits for the transactions open on its table and holds the table's writers
 * for that long; that happens once per table, not on every start.
 */
export async function ensureVersionTriggers(db: Pick<Database, 'execute'>, tableNames: readonly string[]): Promise<void> {
  await ensureTriggers(db, tableNames.flatMap(versionTriggersOf));
}

/**
 * Makes sure each of `wanted` (BEFORE triggers) exists as worded, by the same rules:
 * the version triggers, and the association lists' (writethrough/list-triggers.ts).
 */
export async function ensureTriggers(db: Pick<Database, 'execute'>, wanted: readonly VersionTrigger[]): Promise<void> {
  if (wanted.length === 0) return;
  const [[server]] = (await db.execute(sql`SELECT VERSION() AS version, DATABASE() AS name, CURRENT_USER() AS user`)) as unknown as [
    Array<{ version: string; name: string | null; user: string }>,
  ];
  if (!server?.name) throw new Error('version triggers: the connection has no current database');
  const [existing] = (await db.execute(
    sql`SELECT TRIGGER_NAME AS name, EVENT_OBJECT_TABLE AS target, EVENT_MANIPULATION AS event, ACTION_TIMING AS timing, ACTION_STATEMENT AS body
        FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE()`,
  )) as unknown as [ExistingTrigger[]];
  const mariadb = /mariadb/i.test(server.version);
  for (const trigger of wanted) {
    const found = existing.find((t) => t.name === trigger.name);
    if (found && found.target === trigger.table && found.event === trigger.event && found.timing === 'BEFORE' && found.body === trigger.body) continue;
    const create = `TRIGGER \`${trigger.name}\` BEFORE ${trigger.event} ON \`${trigger.table}\` FOR EACH ROW ${trigger.body}`;
    try {
      if (!found) {
        await db.execute(sql.raw(`CREATE ${create}`));
      } else if (mariadb && found.target === trigger.table) {
        // MariaDB swaps it in one statement: no write ever finds the table without it.
        // (It refuses that for a trigger of this name on another table: dropped below.)
        await db.execute(sql.raw(`CREATE OR REPLACE ${create}`));
      } else {
        // MySQL has no CREATE OR REPLACE TRIGGER. Between these two statements a write
        // to the table runs with no such trigger (a plain UPDATE there keeps its
        // version); it is only ever this one statement's time, once, on an upgrade.
        await db.execute(sql.raw(`DROP TRIGGER \`${found.name}\``));
        await db.execute(sql.raw(`CREATE ${create}`));
      }
    } catch (err) {
      throw privilegeProblem(err, trigger, server) ?? err;
    }
  }
}

/** The user may not create the version triggers: its message says what to grant. */
export class VersionTriggerPrivilegeError extends Error {
  readonly code = 'VERSION_TRIGGER_PRIVILEGE';
}

/** MySQL error numbers that mean the user may not create a trigger here. */
const BINLOG_NEEDS_SUPER = 1419; // ER_BINLOG_CREATE_ROUTINE_NEED_SUPER
const DENIED = new Set([1142, 1227]); // ER_TABLEACCESS_DENIED_ERROR (no TRIGGER), ER_SPECIFIC_ACCESS_DENIED_ERROR (SUPER)

/** The failure in words that say what to grant, or undefined when it is not about privileges. */
function privilegeProblem(err: unknown, trigger: VersionTrigger, server: { name: string | null; user: string }): Error | undefined {
  // Drizzle wraps the driver's error: search the cause chain for MySQL's number.
  let cause = err as { errno?: unknown; sqlMessage?: unknown; cause?: unknown } | undefined;
  for (let depth = 0; cause && typeof cause.errno !== 'number' && depth < 5; depth++) cause = cause.cause as typeof cause;
  const errno = cause?.errno;
  if (errno !== BINLOG_NEEDS_SUPER && !(typeof errno === 'number' && DENIED.has(errno))) return undefined;
  // CURRENT_USER() is `name@host`; GRANT wants 'name'@'host'.
  const at = server.user.lastIndexOf('@');
  const user = `'${server.user.slice(0, at)}'@'${server.user.slice(at + 1)}'`;
  const what =
    errno === BINLOG_NEEDS_SUPER
      ? `the server has the binary log on, and then lets only a user with SUPER create triggers (${String(cause?.sqlMessage)})`
      : `${user} may not create triggers here (${String(cause?.sqlMessage)})`;
  return new VersionTriggerPrivilegeError(
    `Cannot create the trigger ${trigger.name} on ${server.name}.${trigger.table}, which keeps versions right for writes made around the API: ${what}. ` +
      `As an administrator, run GRANT TRIGGER ON \`${server.name}\`.* TO ${user}; and, if the binary log is on, either GRANT SUPER ON *.* TO ${user} ` +
      'or SET GLOBAL log_bin_trust_function_creators = 1 (also in the server\'s configuration, to outlive a restart); then start again.',
    { cause: err },
  );
}
