// The worker's /metrics: a Nest microservice has no HTTP server, so a tiny node:http one serves the registry.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { metricsResponse } from '../../shared/metrics-http.js';

/** Serve GET /metrics on `port` (0: any free port); resolves once listening. */
export async function startMetricsServer(port: number, host = '0.0.0.0'): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || req.url?.split('?')[0] !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    metricsResponse().then(
      ({ contentType, body }) => res.writeHead(200, { 'content-type': contentType }).end(body),
      (error: unknown) => res.writeHead(500).end(String(error)),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  return { server, port: (server.address() as AddressInfo).port };
}
