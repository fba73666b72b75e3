"""Send real Python Celery messages that are over the worker's bounds (issue 12), then a normal one.

stdin: ignored (an empty JSON list). stdout: a JSON object {case: {"state", "exc_type", "exc_module"}}
for the cases: zlib_bomb (a 20 MiB argument, zlib-compressed to ~20 KB), yaml_bomb (a shared
structure PyYAML writes with anchors: 10^9 strings once expanded, a few hundred bytes), long_name
(a 20,000-character task name) and ok.
"""
import json
import sys

from interop_app import app


def laughs(levels=9):
    value = ["lol"] * 10
    for _ in range(levels - 1):
        value = [value] * 10  # the same list ten times: PyYAML writes &id/*id aliases
    return value


def main():
    json.load(sys.stdin)
    sent = {
        "zlib_bomb": app.send_task("node.ok", args=["x" * (20 << 20)], compression="zlib"),
        "yaml_bomb": app.send_task("node.ok", args=[laughs()], serializer="yaml"),
        "long_name": app.send_task("n" * 20000),
        "ok": app.send_task("node.ok", args=["fine"]),
    }
    out = {}
    for case, result in sent.items():
        result.get(timeout=60, propagate=False)
        meta = app.backend.get_task_meta(result.id, cache=False)
        value = meta.get("result")
        failed = isinstance(value, BaseException)
        out[case] = {
            "state": meta["status"],
            "result": None if failed else value,
            # the backend already turned the stored exception into a Python exception
            "exc_type": type(value).__name__ if failed else None,
            "exc_module": type(value).__module__ if failed else None,
            "message": str(value)[:500] if failed else None,
        }
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
