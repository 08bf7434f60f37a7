/**
 * `npm start` runs this before it builds: a mistake in the settings (the environment,
 * then `.env`, as the service reads them) is reported in about a second, in the same
 * one line the service prints, instead of after the TypeScript build. Exits 0, saying
 * nothing, when the settings are valid.
 */
import { loadConfig } from '../src/config';
import { loadEnvFile } from '../src/env-file';
import { explainStartupError } from '../src/startup-errors';

try {
  loadEnvFile();
  loadConfig(process.env);
} catch (err) {
  console.error(explainStartupError(err) ?? `Throughline's settings cannot be read: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
