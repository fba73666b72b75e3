import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { redactUrl } from 'nestjs-celery';
import { isEmbedded } from '../../shared/celery-env.js';
import { ApiModule } from './api.module.js';

/** An HTTP app sending Celery tasks through CeleryClient; PORT (3000) and HOST (127.0.0.1) say where it listens. */
async function bootstrap() {
  const app = await NestFactory.create(ApiModule.register());
  app.enableShutdownHooks();
  const port = Number(process.env.PORT ?? 3000);
  // HOST=0.0.0.0 in a container; on a developer's machine only this machine reaches it
  await app.listen(port, process.env.HOST ?? '127.0.0.1');
  const logger = new Logger('api');
  logger.log(
    isEmbedded()
      ? 'worker and api running in one process on the memory transport (set CELERY_BROKER_URL to use RabbitMQ or Redis)'
      : `sending tasks to ${redactUrl(process.env.CELERY_BROKER_URL ?? '', '**')}; run the worker beside it with npm run start:worker`,
  );
  logger.log(`try:  curl -s -X POST localhost:${port}/tasks/tasks.add -H 'content-type: application/json' -d '{"args": [2, 3]}'`);
  logger.log(`then: curl -s localhost:${port}/tasks/<id from the answer>     (or: curl -s -X POST localhost:${port}/tasks/add/2/3)`);
}

void bootstrap();
