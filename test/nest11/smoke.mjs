// Runs under Nest 11 (this folder's node_modules): a CeleryModule worker runs a @CeleryTask and
// a CeleryClient gets its result and its typed failure, on the memory transport; the subpath entries resolve.
import 'reflect-metadata';
import { createRequire } from 'node:module';
import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Celery, CeleryClient, CeleryModule, CeleryTask, CeleryTaskError, ValueError } from 'nestjs-celery';
import * as engine from 'nestjs-celery/engine';
import { AmqpBroker } from 'nestjs-celery/amqp';
import { RedisBroker } from 'nestjs-celery/redis';
import { MemoryBroker } from 'nestjs-celery/memory';
import { RpcBackend } from 'nestjs-celery/rpc';
import { lastValueFrom } from 'rxjs';

class Tasks {
  add(x, y) {
    return x + y;
  }
  fail(message) {
    throw new ValueError(message);
  }
}
for (const [method, name] of [
  ['add', 'smoke.add'],
  ['fail', 'smoke.fail'],
]) {
  CeleryTask(name)(Tasks.prototype, method, Object.getOwnPropertyDescriptor(Tasks.prototype, method));
}
Injectable()(Tasks);
class AppModule {}
Module({ imports: [CeleryModule.forRoot({ broker: 'memory://nest11', backend: 'memory://nest11', worker: true })], providers: [Tasks] })(AppModule);

const app = await NestFactory.createApplicationContext(AppModule, { logger: false });
await app.init();
const client = app.get(CeleryClient);
const sum = await lastValueFrom(client.send('smoke.add', [2, 3]));
const failure = await lastValueFrom(client.send('smoke.fail', ['nest 11'])).catch((e) => e);
await app.close();
const nest = createRequire(import.meta.url)('@nestjs/core/package.json').version;
// the subpaths resolve through package.json's exports, to the classes the root uses
const entries = { engineCelery: engine.Celery === Celery, drivers: [AmqpBroker, RedisBroker, MemoryBroker, RpcBackend].map((c) => c.name) };
console.log(JSON.stringify({ nest, sum, failure: failure instanceof CeleryTaskError ? [failure.excType, failure.excMessage] : String(failure), entries }));
