// OpenTelemetry tracing through @opentelemetry/api only (the app brings the SDK): a producer span per
// publish and a consumer span per task run, context in the message headers as Python's Celery instrumentation.
import type { Context, Span, Tracer, TracerProvider } from '@opentelemetry/api';
import type { ExceptionInfo } from '../../protocol/exceptions.js';
import { pythonRepr } from '../../protocol/python-repr.js';
import { loadDriver } from '../../transport/driver-loader.js';
import type { PublishedTask, ReceivedTask, RevokedReason, TaskSignalObserver } from './task-signals.js';

/** `tracing` of CeleryOptions: true for the global tracer provider, or the provider to use. */
export interface TracingOptions {
  /** default: the one registered globally (`trace.setGlobalTracerProvider`, an SDK's `register()`) */
  tracerProvider?: TracerProvider;
}

export const TRACER_NAME = 'nestjs-celery';

/**
 * Span names and attributes follow opentelemetry-instrumentation-celery, so traces read the same
 * on both sides: `apply_async/<task>` (PRODUCER) and `run/<task>` (CONSUMER), celery.action,
 * celery.task_name, messaging.message.id; plus the current messaging conventions
 * (messaging.system, messaging.operation.type, messaging.destination.name).
 */
export const SpanAttr = {
  action: 'celery.action',
  taskName: 'celery.task_name',
  hostname: 'celery.hostname',
  retries: 'celery.retries',
  state: 'celery.state',
  retryReason: 'celery.retry.reason',
  revokedReason: 'celery.revoked.reason',
  messageId: 'messaging.message.id',
  conversationId: 'messaging.message.conversation_id',
  /** the routing key, as the Python instrumentation names it (the older convention) */
  destination: 'messaging.destination',
  destinationName: 'messaging.destination.name',
  system: 'messaging.system',
  operationType: 'messaging.operation.type',
} as const;

/** The tracing observer of one app. */
export class TracingObserver implements TaskSignalObserver {
  private readonly api = loadDriver('@opentelemetry/api');
  private readonly tracer: Tracer;
  private readonly spans = new WeakMap<ReceivedTask['request'], { span: Span; context: Context }>();

  constructor(
    options: TracingOptions,
    /** messaging.system: the broker's kind ('rabbitmq', 'redis', …) */
    private readonly system: string,
  ) {
    this.tracer = (options.tracerProvider ?? this.api.trace.getTracerProvider()).getTracer(TRACER_NAME);
  }

  /** The producer span, active while the message is published; its context goes into the headers (W3C traceparent …). */
  beforeTaskPublish(task: PublishedTask): (error?: unknown) => void {
    const { trace, context, propagation, SpanKind, SpanStatusCode } = this.api;
    const span = this.tracer.startSpan(`apply_async/${task.task}`, {
      kind: SpanKind.PRODUCER,
      attributes: {
        [SpanAttr.action]: 'apply_async',
        [SpanAttr.taskName]: task.task,
        [SpanAttr.messageId]: task.id,
        [SpanAttr.destination]: task.routingKey,
        [SpanAttr.destinationName]: task.queue,
        [SpanAttr.system]: this.system,
        [SpanAttr.operationType]: 'send',
      },
    });
    // the same place Python's instrumentation injects: the task message's own headers
    propagation.inject(trace.setSpan(context.active(), span), task.headers);
    return (error) => {
      if (error !== undefined) {
        span.recordException(error as Error);
        span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : pythonRepr(error) });
      }
      span.end();
    };
  }

  /** The consumer span, child of the context the message's headers carry. */
  taskPrerun(task: ReceivedTask): void {
    const { trace, propagation, ROOT_CONTEXT, SpanKind } = this.api;
    const { request } = task;
    const parent = propagation.extract(ROOT_CONTEXT, request.headers, headerGetter);
    const span = this.tracer.startSpan(
      `run/${request.name}`,
      {
        kind: SpanKind.CONSUMER,
        attributes: {
          [SpanAttr.action]: 'run',
          [SpanAttr.taskName]: request.name,
          [SpanAttr.messageId]: request.id,
          [SpanAttr.conversationId]: request.correlationId,
          [SpanAttr.destination]: task.routingKey,
          [SpanAttr.destinationName]: task.queue,
          [SpanAttr.hostname]: task.hostname,
          [SpanAttr.system]: this.system,
          [SpanAttr.operationType]: 'process',
          ...(request.retries ? { [SpanAttr.retries]: request.retries } : {}),
        },
      },
      parent,
    );
    this.spans.set(request, { span, context: trace.setSpan(parent, span) });
  }

  wrapRun<T>(task: ReceivedTask, run: () => Promise<T>): Promise<T> {
    const entry = this.spans.get(task.request);
    return entry ? this.api.context.with(entry.context, run) : run();
  }

  taskFailure(task: ReceivedTask, exception: ExceptionInfo | null): void {
    const span = this.spans.get(task.request)?.span;
    if (!span) return;
    const description = exception ? describe(exception) : 'failed';
    span.recordException({ name: exception?.exc_type ?? 'Error', message: description });
    span.setStatus({ code: this.api.SpanStatusCode.ERROR, message: description });
  }

  taskRetry(task: ReceivedTask, reason: ExceptionInfo | null): void {
    this.spans.get(task.request)?.span.setAttribute(SpanAttr.retryReason, reason ? describe(reason) : 'retry');
  }

  taskRevoked(task: ReceivedTask, reason: RevokedReason): void {
    this.spans.get(task.request)?.span.setAttribute(SpanAttr.revokedReason, reason);
  }

  taskPostrun(task: ReceivedTask, state: string | null): void {
    const entry = this.spans.get(task.request);
    if (!entry) return;
    this.spans.delete(task.request);
    if (state) entry.span.setAttribute(SpanAttr.state, state);
    entry.span.end();
  }
}

/** Python's getter reads the request's attributes, which are the message headers; a list gives its values. */
const headerGetter = {
  get(carrier: Record<string, unknown>, key: string): string | string[] | undefined {
    const value = carrier[key];
    if (typeof value === 'string') return value;
    if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
    return undefined;
  },
  keys(carrier: Record<string, unknown>): string[] {
    return Object.keys(carrier);
  },
};

function describe(exception: ExceptionInfo): string {
  const message = Array.isArray(exception.exc_message) ? exception.exc_message.map(String).join(', ') : String(exception.exc_message ?? '');
  return `${exception.exc_type}(${message})`;
}
