// The worker's HTTP endpoints: a Nest microservice has no HTTP server, so a tiny node:http one serves
// GET /metrics (the Prometheus registry) and GET /health (the Celery connections, for container healthchecks).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { metricsResponse } from '../../shared/metrics-http.js';

export interface WorkerHttpOptions {
  /** serve GET /metrics (default true) */
  metrics?: boolean;
  /** serve GET /health with this verdict */
  health?: () => Promise<{ statusCode: number; body: unknown }>;
}

/** Serve GET /metrics and GET /health on `port` (0: any free port); resolves once listening. */
export async function startMetricsServer(port: number, host = '0.0.0.0', options: WorkerHttpOptions = {}): Promise<{ server: Server; port: number }> {
  const { metrics = true, health } = options;
  const server = createServer((req, res) => {
    const path = req.url?.split('?')[0];
    const answer =
      req.method !== 'GET'
        ? undefined
        : path === '/metrics' && metrics
          ? metricsResponse().then(({ contentType, body }) => res.writeHead(200, { 'content-type': contentType }).end(body))
          : path === '/health' && health
            ? health().then(({ statusCode, body }) => res.writeHead(statusCode, { 'content-type': 'application/json' }).end(JSON.stringify(body)))
            : undefined;
    if (!answer) {
      res.writeHead(404).end();
      return;
    }
    answer.catch((error: unknown) => res.writeHead(500).end(String(error)));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  return { server, port: (server.address() as AddressInfo).port };
}
