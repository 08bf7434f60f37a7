import { createServer, type Server, type Socket } from 'node:net';
import { DrizzleQueryError } from 'drizzle-orm/errors';
import { afterAll, describe, expect, it } from 'vitest';
import { checkMysqlAnswers } from '../../src/startup-checks';
import { VersionTriggerPrivilegeError } from '../../src/db/version-triggers';
import { explainMysqlError, explainStartupError, StartupError } from '../../src/startup-errors';

/** What mysql2 rejects with: a code, an errno and the server's own words. */
function mysqlError(code: string, errno: number, sqlMessage: string): Error {
  return Object.assign(new Error(sqlMessage), { code, errno, sqlState: '28000', sqlMessage });
}

describe('the words for a MySQL error at start-up', () => {
  const url = 'mysql://app:s3cret@db.example.com:3307/shop';

  it('names the refused user and the server, for MySQL 8 (1045) and MariaDB (1698) alike, without the password', () => {
    const refusals = [
      mysqlError('ER_ACCESS_DENIED_ERROR', 1045, "Access denied for user 'app'@'10.0.0.5' (using password: YES)"),
      mysqlError('ER_ACCESS_DENIED_NO_PASSWORD_ERROR', 1698, "Access denied for user 'app'@'10.0.0.5'"),
    ];
    for (const refusal of refusals) {
      const explained = explainMysqlError(refusal, url);
      expect(explained).toBeInstanceOf(StartupError);
      expect((explained as Error).message).toBe(
        'MySQL at db.example.com:3307 refused user "app" (with the password given): set a user and password it accepts in MYSQL_URL',
      );
    }
  });

  it('finds the MySQL error inside the error Drizzle wraps a migration query in', () => {
    const denied = mysqlError('ER_TABLEACCESS_DENIED_ERROR', 1142, "CREATE command denied to user 'app'@'10.0.0.5' for table `shop`.`users`");
    const explained = explainMysqlError(new DrizzleQueryError('CREATE TABLE `users` (…)', [], denied), url);
    expect(explainStartupError(explained)).toBe(
      "MySQL at db.example.com:3307 does not let user \"app\" create the tables of database \"shop\" (CREATE command denied to user 'app'@'10.0.0.5' for table `shop`.`users`): " +
        'grant it, or set MYSQL_URL to a user who may',
    );
  });

  it('keeps the version triggers’ own words for a missing privilege, instead of the generic "grant it"', () => {
    const denied = mysqlError('ER_TABLEACCESS_DENIED_ERROR', 1142, "TRIGGER command denied to user 'app'@'10.0.0.5' for table `shop`.`users`");
    const ours = new VersionTriggerPrivilegeError('Cannot create the trigger users_version_insert on shop.users: … GRANT TRIGGER ON `shop`.* TO …', { cause: denied });
    expect(explainStartupError(explainMysqlError(ours, url))).toBe(ours.message);
  });

  it('names the database a user may not use', () => {
    const denied = mysqlError('ER_DBACCESS_DENIED_ERROR', 1044, "Access denied for user 'app'@'%' to database 'shop'");
    expect(explainStartupError(explainMysqlError(denied, url))).toBe(
      'MySQL at db.example.com:3307 refused user "app" the database "shop": grant it, or set MYSQL_URL to a database it may use',
    );
  });

  it('leaves any other error as it is, to be printed whole', () => {
    const other = new Error('something else');
    expect(explainMysqlError(other, url)).toBe(other);
    expect(explainStartupError(other)).toBeUndefined();
  });
});

describe('the words for a port the service cannot listen on', () => {
  const listenError = (code: string, address: string, port: number) => Object.assign(new Error(code), { code, syscall: 'listen', address, port });

  it('says which port is taken, or not allowed, or which HOST is not this machine', () => {
    expect(explainStartupError(listenError('EADDRINUSE', '0.0.0.0', 4000))).toBe(
      'Port 4000 on 0.0.0.0 is already in use: stop whatever holds it, or set PORT to a free port',
    );
    expect(explainStartupError(listenError('EACCES', '0.0.0.0', 80))).toBe(
      'Not allowed to listen on port 80 on 0.0.0.0 (EACCES): set PORT to 1024 or above, or give the process the right to bind it',
    );
    expect(explainStartupError(listenError('EADDRNOTAVAIL', '10.9.9.9', 4000))).toBe(
      'Cannot listen on 10.9.9.9, not an address of this machine (EADDRNOTAVAIL): set HOST to one of its addresses, or 0.0.0.0',
    );
  });
});

describe('the check that MYSQL_URL reaches MySQL', () => {
  const servers: Server[] = [];
  afterAll(() => Promise.all(servers.map((s) => new Promise((done) => s.close(done)))));
  const serve = async (onConnection: (socket: Socket) => void): Promise<string> => {
    const server = createServer(onConnection);
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    servers.push(server);
    return `mysql://root@127.0.0.1:${(server.address() as { port: number }).port}/x`;
  };
  /** A packet: three bytes of length, the sequence number, the payload. */
  const packet = (payload: Buffer) => Buffer.concat([Buffer.from([payload.length & 0xff, payload.length >> 8, 0, 0]), payload]);

  it('passes a server that greets as MySQL does (protocol 10), and one that refuses this host in MySQL words (0xff)', async () => {
    const greeting = await serve((socket) => socket.write(packet(Buffer.concat([Buffer.from([0x0a]), Buffer.from('11.4.2-MariaDB\0')]))));
    await expect(checkMysqlAnswers(greeting)).resolves.toBeUndefined();
    const refusal = await serve((socket) => socket.end(packet(Buffer.concat([Buffer.from([0xff, 0x6a, 0x04]), Buffer.from("Host '10.0.0.5' is not allowed to connect")]))));
    await expect(checkMysqlAnswers(refusal)).resolves.toBeUndefined();
  });

  it('fails, in words, a server that says something else, says nothing, or hangs up', async () => {
    const redisLike = await serve((socket) => socket.write('-ERR unknown command\r\n'));
    await expect(checkMysqlAnswers(redisLike)).rejects.toThrow(/^Something answered at 127\.0\.0\.1:\d+, but not as MySQL \(it sent "-ERR unknown command"\)/);
    const silent = await serve(() => {});
    await expect(checkMysqlAnswers(silent, { greetingMs: 200 })).rejects.toThrow(/but not as MySQL \(no greeting within 0\.2 s\)/);
    const hangsUp = await serve((socket) => socket.end());
    await expect(checkMysqlAnswers(hangsUp)).rejects.toThrow(/but not as MySQL \(it closed the connection without a greeting\)/);
  });

  it('leaves a Unix socket URL to the driver', async () => {
    await expect(checkMysqlAnswers('mysql://root@localhost/x?socketPath=/nonexistent.sock')).resolves.toBeUndefined();
  });
});
