import { defaultUrl, hostPort, maskUrl } from './endpoint';
import { ServicesUnavailableError } from './errors';
import type { Context, ServiceName, ServiceSpec } from './types';

/** Why a TCP connection did not open, for a person: `code` is the socket's error code, or 'timeout'. */
export function whyUnreachable(host: string, code: string): string {
  if (code === 'ENOTFOUND') return `${host} does not resolve`;
  if (code === 'EAI_AGAIN') return `${host} could not be looked up (EAI_AGAIN)`;
  if (code === 'ECONNREFUSED') return 'connection refused';
  if (code === 'timeout') return 'no answer within 1 s';
  return code;
}

export function remoteDown(spec: ServiceSpec, code: string): ServicesUnavailableError {
  return new ServicesUnavailableError(
    `The ${spec.label} server at ${spec.envVar}=${maskUrl(spec.url)} does not answer (${whyUnreachable(spec.endpoint.host, code)})`,
    `start it, or fix ${spec.envVar}; servers on other hosts are never started from here`,
  );
}

/**
 * A local URL other than the default that does not answer: most likely a typo, and a
 * new empty server there would look like lost data. Started only when asked.
 */
export function notDefault(spec: ServiceSpec): ServicesUnavailableError {
  return new ServicesUnavailableError(
    `Nothing answers at ${spec.envVar}=${maskUrl(spec.url)}, and a private ${spec.label} server is started ` +
      `only at the default ${defaultUrl(spec, spec.defaultPort).replace(/\/throughline$/, '')}`,
    `fix ${spec.envVar}, or set AUTO_START_SERVICES=true to have one started at ${hostPort(spec.endpoint)}`,
  );
}

export function notInstalled(spec: ServiceSpec, ctx: Context): ServicesUnavailableError {
  return new ServicesUnavailableError(
    `Nothing answers at ${hostPort(spec.endpoint)} for ${spec.envVar}, Docker did not start one, ` +
      `and no ${spec.label} server is installed to start.`,
    installInstructions([spec.name], ctx),
    [spec.name],
  );
}

const PACKAGES: Record<ServiceName, { apt: string; dnf: string; brew: string; binaries: string }> = {
  // mariadb-server-core, not mariadb-server: the latter also starts a system service on
  // 3306 whose root logs in only through the Unix socket, which a TCP URL cannot use.
  mysql: { apt: 'mariadb-server-core', dnf: 'mariadb-server', brew: 'mariadb', binaries: 'mariadbd or mysqld' },
  redis: { apt: 'redis-server', dnf: 'redis', brew: 'redis', binaries: 'redis-server' },
};

function installInstructions(services: ServiceName[], ctx: Context): string {
  const pick = (k: 'apt' | 'dnf' | 'brew') => services.map((s) => PACKAGES[s][k]).join(' ');
  return [
    `Install ${services.map((s) => PACKAGES[s].binaries).join(' and ')} and run \`npm start\` again; ` +
      `it starts private servers with their data in ${ctx.dataDir}:`,
    `  Debian/Ubuntu:  sudo apt-get install -y ${pick('apt')}`,
    `  Fedora/RHEL:    sudo dnf install -y ${pick('dnf')}`,
    `  macOS:          brew install ${pick('brew')}`,
    `Or, with Docker running:  docker compose up -d --wait ${services.join(' ')}   (in ${ctx.projectDir})`,
    `Or set ${services.map((s) => (s === 'mysql' ? 'MYSQL_URL' : 'REDIS_URL')).join(' / ')} to servers that run.`,
  ].join('\n');
}

/** Both servers missing should read as one set of instructions, not two near-copies. */
export function combineFailures(errors: unknown[], ctx: Context): unknown {
  if (errors.length === 1) return errors[0];
  if (!errors.every((e): e is ServicesUnavailableError => e instanceof ServicesUnavailableError)) {
    return errors.find((e) => !(e instanceof ServicesUnavailableError));
  }
  const notInstalledHere = errors.flatMap((e) => e.notInstalled);
  if (notInstalledHere.length === errors.length) {
    return new ServicesUnavailableError(errors.map((e) => e.problem).join('\n'), installInstructions(notInstalledHere, ctx), notInstalledHere);
  }
  // Two different mistakes: one line each, its fix beside it.
  return new ServicesUnavailableError(
    errors.map((e) => e.problem).join('\n'),
    errors.map((e) => e.instructions).join('\n'),
    notInstalledHere,
    errors.map((e) => e.message).join('\n'),
  );
}
