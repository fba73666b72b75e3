// The pack smoke test's Nest app, compiled against the installed tarball's types: a CeleryServer
// worker runs a @CeleryTask and a CeleryClient gets its result and its typed failure, on memory://
// and on Redis (broker and results); every subpath entry resolves to the classes the root uses.
import 'reflect-metadata';
import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Celery, CeleryClient, CeleryModule, CeleryServer, CeleryTask, CeleryTaskError, ValueError, defineTask } from 'nestjs-celery';
import * as engine from 'nestjs-celery/engine';
import { AmqpBroker } from 'nestjs-celery/amqp';
import { RedisBroker } from 'nestjs-celery/redis';
import { MemoryBroker } from 'nestjs-celery/memory';
import { RpcBackend } from 'nestjs-celery/rpc';
import { lastValueFrom } from 'rxjs';

const addTask = defineTask<[x: number, y: number], number>('smoke.add');

@Injectable()
class Tasks {
  @CeleryTask(addTask)
  add(x: number, y: number): number {
    return x + y;
  }

  @CeleryTask('smoke.fail')
  fail(message: string): never {
    throw new ValueError(message);
  }
}

function check(what: string, ok: boolean, got: unknown): void {
  if (!ok) throw new Error(`pack smoke: ${what}: got ${JSON.stringify(got)}`);
}

async function roundTrip(url: string): Promise<void> {
  const queue = `pack-smoke.${process.pid}.${Date.now()}`;
  const connection = { broker: url, backend: url, taskDefaultQueue: queue, resultExpires: 60 };
  @Module({ imports: [CeleryModule.forRoot(connection)], providers: [Tasks] })
  class AppModule {}
  const strategy = new CeleryServer({ ...connection, worker: { queues: [queue] } });
  const worker = await NestFactory.createMicroservice(AppModule, { strategy, logger: false });
  await worker.listen();
  try {
    const client = worker.get(CeleryClient);
    const sum = await lastValueFrom(client.call(addTask, [2, 3]));
    check(`${url} smoke.add(2, 3)`, sum === 5, sum);
    const failure: unknown = await lastValueFrom(client.send('smoke.fail', ['boom'])).catch((error: unknown) => error);
    check(`${url} smoke.fail`, failure instanceof CeleryTaskError && failure.excType === 'ValueError', String(failure));
  } finally {
    await worker.close();
  }
}

check('nestjs-celery/engine is the root', engine.Celery === Celery, null);
const drivers = [AmqpBroker, RedisBroker, MemoryBroker, RpcBackend].map((c) => c.name);
check('driver entries', drivers.join() === 'AmqpBroker,RedisBroker,MemoryBroker,RpcBackend', drivers);
await roundTrip('memory://pack-smoke');
await roundTrip(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/0');
console.log(`pack smoke (ESM, Nest app): ok on node ${process.version}`);
