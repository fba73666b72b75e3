/**
 * An idle Nest microservice, for its resident memory: `bare` = NestFactory.createMicroservice
 * with an empty module and a custom transport that does nothing (what Nest itself costs),
 * `celery` = the same module with our CeleryServer connected and consuming one queue (no task
 * arrives). Answers "sample" with its memory after a full GC (run with --expose-gc).
 */
import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Server, type CustomTransportStrategy } from '@nestjs/microservices';
import { silentLogger } from '../../libs/nestjs-celery/src/common/logger.js';
import { CeleryServer } from '../../libs/nestjs-celery/src/nest/celery.server.js';
import type { ChildMessage } from '../processes.js';
import { childConfig, fail, onStop, reply } from './child-support.js';

interface Config {
  mode: 'bare' | 'celery';
  broker: string;
  backend: string;
  queue: string;
}

const cfg = childConfig<Config>();

/** A transport that listens to nothing: the baseline of a Nest microservice. */
class NoopServer extends Server implements CustomTransportStrategy {
  listen(callback: () => void): void {
    callback();
  }
  close(): void {}
  on(): void {}
  unwrap<T>(): T {
    return undefined as T;
  }
}

@Module({})
class EmptyModule {}

async function main(): Promise<void> {
  const strategy =
    cfg.mode === 'bare'
      ? new NoopServer()
      : new CeleryServer({
          broker: cfg.broker,
          backend: cfg.backend,
          taskDefaultQueue: cfg.queue,
          logger: silentLogger,
          logLevel: 'warn',
          worker: { concurrency: 16 },
        });
  const app = await NestFactory.createMicroservice(EmptyModule, { strategy, logger: false });
  await app.listen();
  process.on('message', (m: ChildMessage) => {
    if (m.type !== 'sample') return;
    (globalThis as { gc?: () => void }).gc?.();
    const mem = process.memoryUsage();
    reply({ type: 'sample', rss: mem.rss, heapTotal: mem.heapTotal, heapUsed: mem.heapUsed });
  });
  onStop(async () => {
    await app.close();
  });
  reply({ type: 'ready' });
}

main().catch(fail);
