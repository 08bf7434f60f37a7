import type { Express } from 'express';
import type { Registry } from 'prom-client';
import { checkReadiness, type ReadinessChecks } from '../metrics/status';

/**
 * The routes for whoever runs the service rather than uses it:
 * GET /healthz — the process answers (for a liveness probe);
 * GET /readyz — MySQL and Redis answer (503 saying which does not, for a readiness probe);
 * GET /metrics — Prometheus text format.
 */
export function operationalRoutes(app: Express, deps: { readiness: ReadinessChecks; registry: Registry }): void {
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    const report = await checkReadiness(deps.readiness);
    res.status(Object.values(report).every((r) => r === 'ok') ? 200 : 503).json(report);
  });
  app.get('/metrics', async (_req, res) => {
    res.type(deps.registry.contentType).send(await deps.registry.metrics());
  });
}
