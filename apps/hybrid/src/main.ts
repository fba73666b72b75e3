// Starts the hybrid example (HTTP + Celery worker in one Nest app): `npm run start:hybrid`.
import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { redactUrl } from 'nestjs-celery';
import { createHybridApp } from './hybrid.app.js';

async function bootstrap() {
  const app = await createHybridApp();
  app.enableShutdownHooks();
  const port = Number(process.env.PORT ?? 3000);
  await app.listen(port, '127.0.0.1');
  const broker = process.env.CELERY_BROKER_URL ? redactUrl(process.env.CELERY_BROKER_URL, '**') : 'memory://';
  const logger = new Logger('hybrid');
  logger.log(`HTTP on :${port} and a Celery worker on ${broker}, in one app`);
  logger.log(`try:  curl -s -X POST localhost:${port}/tasks/add/2/3`);
}

void bootstrap();
