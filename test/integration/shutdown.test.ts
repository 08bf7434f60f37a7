import { spawn } from 'node:child_process';
import { Agent, request } from 'node:http';
import { connect } from 'node:net';
import mysql from 'mysql2/promise';
import { afterAll, describe, expect, it } from 'vitest';
import { resolve } from 'node:path';
import { freePort } from '../../src/dev/free-port';
import { REDIS_URL } from '../helpers/database';
import { pollUntil } from '../helpers/poll';
import { ServiceResources } from '../helpers/service-process';

/**
 * SIGTERM against the real process (src/main.ts), over real sockets: what a client
 * sees while the service drains, and how the process ends.
 *
 * "Accepted" here means that the service began to read the request. A client cannot
 * see that: when the service closes its port, the connections still waiting in the
 * kernel's accept queue are reset, and the service closes those it has read nothing
 * from (a new one whose request has not arrived, a kept-alive one between requests);
 * to the client all of these look the same, a connection reset before any answer. So
 * the burst tests name every request and compare, one by one, the operations the
 * service logged as executed with the answers the clients received.
 *
 * Kept-alive clients meet the accept queue too: Node's `server.close()` closes the idle
 * kept-alive connections first and the listening socket right after, and a client that
 * sees its connection closed in between (the service's process need only be preempted)
 * opens a new one, which the kernel completes, queues, and then resets.
 */

const resources = new ServiceResources();
afterAll(() => resources.cleanUp());

/** The service on a database and key prefix of its own, with the three demo users; resolves once it serves. */
async function startOwnService(env: Record<string, string> = {}) {
  const { name: database, url: databaseUrl } = resources.database();
  const service = resources.start({
    MYSQL_URL: databaseUrl,
    REDIS_URL,
    KEY_PREFIX: resources.keyPrefix(),
    PORT: '0',
    HOST: '127.0.0.1',
    SEED_DEMO_DATA: 'true',
    ...env,
  });
  const ready = await service.waitForLog((log) => typeof log.url === 'string');
  return { service, url: new URL(ready.url as string), databaseUrl, database };
}

// ── one POST, classified ─────────────────────────────────────────────────────────

type Outcome =
  /** A complete 200 whose body is what was expected; `connection` is the response's Connection header. */
  | { kind: 'answered'; startedAt: number; endedAt: number; body: any; connection: string | undefined }
  /** The connection was refused: nothing listens any more. */
  | { kind: 'refused'; startedAt: number; endedAt: number }
  /**
   * The connection was open (just established, or kept alive), then closed or reset
   * before a single byte of response; or it was established by the kernel and reset
   * before this process saw it open (`how` starts with "connect "). The client cannot
   * tell whether the service had begun to read the request; the burst tests check on
   * the service's side that it had not.
   */
  | { kind: 'closed unanswered'; startedAt: number; endedAt: number; how: string }
  /** Anything else: another status, a wrong body, a truncated body, an error once the response began. */
  | { kind: 'failed'; startedAt: number; endedAt: number; why: string };

/**
 * POSTs `body`. With `agent: false` (the default), on a new TCP connection with
 * `Connection: close`, so that whether the service accepted the request is a property
 * of this one connection; with a keep-alive agent, on a connection it reuses.
 */
function post(url: URL, body: string, options: { expected?: unknown; agent?: Agent | false; token?: string } = {}): Promise<Outcome> {
  const { expected, agent = false, token } = options;
  return new Promise((resolve) => {
    const startedAt = performance.now();
    let connected = false;
    let responded = false;
    let settled = false;
    const settle = (outcome: Outcome) => {
      if (settled) return;
      settled = true;
      resolve(outcome);
    };
    const req = request(
      url,
      {
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          ...(agent === false ? { connection: 'close' } : {}),
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
      },
      (res) => {
        responded = true;
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', (err) => settle({ kind: 'failed', startedAt, endedAt: performance.now(), why: `response error: ${err.message}` }));
        res.on('close', () => {
          const endedAt = performance.now();
          const text = Buffer.concat(chunks).toString();
          if (!res.complete) return settle({ kind: 'failed', startedAt, endedAt, why: `truncated after ${text.length} bytes: ${text.slice(0, 200)}` });
          if (res.statusCode !== 200) return settle({ kind: 'failed', startedAt, endedAt, why: `status ${res.statusCode}: ${text.slice(0, 500)}` });
          let parsed: unknown;
          try {
            parsed = JSON.parse(text);
          } catch {
            return settle({ kind: 'failed', startedAt, endedAt, why: `not JSON: ${text.slice(0, 500)}` });
          }
          if (expected !== undefined && JSON.stringify(parsed) !== JSON.stringify(expected)) {
            return settle({ kind: 'failed', startedAt, endedAt, why: `unexpected body: ${text.slice(0, 500)}` });
          }
          settle({ kind: 'answered', startedAt, endedAt, body: parsed, connection: res.headers.connection });
        });
      },
    );
    req.on('socket', (socket) => {
      if (req.reusedSocket) connected = true;
      else socket.once('connect', () => (connected = true));
    });
    req.on('error', (err: NodeJS.ErrnoException) => {
      const endedAt = performance.now();
      if (responded) return settle({ kind: 'failed', startedAt, endedAt, why: `error after the response began: ${err.message}` });
      if (err.code === 'ECONNREFUSED') return settle({ kind: 'refused', startedAt, endedAt });
      if (connected && (err.code === 'ECONNRESET' || err.code === 'EPIPE')) {
        return settle({ kind: 'closed unanswered', startedAt, endedAt, how: err.message });
      }
      // "connect ECONNRESET": the kernel completed the handshake (a port nothing listens
      // on refuses it: ECONNREFUSED above), then the connection was reset — in the
      // accept queue as the service closed its port, or closed by the service with
      // nothing read — before this process, slow to poll under load, saw it open. The
      // same reset as above, seen later; and as Node writes nothing on a connection
      // before it sees it open, not a byte of this request reached the service.
      if (err.code === 'ECONNRESET' && err.syscall === 'connect') {
        return settle({ kind: 'closed unanswered', startedAt, endedAt, how: err.message });
      }
      settle({ kind: 'failed', startedAt, endedAt, why: `${err.code}: ${err.message}` });
    });
    req.end(body);
  });
}

