import type { IncomingMessage } from 'node:http';
import type { Registry } from 'prom-client';
import { checkReadiness, type ReadinessChecks } from '../metrics/status';
import type { MetricsRefusal } from './metrics-access';
import { send, sendErrors, sendJson, type Handler } from './respond';

/**
 * The routes (GET, and HEAD) for whoever runs the service rather than uses it:
 * GET /healthz — the process answers (for a liveness probe);
 * GET /readyz — MySQL and Redis answer (503 saying which does not, for a readiness probe);
 *   what `degraded` reports is added to the body without changing the status (the
 *   change follower off or retrying: 200 still, `changeFollower: 'degraded: …'`);
 * GET /metrics — Prometheus text format, to whoever `authorizeMetrics` lets through
 *   (401 or 403 with a coded JSON error otherwise: http/metrics-access.ts).
 */
export function operationalRoutes(deps: {
  readiness: ReadinessChecks;
  /** Parts the instance serves without: each 'ok' or 'degraded: <why>', never a 503. */
  degraded?: () => Record<string, string>;
  registry: Registry;
  authorizeMetrics: (req: IncomingMessage) => Promise<MetricsRefusal | undefined>;
}): Record<string, Handler> {
  return {
    '/healthz': (_req, res) => sendJson(res, 200, { status: 'ok' }),
    '/readyz': async (_req, res) => {
      const report = await checkReadiness(deps.readiness);
      const ready = Object.values(report).every((r) => r === 'ok');
      sendJson(res, ready ? 200 : 503, { ...report, ...deps.degraded?.() });
    },
    '/metrics': async (req, res) => {
      const refusal = await deps.authorizeMetrics(req);
      if (refusal) {
        res.setHeader('www-authenticate', 'Bearer');
        return sendErrors(res, refusal.status, [{ message: refusal.message, code: refusal.code }]);
      }
      send(res, 200, { 'content-type': deps.registry.contentType }, await deps.registry.metrics());
    },
  };
}
