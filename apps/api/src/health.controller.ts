// GET /health: the api's broker and backend connections (200 up, 503 starting/down), for container healthchecks.
import { Controller, Get, Res } from '@nestjs/common';
import { CeleryHealthIndicator } from 'nestjs-celery';
import type { ServerResponse } from 'node:http';
import { healthResponse } from '../../shared/health.js';

@Controller('health')
export class HealthController {
  constructor(private readonly health: CeleryHealthIndicator) {}

  @Get()
  async check(@Res() res: ServerResponse): Promise<void> {
    const { statusCode, body } = await healthResponse(this.health);
    res.writeHead(statusCode, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  }
}
