// GET /metrics: the app's Prometheus metrics (the Celery client's publishes, and the worker's when embedded).
import { Controller, Get, Res } from '@nestjs/common';
import type { ServerResponse } from 'node:http';
import { metricsResponse } from '../../shared/metrics-http.js';

@Controller('metrics')
export class MetricsController {
  /** the registry's own content type (Prometheus text format), so the response is written here */
  @Get()
  async metrics(@Res() res: ServerResponse): Promise<void> {
    const { contentType, body } = await metricsResponse();
    res.setHeader('content-type', contentType);
    res.end(body);
  }
}
