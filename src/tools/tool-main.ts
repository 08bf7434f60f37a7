import { loadConfig, type Config } from '../config';
import { loadEnvFile } from '../env-file';
import { describeFailure } from './tool-error';

/** The settings the service runs with: its settings file (env-file.ts) under the environment. */
export function loadToolConfig(): Config {
  loadEnvFile();
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
