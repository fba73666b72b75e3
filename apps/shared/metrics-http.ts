// Prometheus exposition of a prom-client registry: the text and content type GET /metrics answers with.
import { register, type Registry } from 'prom-client';

export async function metricsResponse(registry: Registry = register): Promise<{ contentType: string; body: string }> {
  return { contentType: registry.contentType, body: await registry.metrics() };
}
