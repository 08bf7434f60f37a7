import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config';

describe('loadConfig', () => {
  it('gives every setting a sensible default', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      env: 'development',
      port: 4000,
      mysql: { url: 'mysql://root@127.0.0.1:3306/throughline', poolSize: 10 },
      redis: { url: 'redis://127.0.0.1:6379', commandTimeoutMs: 250 },
      cache: { keyPrefix: 'tl:', ttlSeconds: 3600, negativeTtlSeconds: 30, tombstoneTtlSeconds: 60, writeRetries: 2 },
      autoStartServices: true,
    });
  });

  it('in development starts private servers only at the default URLs, unless AUTO_START_SERVICES=true asks for any', () => {
    expect(loadConfig({})).toMatchObject({ autoStartServices: true, autoStartAnyLocalUrl: false });
    expect(loadConfig({ AUTO_START_SERVICES: 'true' })).toMatchObject({ autoStartServices: true, autoStartAnyLocalUrl: true });
    expect(loadConfig({ AUTO_START_SERVICES: 'false' })).toMatchObject({ autoStartServices: false, autoStartAnyLocalUrl: false });
    expect(loadConfig({ NODE_ENV: 'test' })).toMatchObject({ autoStartServices: false, autoStartAnyLocalUrl: false });
  });

  it('reads each variable it documents', () => {
    const config = loadConfig({
      NODE_ENV: 'production',
      PORT: '8080',
      MYSQL_URL: 'mysql://app:pw@db:3306/prod',
      REDIS_URL: 'rediss://cache:6380',
      KEY_PREFIX: 'prod:',
      CACHE_TTL_SECONDS: '60',
      REDIS_COMMAND_TIMEOUT_MS: '100',
      SEED_DEMO_DATA: 'false',
      JWT_SECRET: 's'.repeat(32),
    });
    expect(config).toMatchObject({
      env: 'production',
      port: 8080,
      mysql: { url: 'mysql://app:pw@db:3306/prod' },
      redis: { url: 'rediss://cache:6380', commandTimeoutMs: 100 },
      cache: { keyPrefix: 'prod:', ttlSeconds: 60 },
      seedDemoData: false,
      autoStartServices: false,
    });
  });

  it('guards /metrics with a token in production and leaves it public in development, unless told', () => {
    const production = { NODE_ENV: 'production', JWT_SECRET: 's'.repeat(32) };
    expect(loadConfig(production).http.metrics).toEqual({ access: 'token', token: undefined });
    expect(loadConfig({}).http.metrics.access).toBe('public');
    expect(loadConfig({ ...production, METRICS_ACCESS: 'public' }).http.metrics.access).toBe('public');
    expect(loadConfig({ METRICS_ACCESS: 'token', METRICS_TOKEN: 't'.repeat(32) }).http.metrics).toEqual({ access: 'token', token: 't'.repeat(32) });
    expect(() => loadConfig({ METRICS_TOKEN: 'short' })).toThrow(/METRICS_TOKEN must be at least 32 characters/);
  });

  it('bounds every wait on MySQL, and keeps write intents on with a grace longer than a cache write', () => {
    expect(loadConfig({}).mysql.deadlines).toEqual({ statementMs: 5_000, transactionMs: 10_000 });
    expect(loadConfig({}).intents).toEqual({ graceMs: 5_000, intervalMs: 1_000, batchSize: 1_000 });
    expect(loadConfig({ WRITE_INTENTS: 'false' }).intents).toBeUndefined();
    expect(() => loadConfig({ MYSQL_STATEMENT_TIMEOUT_MS: '20000' })).toThrow(/MYSQL_TRANSACTION_TIMEOUT_MS must be at least MYSQL_STATEMENT_TIMEOUT_MS/);
    expect(() => loadConfig({ WRITE_INTENT_GRACE_MS: '500' })).toThrow(/WRITE_INTENT_GRACE_MS must be longer than a cache write/);
  });

  it('refuses to run in production with no way to verify tokens', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/^Invalid configuration: JWT_SECRET or JWT_JWKS_URL must be set in production$/);
    expect(loadConfig({ NODE_ENV: 'production', JWT_JWKS_URL: 'https://id.example.com/.well-known/jwks.json' }).auth.jwksUrl).toBeDefined();
  });

  it('never echoes a secret back, even a bad one', () => {
    expect(() => loadConfig({ JWT_SECRET: 'short-but-secret' })).toThrow('JWT_SECRET must be at least 32 characters (got "***")');
  });

  it('turns introspection off in production unless asked, and keeps the documented limits', () => {
    expect(loadConfig({ NODE_ENV: 'production', JWT_SECRET: 's'.repeat(32) }).graphql).toEqual({
      introspection: false,
      maxDepth: 8,
      maxCost: 5000,
      maxAliases: 15,
      maxTokens: 1000,
      maxDirectives: 50,
      maxBodyBytes: 102_400,
      websocket: { maxConnections: 1_000, idleMs: 60_000 },
      executor: { kind: 'jit', cacheSize: 500, compileAfter: 1 },
    });
    expect(loadConfig({ NODE_ENV: 'production', JWT_SECRET: 's'.repeat(32), GRAPHQL_INTROSPECTION: 'true' }).graphql.introspection).toBe(true);
  });

  it('turns the explorers (Sandbox, /graphiql) on in development and test, and off in production unless asked', () => {
    const production = { NODE_ENV: 'production', JWT_SECRET: 's'.repeat(32) };
    expect(loadConfig({}).explorer).toBe(true);
    expect(loadConfig({ NODE_ENV: 'test' }).explorer).toBe(true);
    expect(loadConfig(production).explorer).toBe(false);
    expect(loadConfig({ ...production, GRAPHQL_EXPLORER: 'true' }).explorer).toBe(true);
    expect(loadConfig({ GRAPHQL_EXPLORER: 'false' }).explorer).toBe(false);
    expect(() => loadConfig({ GRAPHQL_EXPLORER: 'maybe' })).toThrow('GRAPHQL_EXPLORER must be true or false (got "maybe")');
  });

  it('reads the cache policy, and per-entity overrides', () => {
    expect(loadConfig({}).cache).toMatchObject({ policy: 'write-through', policyByEntity: {} });
    expect(loadConfig({ CACHE_POLICY: 'invalidate', CACHE_POLICY_ORDER: 'off' }).cache).toMatchObject({
      policy: 'invalidate',
      policyByEntity: { order: 'off' },
    });
    expect(() => loadConfig({ CACHE_POLICY: 'sometimes' })).toThrow('CACHE_POLICY must be write-through, invalidate or off');
  });

  it('takes a CACHE_POLICY_<NAME> for every registered entity, and refuses one that names none', () => {
    expect(loadConfig({ CACHE_POLICY_USER: 'invalidate', CACHE_POLICY_PRODUCT: 'off' }).cache.policyByEntity).toEqual({ user: 'invalidate', product: 'off' });
    expect(() => loadConfig({ CACHE_POLICY_USERS: 'off' })).toThrow(
      'Invalid configuration: CACHE_POLICY_USERS names no entity (the per-entity policies are CACHE_POLICY_USER, CACHE_POLICY_PRODUCT, CACHE_POLICY_ORDER, CACHE_POLICY_REVIEW)',
    );
    expect(() => loadConfig({ CACHE_POLICY_ORDER: 'never' })).toThrow('CACHE_POLICY_ORDER must be write-through, invalidate or off (got "never")');
  });

  it('reads the GraphQL executor, compiled by default', () => {
    expect(loadConfig({ GRAPHQL_EXECUTOR: 'standard', GRAPHQL_JIT_CACHE_SIZE: '20', GRAPHQL_JIT_COMPILE_AFTER: '0' }).graphql.executor).toEqual({
      kind: 'standard',
      cacheSize: 20,
      compileAfter: 0,
    });
    expect(() => loadConfig({ GRAPHQL_EXECUTOR: 'fast' })).toThrow('GRAPHQL_EXECUTOR must be jit or standard');
    expect(() => loadConfig({ GRAPHQL_JIT_CACHE_SIZE: '0' })).toThrow('GRAPHQL_JIT_CACHE_SIZE');
  });

  it('treats an empty variable as unset', () => {
    expect(loadConfig({ PORT: '' }).port).toBe(4000);
  });

  it('names each bad variable on a line of its own', () => {
    let error: unknown;
    try {
      loadConfig({ PORT: 'eighty', CACHE_TTL_SECONDS: '-5', REDIS_URL: 'http://x' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems;
    expect(problems).toHaveLength(3);
    expect(problems).toContainEqual(expect.stringMatching(/^PORT must be a number \(got "eighty"\)$/));
    expect(problems).toContainEqual(expect.stringMatching(/^CACHE_TTL_SECONDS must be at least 1/));
    expect(problems).toContainEqual(expect.stringMatching(/^REDIS_URL must be a URL starting with redis:\/\/ or rediss:\/\//));
  });

  it('never echoes a password back', () => {
    expect(() => loadConfig({ MYSQL_URL: 'postgres://app:hunter2@db/x' })).toThrow(/app:\*\*\*@db/);
    expect(() => loadConfig({ MYSQL_URL: 'postgres://app:hunter2@db/x' })).not.toThrow(/hunter2/);
  });

  it("follows MYSQL_URL's database in the binlog unless CHANGE_FOLLOWER=off, as CHANGE_FOLLOWER_MYSQL_URL's user if given", () => {
    expect(loadConfig({}).changeFollower).toEqual({
      connection: { uri: 'mysql://root@127.0.0.1:3306/throughline', database: 'throughline' },
      settings: { serverId: 4_170_000_001, leasePollMs: 1_000 },
    });
    expect(loadConfig({ CHANGE_FOLLOWER: 'off' }).changeFollower).toBeUndefined();
    const mysql = { MYSQL_URL: 'mysql://app:pw@db:3306/prod' };
    for (const uri of ['mysql://repl:pw@db:3306', 'mysql://repl:pw@db:3306/prod']) {
      expect(loadConfig({ ...mysql, CHANGE_FOLLOWER_MYSQL_URL: uri, CHANGE_FOLLOWER_SERVER_ID: '7', CHANGE_FOLLOWER_LEASE_POLL_MS: '250' }).changeFollower).toEqual({
        connection: { uri, database: 'prod' },
        settings: { serverId: 7, leasePollMs: 250 },
      });
    }
    expect(() => loadConfig({ CHANGE_FOLLOWER: 'on' })).toThrow(/^Invalid configuration: CHANGE_FOLLOWER must be auto or off \(got "on"\)$/);
    expect(() => loadConfig({ CHANGE_FOLLOWER_SERVER_ID: '0' })).toThrow(/CHANGE_FOLLOWER_SERVER_ID must be at least 1/);
    expect(() => loadConfig({ CHANGE_FOLLOWER_SERVER_ID: '4294967296' })).toThrow(/CHANGE_FOLLOWER_SERVER_ID must be at most 4294967295/);
    const other = () => loadConfig({ ...mysql, CHANGE_FOLLOWER_MYSQL_URL: 'mysql://repl:hunter2@db:3306/other' });
    expect(other).toThrow(`CHANGE_FOLLOWER_MYSQL_URL must name MYSQL_URL's database, or none (got "mysql://repl:***@db:3306/other")`);
    expect(other).not.toThrow(/hunter2/);
  });

  it('refuses a Redis timeout too long for the tombstone TTL to cover', () => {
    expect(() => loadConfig({ TOMBSTONE_TTL_SECONDS: '2', REDIS_COMMAND_TIMEOUT_MS: '1000' })).toThrow(
      /REDIS_COMMAND_TIMEOUT_MS must be at most a quarter of TOMBSTONE_TTL_SECONDS/,
    );
  });
});
