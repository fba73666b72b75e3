// CeleryExplorer: discovers @CeleryTask methods in the app and wraps each in Nest's context
// (guards, interceptors, pipes, filters) for the worker to run.
import { Inject, Injectable, Logger, Optional, type OnModuleDestroy } from '@nestjs/common';
import { EXCEPTION_FILTERS_METADATA, ROUTE_ARGS_METADATA } from '@nestjs/common/constants.js';
import { ApplicationConfig, DiscoveryService, ExternalContextCreator, MetadataScanner, ModulesContainer } from '@nestjs/core';
import type { InstanceWrapper } from '@nestjs/core/internal';
import { defaultIfEmpty, isObservable, type Subscription } from 'rxjs';
import { CELERY_CONTEXT_TYPE, CELERY_LOGGER_CONTEXT } from './celery.constants.js';
import { MODULE_OPTIONS_TOKEN } from './celery.module-definition.js';
import { CeleryServer } from './celery.server.js';
import type { CeleryTaskSource } from './celery-task-source.js';
import { CeleryMetadataAccessor } from './celery-metadata.accessor.js';
import type { CeleryModuleOptions } from './celery-module.options.js';
import { CeleryParamsFactory } from './celery-params.factory.js';
import type { CeleryPayload } from './celery-payload.js';
import type { CeleryInvoker, CeleryTaskBinding } from './celery-task.runner.js';
import { PythonErrorRegistry } from './python-error.registry.js';
import { PyTypeError } from '../protocol/python-errors.js';
import { pythonFuncName } from '../engine/worker/task-arguments.js';
import type { BeatEntry } from '../engine/beat/schedules.js';

export type { CeleryTaskSource } from './celery-task-source.js';

type Method = (...args: unknown[]) => unknown;

/**
 * Finds `@CeleryTask` methods on providers and controllers (DiscoveryService + MetadataScanner,
 * as @nestjs/bullmq finds processors) and wraps each in Nest's ExternalContextCreator, so
 * guards, interceptors, pipes and exception filters apply (context type 'rpc').
 *
 * Discovery is lazy: a CeleryServer may start (hybrid `startAllMicroservices()` before
 * `init()`) before this module's init hooks ran; instances exist from creation on.
 */
@Injectable()
export class CeleryExplorer implements CeleryTaskSource, OnModuleDestroy {
  readonly errors: PythonErrorRegistry;
  private readonly logger = new Logger(CELERY_LOGGER_CONTEXT);
  private readonly paramsFactory = new CeleryParamsFactory();
  private readonly servers: Subscription;
  private discovered?: { bindings: CeleryTaskBinding[]; schedules: Record<string, BeatEntry> };

  constructor(
    @Inject(MODULE_OPTIONS_TOKEN) readonly options: CeleryModuleOptions,
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly accessor: CeleryMetadataAccessor,
    private readonly contextCreator: ExternalContextCreator,
    modules: ModulesContainer,
    @Optional() private readonly appConfig?: ApplicationConfig,
  ) {
    this.errors = new PythonErrorRegistry(options.errors);
    // Nest announces each microservice server of this app here (createMicroservice and every
    // connectMicroservice); a replaying stream, so the order of creation does not matter.
    this.servers = modules.getRpcTargetRegistry<unknown>().subscribe((target) => {
      if (target instanceof CeleryServer) target.addTaskSource(this);
    });
  }

  tasks(): CeleryTaskBinding[] {
    return (this.discovered ??= this.explore()).bindings;
  }

  /** The `@CelerySchedule` entries of the app's tasks, by entry name, each sending its method's task. */
  schedules(): Record<string, BeatEntry> {
    return (this.discovered ??= this.explore()).schedules;
  }

  onModuleDestroy(): void {
    this.servers.unsubscribe();
  }

  private explore(): { bindings: CeleryTaskBinding[]; schedules: Record<string, BeatEntry> } {
    const bindings: CeleryTaskBinding[] = [];
    const schedules: Record<string, BeatEntry> = {};
    const scheduledBy = new Map<string, string>();
    const seen = new Set<object>();
    for (const wrapper of [...this.discovery.getProviders(), ...this.discovery.getControllers()]) {
      const instance = wrapper.instance as Record<string, unknown> | undefined;
      if (!instance || typeof instance !== 'object' || wrapper.isAlias || seen.has(instance)) continue;
      seen.add(instance);
      for (const methodName of this.scanner.getAllMethodNames(Object.getPrototypeOf(instance) as object | null)) {
        const method = instance[methodName];
        if (typeof method !== 'function') continue;
        const metadata = this.accessor.getTask(instance.constructor as abstract new () => unknown, method as Method);
        const entries = this.accessor.getSchedules(method as Method);
        const source = `${instance.constructor.name}.${methodName}`;
        if (!metadata) {
          if (entries.length) throw new Error(`@CelerySchedule('${entries[0].name}') on ${source}: the method is no task; decorate it with @CeleryTask too`);
          continue;
        }
        if (!this.isStatic(wrapper, source)) continue;
        for (const { name, ...entry } of entries) {
          const first = scheduledBy.get(name);
          if (first) throw new Error(`@CelerySchedule('${name}') is declared twice: on ${first} and on ${source}; beat entry names must be unique`);
          scheduledBy.set(name, source);
          schedules[name] = { ...entry, task: metadata.name };
        }
        bindings.push({
          name: metadata.name,
          options: metadata.options,
          source,
          ...(metadata.contract ? { contract: metadata.contract } : {}),
          invoke: this.createInvoker(instance, methodName, method as Method, metadata.name),
        });
      }
    }
    return { bindings, schedules };
  }

