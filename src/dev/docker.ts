import { join } from 'node:path';
import { hostPort } from './endpoint';
import { errorText } from './errors';
import { pollUntil, run } from './process';
import type { Context, ServiceSpec } from './types';

const DOCKER_INFO_TIMEOUT_MS = 5_000;

export function composeFile(projectDir: string): string {
  return join(projectDir, 'docker-compose.yml');
}

/** The docker client may be installed with no engine behind it; only a working `docker info` counts. */
export async function dockerWorks(): Promise<boolean> {
  try {
    await run('docker', ['info'], { timeoutMs: DOCKER_INFO_TIMEOUT_MS });
    return true;
  } catch {
    return false;
  }
}

/** A failed Compose start is not fatal: the installed binaries may still do. */
export async function tryDocker(spec: ServiceSpec, ctx: Context): Promise<boolean> {
  try {
    await run('docker', ['compose', '-f', composeFile(ctx.projectDir), 'up', '-d', '--wait', spec.name], {
      cwd: ctx.projectDir,
      timeoutMs: ctx.timeoutMs,
    });
    if (await pollUntil(() => spec.isReady(spec.endpoint), Date.now() + ctx.timeoutMs)) {
      const msg = `started ${spec.label} with Docker Compose; stop it with: docker compose stop ${spec.name}`;
      ctx.logger.info({ service: spec.name }, msg);
      return true;
    }
    const msg = `Docker Compose started ${spec.label} but it does not answer at ${hostPort(spec.endpoint)}`;
    ctx.logger.warn({ service: spec.name }, msg);
  } catch (err) {
    const msg = `could not start ${spec.label} with Docker Compose; trying installed binaries`;
    ctx.logger.warn({ service: spec.name, err: errorText(err) }, msg);
  }
  return false;
}
