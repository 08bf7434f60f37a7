import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { errorText, ServicesUnavailableError } from './errors';
import { findExecutable, run } from './process';
import type { Context } from './types';

export type Flavour = 'mariadb' | 'mysql';

/**
 * Initialises into a scratch directory and renames it into place, so an interrupted
 * run never leaves a half-made data directory that a later start would mistake for ready.
 */
export async function initialiseMysql(server: string, flavour: Flavour, datadir: string, ctx: Context): Promise<void> {
  const scratch = `${datadir}.initialising`;
  await rm(scratch, { recursive: true, force: true });
  await mkdir(ctx.dataDir, { recursive: true });
  const [command, args] =
    flavour === 'mariadb' ? await mariadbInstallCommand(scratch, ctx) : [server, mysqlInitialiseArgs(scratch)];
  ctx.logger.info({ datadir }, `initialising a private ${flavour === 'mariadb' ? 'MariaDB' : 'MySQL'} data directory`);
  try {
    await run(command, args, { timeoutMs: ctx.timeoutMs });
  } catch (err) {
    throw new ServicesUnavailableError(
      `Could not initialise a MySQL data directory in ${scratch}: ${errorText(err)}`,
      `Check the output above; delete ${scratch} and run again once the cause is fixed.`,
    );
  }
  await rename(scratch, datadir);
}

/** Not /tmp: a server starting meanwhile would delete the bootstrap's `#sql…` files there. */
async function scratchTmpdir(ctx: Context): Promise<string> {
  const dir = join(ctx.dataDir, 'mysql-tmp');
  await mkdir(dir, { recursive: true });
  return dir;
}

async function mariadbInstallCommand(datadir: string, ctx: Context): Promise<[string, string[]]> {
  const tool = await findExecutable(['mariadb-install-db', 'mysql_install_db'], ctx.searchDirs);
  if (!tool) {
    throw new ServicesUnavailableError(
      'MariaDB is installed without mariadb-install-db, which a private server needs to create its data directory.',
      `Install it: Debian/Ubuntu  sudo apt-get install -y mariadb-server-core;  macOS  brew install mariadb`,
    );
  }
  // Older versions lack some flags (and already default to what they ask for), so pass only the ones this one knows.
  const help = await helpText(tool);
  const wanted = ['--auth-root-authentication-method=normal', '--skip-test-db'].filter((flag) =>
    help.includes(flag.split('=')[0]!),
  );
  // `normal` gives root an empty password over TCP, which is what the default URL expects.
  return [tool, ['--no-defaults', `--datadir=${datadir}`, `--tmpdir=${await scratchTmpdir(ctx)}`, ...wanted, ...rootUserArgs()]];
}

/** mariadb-install-db prints its help and then exits 1, so the exit status says nothing here. */
async function helpText(tool: string): Promise<string> {
  return run(tool, ['--help'], { timeoutMs: 10_000 }).then(
    ({ stdout }) => stdout,
    (err: { stdout?: unknown }) => (typeof err.stdout === 'string' ? err.stdout : ''),
  );
}

function mysqlInitialiseArgs(datadir: string): string[] {
  return ['--no-defaults', '--initialize-insecure', `--datadir=${datadir}`, ...rootUserArgs()];
}

/** mysqld refuses to run as root unless told to, and a private dev server may well be started by root. */
export function rootUserArgs(): string[] {
  return process.getuid?.() === 0 ? ['--user=root'] : [];
}
