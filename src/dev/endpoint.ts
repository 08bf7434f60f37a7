import { ServicesUnavailableError } from './errors';
import type { Endpoint, ServiceSpec } from './types';

/** Reads host, port and credentials; errors never repeat the URL, which may hold a password. */
export function endpointOf(url: string, defaultPort: number, envVar: string): Endpoint {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    const example = envVar === 'MYSQL_URL' ? 'mysql://root@127.0.0.1:3306/throughline' : 'redis://127.0.0.1:6379';
    throw new ServicesUnavailableError(`${envVar} is not a valid URL.`, `Set ${envVar} to a URL such as ${example}.`);
  }
  return {
    // URL keeps the brackets around IPv6 literals; sockets want the bare address.
    host: parsed.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1',
    port: parsed.port ? Number(parsed.port) : defaultPort,
    user: decodeURIComponent(parsed.username),
    password: decodeURIComponent(parsed.password),
  };
}

export function hostPort(ep: Endpoint): string {
  return ep.host.includes(':') ? `[${ep.host}]:${ep.port}` : `${ep.host}:${ep.port}`;
}

export function isLocal(host: string): boolean {
  return host === '127.0.0.1' || host === 'localhost' || host === '::1';
}

/** Listen where the URL points: a server on 127.0.0.1 would not answer a client dialling ::1. */
export function bindAddress(host: string): string {
  return host === '::1' ? '::1' : '127.0.0.1';
}

/** The URL with its password, if any, replaced by `***`: safe to print. */
export function maskUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return url.replace(/\/\/([^:@/]*):[^@]*@/, '//$1:***@');
  }
}

/** What a server started here answers to: `port` defaults to the URL's own. */
export function defaultUrl(spec: ServiceSpec, port = spec.endpoint.port): string {
  return spec.name === 'mysql' ? `mysql://root@127.0.0.1:${port}/throughline` : `redis://127.0.0.1:${port}`;
}

/** Private and Compose servers know only root (MySQL) or the default user (Redis), with no password. */
function hasDefaultCredentials(spec: ServiceSpec): boolean {
  const { user, password } = spec.endpoint;
  const okUser = spec.name === 'mysql' ? user === 'root' || user === '' : user === '' || user === 'default';
  return okUser && password === '';
}

/**
 * The URL a server is started for unasked: a local host (127.0.0.1, localhost and ::1
 * alike), the default port and credentials, any database. Any other URL that does not
 * answer is more likely a typo than a server to make up (AUTO_START_SERVICES=true asks).
 */
export function isDefaultUrl(spec: ServiceSpec): boolean {
  const schemes = spec.name === 'mysql' ? ['mysql:', 'mariadb:'] : ['redis:'];
  return (
    schemes.includes(new URL(spec.url).protocol) &&
    isLocal(spec.endpoint.host) &&
    spec.endpoint.port === spec.defaultPort &&
    hasDefaultCredentials(spec)
  );
}

/**
 * Private and Compose servers know only root with an empty password. Refusing other
 * credentials up front beats starting a server the application then cannot log in to.
 * `asked`: AUTO_START_SERVICES=true, so a server may be started on the URL's own port.
 */
export function assertDefaultCredentials(spec: ServiceSpec, asked: boolean): void {
  if (hasDefaultCredentials(spec)) return;
  const known = spec.name === 'mysql' ? 'root with no password' : 'the default user with no password';
  throw new ServicesUnavailableError(
    `Nothing answers at ${spec.envVar}=${maskUrl(spec.url)}, and a ${spec.label} server started here would know only ${known}`,
    `start your ${spec.label} server at ${hostPort(spec.endpoint)}, or set ${spec.envVar} to ` +
      `${defaultUrl(spec, asked ? spec.endpoint.port : spec.defaultPort)} to have one started for you`,
  );
}
