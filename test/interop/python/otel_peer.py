"""Tracing for the Python peer: a TracerProvider with an in-memory exporter, and the trace-context
propagation of opentelemetry-instrumentation-celery reproduced on Celery's signals (Debian has no
package of that instrumentation), so the tracing interop test checks our side against its format:

  before_task_publish  PRODUCER span "apply_async/<task>" as a child of the current span, made current,
                       and the W3C context (traceparent, tracestate) injected into the message's own
                       headers dict, the kwarg `headers` of the signal (protocol 2: the message headers)
  after_task_publish   that span ends
  task_prerun          context extracted from the task's request, whose attributes are the message
                       headers, and a CONSUMER span "run/<task>" started under it and made current
  task_postrun         that span ends

Every finished span is appended to the JSON-lines file named by INTEROP_OTEL_SPANS (the worker is
another process), and kept by the in-memory exporter for a client in this process.
"""
import json
import os

from celery import signals
from opentelemetry import context, trace
from opentelemetry.propagate import extract, inject
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

exporter = InMemorySpanExporter()


def span_record(span):
    parent = span.parent
    return {
        "name": span.name,
        "kind": span.kind.name,
        "trace_id": format(span.context.trace_id, "032x"),
        "span_id": format(span.context.span_id, "016x"),
        "parent_span_id": format(parent.span_id, "016x") if parent else None,
        "attributes": dict(span.attributes or {}),
    }


class JsonLinesProcessor(SpanProcessor):
    """Appends each finished span to a file the test reads."""

    def __init__(self, path):
        self.path = path

    def on_end(self, span):
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(span_record(span), default=str) + "\n")


provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(exporter))
if os.environ.get("INTEROP_OTEL_SPANS"):
    provider.add_span_processor(JsonLinesProcessor(os.environ["INTEROP_OTEL_SPANS"]))
trace.set_tracer_provider(provider)
tracer = trace.get_tracer("interop.otel_peer")


class RequestGetter:
    """The instrumentation's getter: a carrier attribute, as a list of values."""

    def get(self, carrier, key):
        value = getattr(carrier, key, None)
        if value is None:
            return None
        return [value] if isinstance(value, str) else list(value)

    def keys(self, carrier):
        return []


_open = {}  # (task id, is_publish) → (span, context token)


@signals.before_task_publish.connect(weak=False)
def _before_publish(sender=None, headers=None, body=None, **kwargs):
    task_id = (headers or {}).get("id") or (body or {}).get("id")
    span = tracer.start_span(f"apply_async/{sender}", kind=SpanKind.PRODUCER)
    span.set_attribute("celery.action", "apply_async")
    span.set_attribute("celery.task_name", str(sender))
    span.set_attribute("messaging.message.id", str(task_id))
    token = context.attach(trace.set_span_in_context(span))
    _open[(task_id, True)] = (span, token)
    if headers:
        inject(headers)


@signals.after_task_publish.connect(weak=False)
def _after_publish(sender=None, headers=None, body=None, **kwargs):
    task_id = (headers or {}).get("id") or (body or {}).get("id")
    span, token = _open.pop((task_id, True), (None, None))
    if span is not None:
        context.detach(token)
        span.end()


@signals.task_prerun.connect(weak=False)
def _prerun(task_id=None, task=None, **kwargs):
    parent = extract(task.request, getter=RequestGetter())
    span = tracer.start_span(f"run/{task.name}", context=parent, kind=SpanKind.CONSUMER)
    span.set_attribute("celery.action", "run")
    span.set_attribute("celery.task_name", task.name)
    span.set_attribute("messaging.message.id", task_id)
    token = context.attach(trace.set_span_in_context(span))
    _open[(task_id, False)] = (span, token)


@signals.task_postrun.connect(weak=False)
def _postrun(task_id=None, state=None, **kwargs):
    span, token = _open.pop((task_id, False), (None, None))
    if span is not None:
        span.set_attribute("celery.state", str(state))
        context.detach(token)
        span.end()
