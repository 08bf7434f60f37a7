import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigError } from './config';

/**
 * The settings file, read by every entry point before its configuration, so that the
 * service, `npm start`'s check, `db:migrate` and the cache tools all see the same
 * settings: `ENV_FILE` when it is set, else `.env` at the project root (from src/ and
 * from dist/ alike). Variables already in the environment win: process.loadEnvFile
 * never replaces one. Returns the file read, if any.
 */
export function loadEnvFile(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const path = envFilePath(env);
  if (!existsSync(path)) {
    // A missing .env is the default; a missing file someone named is a mistake.
    if (env.ENV_FILE) throw new ConfigError([`ENV_FILE names a file that does not exist (got "${env.ENV_FILE}")`]);
    return undefined;
  }
  process.loadEnvFile(path);
  return path;
}

export function envFilePath(env: NodeJS.ProcessEnv = process.env): string {
  return env.ENV_FILE ? resolve(env.ENV_FILE) : resolve(__dirname, '..', '.env');
}
