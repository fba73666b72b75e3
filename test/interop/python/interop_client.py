"""Send tasks with real Python Celery and print what the results look like from Python.

stdin: a JSON list of calls [{"task": name, "args": [...], "kwargs": {...}, "options": {...}}]
stdout: one JSON document: a list of outcomes in the same order:
  {"id", "state", "result"} on success, or
  {"id", "state", "exc_type", "exc_module", "exc_args", "traceback"} when .get() raised.
All calls are sent first, then awaited, so a worker sees them together.
"""
import json
import sys
import traceback as tb

from interop_app import app


def main():
    calls = json.load(sys.stdin)
    timeout = float(sys.argv[1]) if len(sys.argv) > 1 else 30.0
    sent = [
        app.send_task(c["task"], args=c.get("args", []), kwargs=c.get("kwargs", {}), **c.get("options", {}))
        for c in calls
    ]
    out = []
    for r in sent:
        try:
            value = r.get(timeout=timeout)
            out.append({"id": r.id, "state": r.state, "result": value})
        except Exception as exc:  # the reconstructed remote exception is what we assert on
            out.append({
                "id": r.id,
                "state": r.state,
                "exc_type": type(exc).__name__,
                "exc_module": type(exc).__module__,
                "exc_args": [a if isinstance(a, (str, int, float, bool, type(None), list, dict)) else repr(a) for a in exc.args],
                "exc_is_value_error": isinstance(exc, ValueError),
                "traceback": r.traceback,
                "local_traceback": tb.format_exc(),
            })
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