  private isStatic(wrapper: InstanceWrapper, source: string): boolean {
    if (wrapper.isDependencyTreeStatic()) return true;
    this.logger.warn(`@CeleryTask ${source} is skipped: its provider is request-scoped (or depends on one); make it a singleton`);
    return false;
  }

  private createInvoker(instance: object, methodName: string, method: Method, task: string): CeleryInvoker {
    const decorated = Object.keys((Reflect.getMetadata(ROUTE_ARGS_METADATA, instance.constructor, methodName) as object | undefined) ?? {}).length > 0;
    const callback = decorated ? passThrough(method) : positional(method, task);
    copyMetadata(method, callback);
    return this.contextCreator.create(
      instance,
      callback,
      methodName,
      ROUTE_ARGS_METADATA,
      this.paramsFactory,
      undefined,
      undefined,
      { guards: true, interceptors: true, filters: this.hasExceptionFilters(instance, method) },
      CELERY_CONTEXT_TYPE,
    );
  }

  /**
   * Nest's exception handling only when some filter could catch (the method's, its class's, a
   * global one): its fallback logs every error ("ExceptionsHandler"), a second line beside the
   * worker's own failure line with the traceback.
   */
  private hasExceptionFilters(instance: object, method: Method): boolean {
    const declared = (target: object) => ((Reflect.getMetadata(EXCEPTION_FILTERS_METADATA, target) as unknown[] | undefined)?.length ?? 0) > 0;
    const global = this.appConfig ? this.appConfig.getGlobalFilters().length + this.appConfig.getGlobalRequestFilters().length : 1;
    return declared(method) || declared(instance.constructor) || global > 0;
  }
}

/** An Observable that completes empty stores null, as the engine does (Nest would throw EmptyError). */
const emptyAsNull = (value: unknown) => (isObservable(value) ? value.pipe(defaultIfEmpty(null)) : value);

/** Methods with parameter decorators get what the decorators resolve. */
function passThrough(method: Method): Method {
  return function (this: unknown, ...params: unknown[]) {
    return emptyAsNull(method.apply(this, params));
  };
}

/**
 * The default mapping, for methods without parameter decorators: Celery's positional args
 * spread (`add.delay(2, 3)` → `add(2, 3)`). Keywords reach such a method only through declared
 * `params` (the engine binds them by name first, `'**kwargs'` collects the rest as an object);
 * without names they cannot be placed, so the call fails as Python's would rather than run on a
 * kwargs object where a value belongs (`add(x={..}, y=undefined)` would be a wrong SUCCESS).
 */
function positional(method: Method, task: string): Method {
  return function (this: unknown, payload: unknown) {
    const { args, kwargs } = payload as CeleryPayload;
    const keys = Object.keys(kwargs);
    if (keys.length > 0) throw unexpectedKeywords(task, keys);
    return emptyAsNull(method.apply(this, args));
  };
}

/**
 * Python's "unexpected keyword argument" TypeError (CPython names the first one only), plus how to
 * make the task take keywords.
 */
function unexpectedKeywords(task: string, keys: string[]): PyTypeError {
  const func = pythonFuncName(task);
  return new PyTypeError(
    `${func}() got an unexpected keyword argument '${keys[0]}': task "${task}" declares no parameter names, so keywords cannot be bound; ` +
      `declare them with params in @CeleryTask / defineTask options (e.g. params: ['x', 'y'], or '**kwargs' for an object), or read them with @Kwargs()`,
  );
}

/**
 * Guards, interceptors, pipes, filters and `Reflector` lookups read metadata from the handler
 * Nest is given; the adapter carries the method's own, under the method's name.
 */
function copyMetadata(from: Method, to: Method): void {
  for (const key of Reflect.getOwnMetadataKeys(from)) Reflect.defineMetadata(key, Reflect.getOwnMetadata(key, from), to);
  Object.defineProperty(to, 'name', { value: from.name });
}
