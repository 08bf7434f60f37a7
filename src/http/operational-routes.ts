import type { Registry } from 'prom-client';
import { checkReadiness, type ReadinessChecks } from '../metrics/status';
import { send, sendJson, type Handler } from './respond';

/**
 * The routes (GET, and HEAD) for whoever runs the service rather than uses it:
 * GET /healthz — the process answers (for a liveness probe);
 * GET /readyz — MySQL and Redis answer (503 saying which does not, for a readiness probe);
 * GET /metrics — Prometheus text format.
 */
export function operationalRoutes(deps: { readiness: ReadinessChecks; registry: Registry }): Record<string, Handler> {
  return {
    '/healthz': (_req, res) => sendJson(res, 200, { status: 'ok' }),
    '/readyz': async (_req, res) => {
      const report = await checkReadiness(deps.readiness);
      sendJson(res, Object.values(report).every((r) => r === 'ok') ? 200 : 503, report);
    },
    '/metrics': async (_req, res) => send(res, 200, { 'content-type': deps.registry.contentType }, await deps.registry.metrics()),
  };
}
