/**
 * The words for every start-up mistake: one line each, naming the setting, what was
 * tried and what to do; never a stack trace, never a password. main.ts prints them
 * (and scripts/check-config.ts the configuration's, before `npm start` builds); the
 * checks that find the mistakes early are in startup-checks.ts. Nothing below main.ts
 * knows about them.
 */
import { ConfigError } from './config';
import { ServicesUnavailableError } from './dev/errors';
import { VersionTriggerPrivilegeError } from './db/version-triggers';

/** A start-up failure already put in words: its message is the line to print. */
export class StartupError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StartupError';
  }
}

/** The line to print for a failed start, or undefined when it is not a mistake we know (print it whole then). */
export function explainStartupError(err: unknown): string | undefined {
  if (err instanceof ConfigError || err instanceof ServicesUnavailableError || err instanceof StartupError) return err.message;
  if (err instanceof Error && /^(PERSISTED_QUERIES_MANIFEST:|MYSQL_URL must name a database)/.test(err.message)) return err.message;
  const e = err as { code?: string; syscall?: string; address?: string; port?: number } | undefined;
  if (e?.syscall === 'listen' && e.code) return cannotListen(e.code, e.address ?? '', e.port ?? 0);
  // Failures that did not pass through the checks (which know the URL): as much as the error says.
  if (e?.code === 'ECONNREFUSED' || e?.code === 'ETIMEDOUT' || e?.code === 'ENOTFOUND') {
    return cannotReachMysql(e.code, e.address ? hostPort(e.address, e.port ?? 3306) : undefined);
  }
  if (e?.code !== undefined && LOGIN_REFUSED.has(e.code)) return 'MySQL refused the login: check the user and password in MYSQL_URL';
  return undefined;
}

// ─── Listening on HOST:PORT ─────────────────────────────────────────────────────

export function cannotListen(code: string, host: string, port: number): string {
  if (code === 'EADDRINUSE') return `Port ${port} on ${host} is already in use: stop whatever holds it, or set PORT to a free port`;
  if (code === 'EACCES') return `Not allowed to listen on port ${port} on ${host} (EACCES): set PORT to 1024 or above, or give the process the right to bind it`;
  if (code === 'EADDRNOTAVAIL') return `Cannot listen on ${host}, not an address of this machine (EADDRNOTAVAIL): set HOST to one of its addresses, or 0.0.0.0`;
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `Cannot listen on HOST ${host}: the name does not resolve (${code}): set HOST to an address of this machine, or 0.0.0.0`;
  return `Cannot listen on ${host}:${port} (${code}): check HOST and PORT`;
}

// ─── MySQL (MYSQL_URL) ──────────────────────────────────────────────────────────

export function cannotReachMysql(code: string, at: string | undefined): string {
  return `Cannot reach MySQL (${code}${at ? ` at ${at}` : ''}): start it, or set MYSQL_URL`;
}

/** `what`: what the server at `at` did instead of greeting, e.g. "no greeting within 2 s". */
export function notMysql(at: string, what: string): string {
  return `Something answered at ${at}, but not as MySQL (${what}): set MYSQL_URL to a MySQL or MariaDB server's address (usually port 3306)`;
}

/** MariaDB answers an unknown user without a password with 1698, not MySQL's 1045. */
const LOGIN_REFUSED = new Set(['ER_ACCESS_DENIED_ERROR', 'ER_ACCESS_DENIED_NO_PASSWORD_ERROR']);

/**
 * A MySQL error met while creating and migrating MYSQL_URL's database, in words that
 * name the user, the server and the database; any other error is returned as it is.
 * Drizzle wraps the errors of the migrations' queries, so the cause chain is searched.
 */
export function explainMysqlError(err: unknown, url: string): unknown {
  // Already in words that name the trigger and the grant; the generic line below would hide them.
  if (err instanceof VersionTriggerPrivilegeError) return new StartupError(err.message, { cause: err });
  const cause = mysqlCause(err);
  if (!cause) return err;
  const u = new URL(url);
  const at = hostPort(u.hostname.replace(/^\[(.*)\]$/, '$1') || 'localhost', u.port ? Number(u.port) : 3306);
  const user = decodeURIComponent(u.username);
  const who = user ? `user "${user}"` : 'a login with no user name';
  const database = decodeURIComponent(u.pathname.replace(/^\//, ''));
  if (LOGIN_REFUSED.has(cause.code)) {
    return new StartupError(
      `MySQL at ${at} refused ${who} (${u.password ? 'with the password given' : 'no password given'}): set a user and password it accepts in MYSQL_URL`,
      { cause: err },
    );
  }
  if (cause.code === 'ER_HOST_NOT_PRIVILEGED') {
    return new StartupError(`MySQL at ${at} does not let this machine connect (${cause.sqlMessage}): allow it in MySQL, or set MYSQL_URL to a server that does`, { cause: err });
  }
  if (cause.code === 'ER_DBACCESS_DENIED_ERROR') {
    return new StartupError(`MySQL at ${at} refused ${who} the database "${database}": grant it, or set MYSQL_URL to a database it may use`, { cause: err });
  }
  if (cause.code === 'ER_TABLEACCESS_DENIED_ERROR') {
    return new StartupError(
      `MySQL at ${at} does not let ${who} create the tables of database "${database}" (${cause.sqlMessage}): grant it, or set MYSQL_URL to a user who may`,
      { cause: err },
    );
  }
  return err;
}

function mysqlCause(err: unknown): { code: string; sqlMessage: string } | undefined {
  for (let e = err as { code?: unknown; sqlMessage?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 5; e = e.cause as typeof e, depth++) {
    if (typeof e.code === 'string' && typeof e.sqlMessage === 'string') return { code: e.code, sqlMessage: e.sqlMessage };
  }
  return undefined;
}

// ─── Redis (REDIS_URL) ──────────────────────────────────────────────────────────

/**
 * Redis not answering at start-up is not fatal (reads go to MySQL until it does), so
 * this is a warning, not an exit; it says which address was tried, and why it failed.
 */
export function redisDoesNotAnswer(settings: { url: string; clusterNodes?: ReadonlyArray<{ host: string; port: number }> | undefined }, err: unknown): string {
  const e = err as { code?: unknown; message?: unknown };
  const why = typeof e?.code === 'string' ? e.code : String(e?.message ?? err);
  if (settings.clusterNodes?.length) {
    const nodes = settings.clusterNodes.map((n) => hostPort(n.host, n.port)).join(',');
    return `Cannot reach the Redis Cluster (${why} at ${nodes}): serving from MySQL until it answers; start it, or set REDIS_CLUSTER_NODES`;
  }
  const u = new URL(settings.url);
  const at = hostPort(u.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1', u.port ? Number(u.port) : 6379);
  return `Cannot reach Redis (${why} at ${at}): serving from MySQL until it answers; start it, or set REDIS_URL`;
}

export function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
