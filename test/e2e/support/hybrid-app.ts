import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { CeleryModule, CeleryServer, type CeleryModuleOptions } from 'nestjs-celery';
import { HttpMathController } from './server.fixture.js';
import { MathTasks } from './tasks.fixture.js';

/**
 * A hybrid app: HTTP (HttpMathController, whose route calls addTask through the default
 * CeleryClient) plus a connected CeleryServer running MathTasks. Started the usual way:
 * microservices first, then `listen()` (which runs the init hooks).
 */
export async function startHybridApp(options: CeleryModuleOptions): Promise<{ app: INestApplication; url: string }> {
  const moduleRef = await Test.createTestingModule({
    imports: [CeleryModule.forRoot(options)],
    providers: [MathTasks],
    controllers: [HttpMathController],
  }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  app.connectMicroservice({ strategy: new CeleryServer() });
  await app.startAllMicroservices();
  await app.listen(0, '127.0.0.1');
  return { app, url: await app.getUrl() };
}
