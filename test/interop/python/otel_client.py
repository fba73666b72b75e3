"""Send one task from Python inside a span, as an app traced with opentelemetry-instrumentation-celery would.

stdin: {"task": name, "args": [...], "wait": seconds or 0}
stdout: {"id", "result", "root": {trace_id, span_id}, "spans": [finished spans of this process]}
Needs INTEROP_OTEL_SPANS (interop_app.py then loads otel_peer.py).
"""
import json
import sys

from interop_app import app
from otel_peer import exporter, span_record, tracer


def main():
    call = json.load(sys.stdin)
    with tracer.start_as_current_span("py.request") as root:
        sent = app.send_task(call["task"], args=call.get("args", []))
    ctx = root.get_span_context()
    result = sent.get(timeout=call["wait"]) if call.get("wait") else None
    json.dump({
        "id": sent.id,
        "result": result,
        "root": {"trace_id": format(ctx.trace_id, "032x"), "span_id": format(ctx.span_id, "016x")},
        "spans": [span_record(s) for s in exporter.get_finished_spans()],
    }, sys.stdout, default=str)


if __name__ == "__main__":
    main()
