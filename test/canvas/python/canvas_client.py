"""Apply canvas with real Python Celery and report what Python sees of the results.

stdin: {"scenarios": [{"canvas": D, "args": [...], "timeout": s}], "wait": true}
stdout: one outcome per scenario, in order:
  {"id", "kind": "task"|"group", "ok": bool, "value" | "exc_type","exc_module","exc_args",
   "parents": [{"id", "kind", "state", "members"?: [ids]} ...]}
The value is the canvas's own (`get(follow_parents=False)`): Celery's default `get()` raises a
failed parent's exception first when it sees it, which makes a chord body's ChordError a race.
All canvases are applied first, then awaited.
"""
import json
import sys

from celery.result import GroupResult

from canvas_build import build
from interop_app import app


def describe_exc(exc):
    return {
        "exc_type": type(exc).__name__,
        "exc_module": type(exc).__module__,
        "exc_args": [a if isinstance(a, (str, int, float, bool, type(None), list, dict)) else repr(a) for a in exc.args],
    }


def node(r, timeout):
    if isinstance(r, GroupResult):
        return {"id": r.id, "kind": "group", "members": [m.id for m in r.results]}
    # a step's successor may finish before the step's own state is stored (Celery sends the next
    # step first), so wait for it
    r.get(timeout=timeout, propagate=False, follow_parents=False)
    return {"id": r.id, "kind": "task", "state": r.state}


def main():
    spec = json.load(sys.stdin)
    applied = [build(s["canvas"], app).apply_async(tuple(s.get("args", []))) for s in spec["scenarios"]]
    out = []
    for s, res in zip(spec["scenarios"], applied):
        entry = {"id": res.id, "kind": "group" if isinstance(res, GroupResult) else "task"}
        if isinstance(res, GroupResult):
            entry["members"] = [m.id for m in res.results]
        try:
            # the canvas's own outcome: Celery's default get() would raise a failed parent's error first
            kwargs = {} if isinstance(res, GroupResult) else {"follow_parents": False}
            entry["value"] = res.get(timeout=s.get("timeout", 30), **kwargs)
            entry["ok"] = True
        except Exception as exc:  # the reconstructed remote exception is what the suites assert on
            entry["ok"] = False
            entry.update(describe_exc(exc))
        parents, p = [], res.parent
        while p is not None:
            parents.append(node(p, s.get("timeout", 30)))
            p = p.parent
        entry["parents"] = parents
        out.append(entry)
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
