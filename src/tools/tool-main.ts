import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { loadConfig, type Config } from '../config';
import { describeFailure } from './tool-error';

/** The settings the service runs with: `.env` at the project root, if any, under the environment. */
export function loadToolConfig(): Config {
  const envFile = resolve(__dirname, '..', '..', '.env');
  if (existsSync(envFile)) process.loadEnvFile(envFile);
  return loadConfig(process.env);
}

/**
 * Runs a command-line tool's `main` and exits with the code it returns; a failure is
 * one line on stderr and `failureCode`. The exit code is set rather than forced, so
 * that stdout is flushed first.
 */
export function runTool(name: string, main: () => Promise<number>, failureCode = 1): void {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      console.error(`${name} failed: ${describeFailure(err)}`);
      process.exitCode = failureCode;
    },
  );
}
