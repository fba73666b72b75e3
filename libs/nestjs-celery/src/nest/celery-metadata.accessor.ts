// CeleryMetadataAccessor: reads the @CeleryTask and @CelerySchedule metadata off a handler and the
// @CeleryProcessor metadata off its class, the one place that knows their keys.
import { Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { CELERY_PROCESSOR_METADATA, CELERY_SCHEDULE_METADATA, CELERY_TASK_METADATA } from './celery.constants.js';
import type { CeleryScheduleMetadata } from './celery-schedule.decorator.js';
import type { CeleryProcessorOptions } from './celery-processor.decorator.js';
import type { CeleryTaskMetadata } from './celery-task.decorator.js';

/** Reads what `@CeleryTask`, `@CelerySchedule` and `@CeleryProcessor` wrote (one place that knows the metadata keys). */
@Injectable()
export class CeleryMetadataAccessor {
  constructor(private readonly reflector: Reflector) {}

  private getTaskMetadata(method: (...args: never[]) => unknown): CeleryTaskMetadata | undefined {
    return this.reflector.get<CeleryTaskMetadata | undefined>(CELERY_TASK_METADATA, method);
  }

  /**
   * A method's task as registered: under its class's `@CeleryProcessor`, the prefix before a
   * name given as a string and the class options under the method's own.
   */
  getTask(classRef: abstract new (...args: never[]) => unknown, method: (...args: never[]) => unknown): CeleryTaskMetadata | undefined {
    const task = this.getTaskMetadata(method);
    if (!task) return undefined;
    const processor = this.reflector.get<CeleryProcessorOptions | undefined>(CELERY_PROCESSOR_METADATA, classRef);
    if (!processor) return task;
    const { prefix, ...shared } = processor;
    const name = prefix !== undefined && !task.contract ? `${prefix}.${task.name}` : task.name;
    return { ...task, name, options: { ...shared, ...task.options } };
  }

  /** A method's `@CelerySchedule` entries, in source order (none: an empty list). */
  getSchedules(method: (...args: never[]) => unknown): CeleryScheduleMetadata[] {
    return this.reflector.get<CeleryScheduleMetadata[] | undefined>(CELERY_SCHEDULE_METADATA, method) ?? [];
  }
}
