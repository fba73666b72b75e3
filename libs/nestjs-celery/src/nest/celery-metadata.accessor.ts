// CeleryMetadataAccessor: reads the @CeleryTask metadata off a handler, the one place that knows its key.
import { Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { CELERY_TASK_METADATA } from './celery.constants.js';
import type { CeleryTaskMetadata } from './celery-task.decorator.js';

/** Reads what `@CeleryTask` wrote (one place that knows the metadata key). */
@Injectable()
export class CeleryMetadataAccessor {
  constructor(private readonly reflector: Reflector) {}

  getTaskMetadata(method: (...args: never[]) => unknown): CeleryTaskMetadata | undefined {
    return this.reflector.get<CeleryTaskMetadata | undefined>(CELERY_TASK_METADATA, method);
  }
}
