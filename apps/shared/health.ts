// GET /health of the example apps: the Celery health indicator's verdict (broker and backend connections) as HTTP.
import type { CeleryHealthIndicator, CeleryServer } from 'nestjs-celery';

/** 200 while every connection is up, 503 while starting, down or reconnecting; the body says which and why. */
export async function healthResponse(indicator: CeleryHealthIndicator, ...servers: CeleryServer[]): Promise<{ statusCode: number; body: unknown }> {
  const result = await indicator.isHealthy('celery', ...servers);
  return { statusCode: result.celery.status === 'up' ? 200 : 503, body: result };
}
