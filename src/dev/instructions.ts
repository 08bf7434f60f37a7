import { defaultUrl, hostPort } from './endpoint';
import { ServicesUnavailableError } from './errors';
import type { Context, ServiceName, ServiceSpec } from './types';

export function remoteDown(spec: ServiceSpec): ServicesUnavailableError {
  return new ServicesUnavailableError(
    `The ${spec.label} server configured in ${spec.envVar} (${hostPort(spec.endpoint)}) does not answer.`,
    `Servers on other hosts are never started from here: start that server, ` +
      `or set ${spec.envVar} to one that runs (e.g. ${defaultUrl(spec)}).`,
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
  const problem = errors.map((e) => e.problem).join('\n');
  const instructions =
    notInstalledHere.length === errors.length
      ? installInstructions(notInstalledHere, ctx)
      : errors.map((e) => e.instructions).join('\n');
  return new ServicesUnavailableError(problem, instructions, notInstalledHere);
}
