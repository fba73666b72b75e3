"""Send tasks with real Python Celery and watch every state their results go through.

stdin: a JSON list of calls [{"task": name, "args": [...], "kwargs": {...}, "options": {...}}]
stdout: a JSON list, in call order, of
  {"id", "states": [distinct states in the order seen], "state", "result"} or, when .get() raised,
  {"id", "states", "state", "exc_type", "exc_module", "exc_args", "meta": stored result fields}.
States are polled (every 20 ms) from the result backend, so a state that lasts less than that can
be missed; the suites keep RETRY around for hundreds of milliseconds.
"""
import json
import sys
import time

from interop_app import app


def plain(value):
    return value if isinstance(value, (str, int, float, bool, type(None), list, dict)) else repr(value)


def main():
    calls = json.load(sys.stdin)
    timeout = float(sys.argv[1]) if len(sys.argv) > 1 else 30.0
    sent = [
        app.send_task(c["task"], args=c.get("args", []), kwargs=c.get("kwargs", {}), **c.get("options", {}))
        for c in calls
    ]
    seen = {r.id: [] for r in sent}
    deadline = time.monotonic() + timeout
    pending = list(sent)
    while pending and time.monotonic() < deadline:
        for r in list(pending):
            meta = app.backend.get_task_meta(r.id, cache=False)
            state = meta["status"]
            if not seen[r.id] or seen[r.id][-1] != state:
                seen[r.id].append(state)
            if state in ("SUCCESS", "FAILURE", "REVOKED"):
                pending.remove(r)
        time.sleep(0.02)
    out = []
    for r in sent:
        entry = {"id": r.id, "states": seen[r.id]}
        try:
            value = r.get(timeout=1)
            entry.update(state=r.state, result=value)
        except Exception as exc:
            meta = app.backend.get_task_meta(r.id, cache=False)
            entry.update(
                state=r.state,
                exc_type=type(exc).__name__,
                exc_module=type(exc).__module__,
                exc_args=[plain(a) for a in exc.args],
                meta={k: plain(meta.get(k)) for k in ("status", "result", "traceback")},
            )
        out.append(entry)
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