const graphql = (query: string) => JSON.stringify({ query });

/** Resolves once a new connection to `port` is refused: the service has closed its listening socket. */
const refusesConnections = (port: number) =>
  pollUntil(`port ${port} to refuse connections`, () =>
    new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(false);
      });
      socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'));
    }),
  );

// ── holding a request in flight, deterministically ──────────────────────────────

/**
 * Locks user 1's row from a connection of the test's own, so that an updateUser on it
 * waits inside MySQL, in flight, for as long as the test wants.
 */
async function lockUserRow(databaseUrl: string, database: string) {
  const connection = await mysql.createConnection(databaseUrl);
  await connection.query('BEGIN');
  await connection.query('SELECT id FROM users WHERE id = 1 FOR UPDATE');
  let released = false;
  return {
    /** Resolves once the service's UPDATE of that row is running in MySQL: it cannot finish until `release()`. */
    waitForWaiter: () =>
      pollUntil('the update to wait for the row lock', async () => {
        const [rows] = await connection.query(
          "SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE DB = ? AND COMMAND = 'Query' AND INFO LIKE 'update `users`%'",
          [database],
        );
        return Number((rows as Array<{ n: number }>)[0]!.n) > 0;
      }),
    release: async () => {
      if (released) return;
      released = true;
      await connection.query('ROLLBACK');
      await connection.end();
    },
  };
}

const UPDATE_USER_1 = graphql('mutation { updateUser(id: "1", input: { bio: "Drained." }) { id version bio } }');

// ── the tests ───────────────────────────────────────────────────────────────────

const SHUTDOWN_TIMEOUT_MS = 10_000;

describe('SIGTERM', () => {
  it('during a burst of requests, each on a new connection: every request the service took is answered in full, and it exits 0', { timeout: 90_000 }, async () => {
    await burstThenSigterm({ keepAlive: false });
  });

  it('during a burst of requests on kept-alive connections: the same', { timeout: 90_000 }, async () => {
    await burstThenSigterm({ keepAlive: true });
  });

  it('answers a request in flight after the port is closed, with Connection: close, then exits 0', async () => {
    const { service, url, databaseUrl, database } = await startOwnService({ SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS) });
    const lock = await lockUserRow(databaseUrl, database);
    const agent = new Agent({ keepAlive: true });
    try {
      const held = post(url, UPDATE_USER_1, { agent, token: await resources.token(['write']) });
      await lock.waitForWaiter();

      service.child.kill('SIGTERM');
      await service.waitForLog((l) => l.msg === 'shutting down: draining in-flight requests');
      await refusesConnections(Number(url.port));
      expect(service.child.exitCode).toBeNull(); // still draining: the update is waiting for its lock

      await lock.release();
      const outcome = await held;
      expect(outcome).toMatchObject({ kind: 'answered', body: { data: { updateUser: { id: '1', version: 2, bio: 'Drained.' } } } });
      // The client asked to keep the connection alive; the service says it will close it.
      expect(outcome).toMatchObject({ connection: 'close' });
      const exit = await service.exited;
      expect(exit.code).toBe(0);
      expect(service.logs).toContainEqual(expect.objectContaining({ msg: 'stopped' }));
    } finally {
      agent.destroy();
      await lock.release();
    }
  });

  it('exits 1 when draining takes longer than SHUTDOWN_TIMEOUT_MS', async () => {
    const timeoutMs = 1_000;
    const { service, url, databaseUrl, database } = await startOwnService({ SHUTDOWN_TIMEOUT_MS: String(timeoutMs) });
    const lock = await lockUserRow(databaseUrl, database);
    try {
      const held = post(url, UPDATE_USER_1, { token: await resources.token(['write']) });
      await lock.waitForWaiter();

      const sigtermAt = performance.now();
      service.child.kill('SIGTERM');
      const exit = await service.exited;
      expect(exit.code).toBe(1);
      expect(exit.at - sigtermAt).toBeGreaterThanOrEqual(timeoutMs);
      expect(service.logs).toContainEqual(expect.objectContaining({ msg: 'shutdown took too long; exiting', timeoutMs }));
      expect(service.logs).not.toContainEqual(expect.objectContaining({ msg: 'stopped' }));
      // The request still held when the time ran out goes unanswered: that is what the timeout costs.
      expect(await held).toMatchObject({ kind: 'closed unanswered' });
    } finally {
      await lock.release();
    }
  });
});

