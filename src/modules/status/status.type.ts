import { Field, Float, ID, Int, ObjectType } from 'type-graphql';

@ObjectType({ description: 'Keys read through the cache since this instance started.', simpleResolvers: true })
export class CacheLookupCounts {
  @Field(() => Int)
  hits!: number;

  @Field(() => Int, { description: 'Answered by a tombstone or a "no such row" entry.' })
  negativeHits!: number;

  @Field(() => Int)
  misses!: number;

  @Field(() => Int, { description: 'Suspect keys (a failed write whose version the cache may not hold yet): read from MySQL until the cache holds it.' })
  bypassed!: number;
}

@ObjectType({ description: 'Ten seconds of this instance.', simpleResolvers: true })
export class CacheStatusSample {
  @Field(() => Date)
  at!: Date;

  @Field(() => Int)
  hits!: number;

  @Field(() => Int)
  misses!: number;

  @Field(() => Float, { nullable: true, description: 'Mean time of the cache writes after commits, in ms.' })
  writeThroughMs!: number | null;

  @Field(() => Int, { description: 'Cache writes that failed after their retries.' })
  failures!: number;
}

@ObjectType({ description: "The change follower (the binlog follower that writes changes made behind the API through the cache), as this instance sees it.", simpleResolvers: true })
export class ChangeFollowerStatus {
  @Field(() => String, {
    description:
      "'starting', 'following' (this instance follows), 'standby' (another one does), 'resyncing' (its position was purged: re-reading every followed table), 'retrying' (after a failure: see lastError), 'off' (the binlog cannot be followed: see problems) or 'stopped'.",
  })
  state!: string;

  @Field(() => [String], { description: 'Why it is off, each with the setting to turn on; empty otherwise.' })
  problems!: string[];

  @Field(() => String, { nullable: true, description: 'The last failure while following, until the next success.' })
  lastError!: string | null;

  @Field(() => Float, { nullable: true, description: 'Seconds behind the binlog (0 when caught up); null when this instance is not following.' })
  lagSeconds!: number | null;

  @Field(() => Int, { description: "Row changes applied since start that were the service's own writes (already written through)." })
  appliedApi!: number;

  @Field(() => Int, { description: 'Row changes applied since start that were made behind the API.' })
  appliedOutOfBand!: number;

  @Field(() => String, { nullable: true, description: 'The GTID position applied up to (what a restart resumes from).' })
  gtid!: string | null;

  @Field(() => String, { nullable: true })
  binlogFile!: string | null;

  @Field(() => Float, { nullable: true, description: 'The offset in binlogFile applied up to.' })
  binlogPosition!: number | null;
}

@ObjectType({ description: "The consistency inspector's checks over one window: keys of settled writes checked against MySQL.", simpleResolvers: true })
export class ConsistencyWindow {
  @Field(() => Int)
  checked!: number;

  @Field(() => Int, { description: 'The key held that version or a newer one MySQL had, or was absent.' })
  consistent!: number;

  @Field(() => Int, { description: 'Wrong at the first check, right at the second: a write was under way.' })
  inFlight!: number;

  @Field(() => Int, { description: 'Behind, with the failure already in the failure log (reported on writeThroughFailures, and repaired by it).' })
  recorded!: number;

  @Field(() => Int, { description: 'Still wrong at the second check and unknown to the failure log: an older version, or a value MySQL never had. Each is repaired.' })
  inconsistent!: number;

  @Field(() => Float, {
    nullable: true,
    description: '-log10 of the inconsistent share; while none was inconsistent, log10(checked), the most this many checks can show. Null before any check.',
  })
  nines!: number | null;
}

@ObjectType({ description: 'Cache hits the consistency inspector checked against MySQL (INSPECTOR_READ_SAMPLE_RATE), since this instance started.', simpleResolvers: true })
export class ConsistencyReads {
  @Field(() => Int)
  checked!: number;

  @Field(() => Int, { description: 'Hits that served a version older than MySQL\'s, in a key still wrong at the second check (and unknown to the failure log).' })
  stale!: number;

  @Field(() => Float, { nullable: true, description: '-log10 of the stale share; while none was stale, log10(checked). Null before any check.' })
  nines!: number | null;
}

@ObjectType({ description: "The consistency inspector (INSPECTOR_SAMPLE_RATE): this instance's checks of its own writes, and of a sample of its cache hits.", simpleResolvers: true })
export class ConsistencyStatus {
  @Field(() => ConsistencyWindow, { description: 'Since this instance started.' })
  total!: ConsistencyWindow;

  @Field(() => ConsistencyWindow)
  lastHour!: ConsistencyWindow;

  @Field(() => ConsistencyWindow)
  lastDay!: ConsistencyWindow;

  @Field(() => Int, { description: 'Inconsistent keys (and keys behind stale reads) set right (the wrong value taken away, MySQL\'s row written through the compare-and-set).' })
  repaired!: number;

  @Field(() => ConsistencyReads)
  reads!: ConsistencyReads;

  @Field(() => Int, { description: 'Checks waiting: not yet due, due for their second look, or waiting for Redis or MySQL to answer (at most 10,000).' })
  pending!: number;
}

@ObjectType({ description: 'How the cache is doing, as seen from this instance.', simpleResolvers: true })
export class CacheStatus {
  @Field(() => String)
  instance!: string;

  @Field(() => Int, { description: 'Failed cache writes not yet repaired, on all instances (-1 if MySQL did not answer).' })
  backlog!: number;

  @Field(() => String, { description: "The circuit breaker in front of Redis: 'closed', 'halfOpen', 'open' (or 'none')." })
  circuit!: string;

  @Field(() => String, { description: "'ok', or 'unavailable: …'." })
  redis!: string;

  @Field(() => String, { description: "'ok', or 'unavailable: …'." })
  mysql!: string;

  @Field(() => Float, { nullable: true, description: 'Hits (negative ones included) over all lookups since start.' })
  hitRatio!: number | null;

  @Field(() => CacheLookupCounts)
  lookups!: CacheLookupCounts;

  @Field(() => Date, { nullable: true, description: 'When this instance last repaired a failed write.' })
  lastRepairAt!: Date | null;

  @Field(() => ID, { description: "The newest failure event's id ('0' if none): subscribe `after` it to miss nothing from now on." })
  lastEventId!: string;

  @Field(() => [CacheStatusSample], { description: 'The last ten minutes, in ten-second buckets, oldest first.' })
  series!: CacheStatusSample[];

  @Field(() => ChangeFollowerStatus, { nullable: true, description: 'The change follower; null when none is configured (CHANGE_FOLLOWER=off).' })
  changeFollower!: ChangeFollowerStatus | null;

  @Field(() => ConsistencyStatus, { nullable: true, description: 'The consistency inspector; null when it is off (INSPECTOR_SAMPLE_RATE=0).' })
  consistency!: ConsistencyStatus | null;
}
