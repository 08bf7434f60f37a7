import { setTimeout as sleep } from 'node:timers/promises';
import mysql, { type ConnectionOptions } from 'mysql2/promise';
import type { Cache } from '../cache/cache';
import type { CoreLogger } from '../writethrough/logger';
import { BINLOG_PURGED, BinlogSource, type Checkpoint } from './binlog-source';
import { binlogProblems, serverGtid, ACCESS_DENIED, PRIVILEGE_FIX } from './binlog-requirements';
import { ChangeApplier, type AppliedListener, type FollowedLists, type FollowedTable } from './change-applier';
import { CHECKPOINTS_TABLE, FollowSession, type SessionSettings } from './follow-session';
import { FollowerCheckpoints, LeaseLostError } from './follower-checkpoints';
import { FollowerLease } from './follower-lease';
import { noFollowerMetrics, type FollowerMetrics } from './follower-metrics';

export interface ChangeFollowerSettings extends Partial<SessionSettings> {
  /** The follower's replica id on the server: unique among its replicas. */
  serverId: number;
  /** How often an instance without the lease tries to take it, and the holder checks it still has it. */
  leasePollMs: number;
}

export interface ChangeFollowerDeps {
  /** The primary, as a user that may read the binlog (REPLICATION SLAVE, REPLICATION CLIENT). */
  connection: ConnectionOptions & { database: string };
  tables: readonly FollowedTable[];
  /** The write intents' table: a transaction that wrote one is the API's own. */
  intentsTable: string;
  cache: Cache;
  instanceId: string;
  logger: CoreLogger;
  settings: ChangeFollowerSettings;
  metrics?: FollowerMetrics;
  /** Brings every followed table's keys up to date (a warm, through the compare-and-set), after the stored position was purged. */
  resync: () => Promise<void>;
  /** Told of every row change once the cache has it (the consistency inspector samples them). */
  onApplied?: AppliedListener;
  /** The association lists' version table: each list changed is read again and written through. */
  lists?: FollowedLists;
}

/**
 * off: the server's binlog cannot be followed (`problems` says why); TTLs are the net.
 * standby: another instance follows. following: this one does. resyncing: this one
 * re-syncs after its position was purged. retrying: a failure; it starts again.
 */
export type FollowerState = 'starting' | 'off' | 'standby' | 'following' | 'resyncing' | 'retrying' | 'stopped';

export interface FollowerStatus {
  state: FollowerState;
  /** Why the follower is off, each with the setting to turn on. */
  problems: string[];
  /** The last failure while following, until the next success. */
  lastError: string | null;
  /** Applied up to here (this instance's view; the lease holder's is current). */
  checkpoint: Checkpoint | null;
  /** Seconds between MySQL's commit of the newest change and now, when behind; 0 when caught up; null when not following. */
  lagSeconds: number | null;
  /** Row changes applied since start, by whose they were. */
  applied: { api: number; outOfBand: number };
  /** Row changes received from the binlog and not yet applied (at most about maxQueued: past it, reading pauses). */
  backlog: number;
}

/**
 * maxQueued: a 100,000-row UPDATE applies as fast with 5,000 changes waiting as with
 * 20,000 (28–32k rows/s in changes.bulk), with a quarter of the heap (20–28 MB) and
 * half the longest stall of a read beside it (68 ms against 114–153 ms).
 */
const DEFAULTS: SessionSettings = { batchSize: 1_000, maxQueued: 5_000, checkpointEveryMs: 200 };

/**
 * The safety net under write-through: follows MySQL's row-based binlog and writes
 * every committed change of a followed table through the compare-and-set, so a row
 * changed behind the API (a console, a migration, another service), or a mutation
 * whose own cache write failed, reaches the cache within the follower's lag. The
 * write path stays the fast one (no miss after a write); here, its changes simply
 * find their version already cached.
 *
 * One instance follows at a time (follower-lease.ts); the others stand by and take
 * over when its session ends. The position is stored as it goes and resumed, so a
 * restart misses nothing; changes applied twice are harmless (change-applier.ts).
 */
export class ChangeFollower {
  private readonly lease: FollowerLease;
  private readonly checkpoints: FollowerCheckpoints;
  private readonly applier: ChangeApplier;
  private readonly metrics: FollowerMetrics;
  private readonly settings: SessionSettings & ChangeFollowerSettings;
  private current: FollowerStatus = { state: 'starting', problems: [], lastError: null, checkpoint: null, lagSeconds: null, applied: { api: 0, outOfBand: 0 }, backlog: 0 };
  private session: FollowSession | undefined;
  private running: Promise<void> | undefined;
  private stopping = new AbortController();
  private warnedOff = '';
  private mariadb = true;
  private lastCommitAtMs = 0;
  private checkedAt = 0;
  /** The settings check's session while it runs, so that stop() can close it. */
  private probe: mysql.Connection | undefined;