describe('SIGINT', () => {
  it('ends the service with 0 within SHUTDOWN_TIMEOUT_MS even when the reader of its stdout has exited', { timeout: 60_000 }, async () => {
    // `npm start | tee log`, then Ctrl-C: tee dies first, and the lines the service
    // logs as it stops meet a pipe with no reader (EPIPE). `cat` plays tee: it passes
    // the start-up lines on, and is killed once the service serves. Only the service
    // still holds the pipe's write end (this process's end of cat's stdin is closed).
    const reader = spawn('cat', [], { stdio: ['pipe', 'pipe', 'ignore'] });
    let passedOn = '';
    reader.stdout!.on('data', (chunk) => (passedOn += String(chunk)));
    const readerGone = new Promise<void>((resolveGone) => reader.once('exit', () => resolveGone()));
    const port = await freePort();
    const service = spawn(process.execPath, ['--require', 'tsx/cjs', 'src/main.ts'], {
      cwd: resolve(__dirname, '../..'),
      env: {
        PATH: process.env.PATH,
        NODE_ENV: 'development',
        AUTO_START_SERVICES: 'false',
        LOG_LEVEL: 'info',
        JWT_SECRET: resources.jwtSecret,
        MYSQL_URL: resources.database().url,
        REDIS_URL,
        KEY_PREFIX: resources.keyPrefix(),
        HOST: '127.0.0.1',
        PORT: String(port),
        SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
      },
      stdio: ['ignore', reader.stdin!, 'pipe'],
    });
    reader.stdin!.destroy();
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolveExit) =>
      service.once('exit', (code, signal) => resolveExit({ code, signal })),
    );
    try {
      await pollUntil('the service to log that it serves', () => passedOn.includes('serving GraphQL') && passedOn.endsWith('\n'), 30_000);
      reader.kill('SIGKILL');
      await readerGone;

      service.kill('SIGINT');
      const exit = await Promise.race([
        exited,
        new Promise<'still running'>((resolveLate) => setTimeout(() => resolveLate('still running'), SHUTDOWN_TIMEOUT_MS + 5_000)),
      ]);
      // Before the fix it never exited: pino's flush at exit retried the EPIPE forever.
      expect(exit).toEqual({ code: 0, signal: null });
    } finally {
      if (service.exitCode === null && service.signalCode === null) service.kill('SIGKILL');
    }
  });
});

/**
 * 32 loops POST `users(ids)` one after another until the service stops listening;
 * SIGTERM goes out once 200 have been answered. Each request is a named operation
 * (`Burst<n>`) and the service runs at debug level, which logs one line per operation
 * it executed, with its name, as the response is about to be sent: so the test knows,
 * request by request, which ones the service took, and checks that exactly those
 * were answered, each with a complete and correct 200.
 */
