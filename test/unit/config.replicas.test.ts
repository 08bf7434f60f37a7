import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config';

describe('loadConfig: MYSQL_REPLICA_URLS', () => {
  it('has no replicas unless told', () => {
    expect(loadConfig({}).mysql.replicaUrls).toEqual([]);
    expect(loadConfig({ MYSQL_REPLICA_URLS: '' }).mysql.replicaUrls).toEqual([]);
  });

  it('reads a comma-separated list of mysql:// URLs', () => {
    const config = loadConfig({ MYSQL_REPLICA_URLS: 'mysql://reader@replica-1:3306/app, mariadb://reader@replica-2/app' });
    expect(config.mysql.replicaUrls).toEqual(['mysql://reader@replica-1:3306/app', 'mariadb://reader@replica-2/app']);
  });

  it('refuses anything else in one line, with every password masked', () => {
    const load = () => loadConfig({ MYSQL_REPLICA_URLS: 'mysql://a:hunter2@replica-1/app,postgres://b:swordfish@replica-2/app' });
    expect(load).toThrow(ConfigError);
    expect(load).toThrow(
      /^Invalid configuration: MYSQL_REPLICA_URLS must be a comma-separated list of URLs starting with mysql:\/\/ or mariadb:\/\/ \(got "mysql:\/\/a:\*\*\*@replica-1\/app,postgres:\/\/b:\*\*\*@replica-2\/app"\)$/,
    );
  });
});