  constructor(private readonly deps: ChangeFollowerDeps) {
    this.settings = { ...DEFAULTS, ...deps.settings };
    this.metrics = deps.metrics ?? noFollowerMetrics;
    const { database } = deps.connection;
    // GET_LOCK names are server-wide and at most 64 characters.
    this.lease = new FollowerLease(() => this.connect(), `throughline_follower:${database}`.slice(0, 64));
    this.checkpoints = new FollowerCheckpoints(this.lease, deps.instanceId);
    this.applier = new ChangeApplier(deps.cache, deps.tables, deps.onApplied, deps.lists);
  }

  start(): void {
    this.running ??= this.run();
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    this.session?.stop();
    // Closing the sessions first fails any query still waiting on them (a MySQL that
    // stopped answering), so the loop below ends at once.
    this.probe?.destroy();
    await this.lease.release();
    await this.running;
    await this.lease.release(); // one the last round may have opened meanwhile
    this.current.state = 'stopped';
  }

  status(): FollowerStatus {
    return { ...this.current, problems: [...this.current.problems], applied: { ...this.current.applied }, backlog: this.session?.backlog ?? 0 };
  }

  private async run(): Promise<void> {
    for (let failures = 0; !this.stopping.signal.aborted; ) {
      try {
        const next = await this.attempt();
        failures = 0;
        await this.pause(next === 'off' ? this.settings.leasePollMs * 10 : this.settings.leasePollMs);
      } catch (err) {
        if (this.stopping.signal.aborted) break;
        failures++;
        this.current.state = 'retrying';
        this.current.lagSeconds = null;
        this.current.lastError = describe(err);
        this.deps.logger.warn({ err }, 'the change follower stopped; it starts again from its stored position');
        await this.lease.release();
        await this.pause(Math.min(this.settings.leasePollMs * 2 ** failures, 30_000));
      }
    }
  }

  /** One round: checks the server, takes the lease if free, and follows until the session ends. */
  private async attempt(): Promise<'off' | 'standby' | 'followed'> {
    // A standby asks only for the lease each poll; the server's settings are checked
    // again every ten polls (they change only by an operator's hand), and before
    // following, so a follower never starts on a server it cannot follow.
    const due = this.checkedAt === 0 || Date.now() - this.checkedAt >= this.settings.leasePollMs * 10;
    const problems = due ? await this.problems() : this.current.problems;
    if (problems.length > 0) {
      this.goOff(problems);
      await this.lease.release();
      return 'off';
    }
    this.current.problems = [];
    if (this.stopping.signal.aborted) return 'standby';
    if (!(await this.lease.tryAcquire())) {
      this.current.state = 'standby';
      this.current.lagSeconds = null;
      return 'standby';
    }
    if (this.stopping.signal.aborted) return 'standby';
    const found = due ? [] : await this.problems();
    if (found.length > 0) {
      this.goOff(found);
      await this.lease.release();
      return 'off';
    }
    await this.follow();
    return 'followed';
  }

  private async follow(): Promise<void> {
    const stored = await this.checkpoints.load();
    this.deps.logger.info({ checkpoint: stored ?? 'the end of the binlog' }, 'following the binlog');
    try {
      await this.runSession(stored?.gtid ?? 'end');
    } catch (err) {
      if (!isPurged(err) || this.stopping.signal.aborted) throw err;
      // The server no longer has what was missed: apply everything from a fresh full
      // read instead, starting the stream first so nothing committed meanwhile is lost.
      this.deps.logger.error({ err, checkpoint: stored }, 'the binlog position the change follower stored has been purged from the server: changes since were missed; re-syncing every followed table from MySQL');
      this.current.state = 'resyncing';
      this.metrics.resync();
      await this.runSession('end', async () => {
        await this.deps.resync();
        this.deps.logger.info({}, 're-sync finished; following the binlog');
      });
    }
  }

