// OpenTelemetry for tests: an in-memory span exporter behind a tracer provider, with the
// AsyncLocalStorage context manager and the W3C propagator installed globally (as an app's SDK would).
import { context, propagation, type TracerProvider } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';

export interface TestTracing {
  provider: TracerProvider;
  exporter: InMemorySpanExporter;
  spans(): ReadableSpan[];
  /** the parent span id of a finished span ('' for a root) */
  parentOf(span: ReadableSpan): string;
  shutdown(): Promise<void>;
}

let installed = false;

export function testTracing(): TestTracing {
  if (!installed) {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    installed = true;
  }
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  return {
    provider,
    exporter,
    spans: () => exporter.getFinishedSpans(),
    parentOf: (span) => span.parentSpanContext?.spanId ?? '',
    shutdown: () => provider.shutdown(),
  };
}