async function burstThenSigterm({ keepAlive }: { keepAlive: boolean }) {
  const LOOPS = 32;
  const ANSWERED_BEFORE_SIGTERM = 200;
  const MAX_REQUESTS_PER_LOOP = 2_000;
  const BURST_LIMIT_MS = 45_000;
  // A short negative TTL: every request below asks for 97 ids nobody asked for before.
  const { service, url } = await startOwnService({
    LOG_LEVEL: 'debug',
    SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
    NEGATIVE_CACHE_TTL_SECONDS: '1',
  });

  // Each request reads the three demo users and 97 ids never read before, so each
  // one is a Redis MGET, a SELECT … IN (97) and a backfill pipeline.
  const DEMO = [
    { id: '1', name: 'Ada Lovelace' },
    { id: '2', name: 'Grace Hopper' },
    { id: '3', name: 'Alan Turing' },
  ];
  const expected = { data: { users: [...DEMO, ...Array.from({ length: 97 }, () => null)] } };
  let nextBatch = 0;
  const nextRequest = () => {
    const n = nextBatch++;
    const ids = ['1', '2', '3', ...Array.from({ length: 97 }, (_, i) => String(1_000 + n * 97 + i))];
    return { name: `Burst${n}`, body: graphql(`query Burst${n} { users(ids: ${JSON.stringify(ids)}) { id name } }`) };
  };

  let sigtermAt: number | undefined;
  let answered = 0;
  let reportWarm!: () => void;
  const warm = new Promise<void>((resolve) => (reportWarm = resolve));
  const deadline = performance.now() + BURST_LIMIT_MS;
  const agents: Agent[] = [];
  type Named = Outcome & { name: string };
  const loop = async (): Promise<Named[]> => {
    const outcomes: Named[] = [];
    const agent = keepAlive ? new Agent({ keepAlive: true, maxSockets: 1 }) : false;
    if (agent) agents.push(agent);
    for (let n = 0; n < MAX_REQUESTS_PER_LOOP && performance.now() < deadline; n++) {
      const { name, body } = nextRequest();
      const outcome = await post(url, body, { expected, agent });
      outcomes.push({ ...outcome, name });
      if (outcome.kind === 'answered' && ++answered === ANSWERED_BEFORE_SIGTERM) reportWarm();
      // Before SIGTERM anything but an answer is a failure (asserted below); after it,
      // each loop runs until the service stops listening.
      if (outcome.kind !== 'answered' && (sigtermAt === undefined || outcome.kind === 'refused')) break;
    }
    return outcomes;
  };
  const loops = Promise.all(Array.from({ length: LOOPS }, loop));

  // SIGTERM once the burst is really running (or when the loops end without getting there).
  await Promise.race([warm, loops]);
  expect(answered).toBeGreaterThanOrEqual(ANSWERED_BEFORE_SIGTERM);
  sigtermAt = performance.now();
  service.child.kill('SIGTERM');

  const outcomes = (await loops).flat();
  for (const agent of agents) agent.destroy();
  const exit = await service.exited;
  const t = sigtermAt;

  const executed = service.logs.filter((l) => l.msg === 'graphql request');
  const executedNames = new Set(executed.map((l) => l.operation as string));
  const of = (kind: Outcome['kind']) => outcomes.filter((o) => o.kind === kind);
  const answeredAll = of('answered');
  const figures = {
    connections: keepAlive ? 'kept alive' : 'one per request',
    requests: outcomes.length,
    answeredBeforeSigterm: answeredAll.filter((o) => o.endedAt < t).length,
    answeredAfterSigterm: answeredAll.filter((o) => o.endedAt >= t).length,
    ofWhichSentBeforeSigterm: answeredAll.filter((o) => o.endedAt >= t && o.startedAt < t).length,
    closedUnanswered: of('closed unanswered').length,
    ofWhichResetBeforeOpen: of('closed unanswered').filter((o) => o.kind === 'closed unanswered' && o.how.startsWith('connect ')).length,
    refused: of('refused').length,
    failed: of('failed').length,
    lastAnswerAfterSigtermMs: Math.round(Math.max(0, ...answeredAll.map((o) => o.endedAt - t))),
    exitAfterSigtermMs: Math.round(exit.at - t),
    exitCode: exit.code,
  };
  console.info(`SIGTERM during a burst: ${JSON.stringify(figures)}`);

  // Nothing the service answered was an error, truncated, or wrong.
  expect(of('failed')).toEqual([]);
  expect(executed.filter((l) => l.status !== 200)).toEqual([]);
  // Before SIGTERM, every request was answered.
  expect(outcomes.filter((o) => o.kind !== 'answered' && o.endedAt < t)).toEqual([]);
  // Every request the service executed, once, reached its client whole; so every
  // request that went unanswered was never executed, and a client may safely send it again.
  expect(executed).toHaveLength(executedNames.size);
  expect(outcomes.filter((o) => executedNames.has(o.name) && o.kind !== 'answered')).toEqual([]);
  expect(answeredAll.filter((o) => !executedNames.has(o.name))).toEqual([]);
  // Requests in flight at SIGTERM were finished, not dropped.
  expect(figures.ofWhichSentBeforeSigterm).toBeGreaterThanOrEqual(1);
  // Each loop ended because the service stopped listening, not on a limit.
  expect(figures.refused).toBe(LOOPS);
  // The process drained and exited cleanly, well before the timeout would have made it exit 1.
  expect(exit.code).toBe(0);
  expect(figures.exitAfterSigtermMs).toBeLessThan(SHUTDOWN_TIMEOUT_MS);
  expect(service.logs).toContainEqual(expect.objectContaining({ msg: 'stopped' }));
  expect(service.logs.filter((l) => l.level >= 50)).toEqual([]);
}