  private async runSession(from: string, beforeStreaming?: () => Promise<void>): Promise<void> {
    const source = new BinlogSource({
      connection: this.deps.connection,
      database: this.deps.connection.database,
      tables: [...this.deps.tables.map((t) => t.table), ...(this.deps.lists ? [this.deps.lists.table] : []), this.deps.intentsTable, CHECKPOINTS_TABLE],
      serverId: this.settings.serverId,
    });
    const session = new FollowSession(source, this.applier, this.checkpoints, new Map(this.deps.tables.map((t) => [t.table, t.entity])), this.deps.intentsTable, this.settings, {
      streaming: () => {
        this.current.state = 'following';
        this.current.lastError = null;
      },
      applied: (counts, source) => {
        for (const [entity, n] of counts) this.metrics.changesApplied(entity, source, n);
        const total = [...counts.values()].reduce((a, b) => a + b, 0);
        if (source === 'api') this.current.applied.api += total;
        else this.current.applied.outOfBand += total;
      },
      committed: (checkpoint, committedAtMs) => {
        this.current.checkpoint = checkpoint;
        this.lastCommitAtMs = committedAtMs;
        this.metrics.position(checkpoint.file, checkpoint.position);
      },
      cacheRefused: (err, retryInMs) => {
        this.current.lastError = err.message;
        this.deps.logger.warn({ err, retryInMs }, 'the cache refused changes from the binlog; sending them again');
      },
    });
    this.session = session;
    this.lastCommitAtMs = Date.now();
    const watching = this.watchLease(session);
    try {
      await session.run(from, beforeStreaming);
    } finally {
      this.session = undefined;
      source.stop();
      watching.abort();
    }
  }

  /** While following: checks the lease is still held, and how far behind the server the cache is. */
  private watchLease(session: FollowSession): AbortController {
    const done = new AbortController();
    void (async () => {
      while (!done.signal.aborted) {
        await sleep(this.settings.leasePollMs, undefined, { signal: done.signal }).catch(() => undefined);
        if (done.signal.aborted) return;
        try {
          if (!(await this.lease.held())) throw new LeaseLostError(`lost the follower lease "${this.lease.name}"`);
          this.measureLag(await serverGtid(this.lease.holder, this.mariadb));
        } catch (err) {
          session.fail(err instanceof Error ? err : new Error(String(err)));
          return;
        }
      }
    })();
    return done;
  }

  private measureLag(serverPosition: string): void {
    const applied = this.current.checkpoint?.gtid;
    const caughtUp = applied !== undefined && sameGtid(applied, serverPosition);
    // The binlog dates events to the second: a change 0.4 s old may read as 1 s.
    const lag = caughtUp ? 0 : Math.max(0, (Date.now() - this.lastCommitAtMs) / 1000);
    this.current.lagSeconds = lag;
    if (caughtUp) this.current.lastError = null;
    this.metrics.lagSeconds(lag);
  }

  private async problems(): Promise<string[]> {
    this.checkedAt = Date.now();
    const session = await this.connect();
    this.probe = session;
    try {
      const { problems, mariadb } = await binlogProblems(session);
      this.mariadb = mariadb;
      return problems;
    } finally {
      this.probe = undefined;
      session.destroy();
    }
  }

  /** Warns once per distinct set of problems; the service carries on with TTLs as the net. */
  private goOff(problems: string[]): void {
    this.current = { ...this.current, state: 'off', problems, lagSeconds: null };
    const key = problems.join('\n');
    if (key === this.warnedOff) return;
    this.warnedOff = key;
    this.deps.logger.warn({ problems }, `the change follower is off: writes made behind the API stay stale in the cache until their TTL. To turn it on: ${problems.join('; ')}`);
  }

  private connect(): Promise<mysql.Connection> {
    return mysql.createConnection({ ...this.deps.connection, connectTimeout: 5_000 });
  }

  private pause(ms: number): Promise<void> {
    return sleep(ms, undefined, { signal: this.stopping.signal }).catch(() => undefined);
  }
}

/** A position the server has purged, or one it never had (a reset binlog, another server). */
function isPurged(err: unknown): boolean {
  const errno = (err as { errno?: number } | undefined)?.errno;
  return errno === BINLOG_PURGED || errno === 1945 || errno === 1955;
}

function describe(err: unknown): string {
  const errno = (err as { errno?: number } | undefined)?.errno;
  const message = err instanceof Error ? err.message : String(err);
  if (errno === ACCESS_DENIED) return `${message}: ${PRIVILEGE_FIX}`;
  return message;
}

/** GTID positions as sets of per-domain entries, whatever their order. */
function sameGtid(a: string, b: string): boolean {
  const norm = (s: string) => s.split(',').map((x) => x.trim()).filter(Boolean).sort().join(',');
  return norm(a) === norm(b);
}
