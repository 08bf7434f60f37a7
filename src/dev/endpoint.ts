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

export function defaultUrl(spec: ServiceSpec): string {
  const port = spec.endpoint.port;
  return spec.name === 'mysql' ? `mysql://root@127.0.0.1:${port}/throughline` : `redis://127.0.0.1:${port}`;
}

/**
 * Private and Compose servers know only root with an empty password. Refusing other
 * credentials up front beats starting a server the application then cannot log in to.
 */
export function assertDefaultCredentials(spec: ServiceSpec): void {
  const { user, password } = spec.endpoint;
  const okUser = spec.name === 'mysql' ? user === 'root' || user === '' : user === '' || user === 'default';
  if (okUser && password === '') return;
  throw new ServicesUnavailableError(
    `${spec.label} at ${hostPort(spec.endpoint)} does not answer, and ${spec.envVar} names credentials ` +
      `that a server started here would not have.`,
    `Start your ${spec.label} server at ${hostPort(spec.endpoint)}, or set ${spec.envVar} to ${defaultUrl(spec)} ` +
      `so one can be started for you (root with an empty password, listening on 127.0.0.1 only).`,
  );
}
