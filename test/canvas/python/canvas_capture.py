"""Publish canvas with real Python Celery and no worker, so the suites can read the messages.

stdin: {"redis": url, "scenarios": [{"queue": q, "canvas": D, "args": [...], "backend": "redis"|"unlock"}]}
Each scenario gets its own app whose default queue is `queue`; every message stays in the Redis
list of its queue. stdout: the result id of each scenario.
"""
import json
import sys

from celery import Celery

from canvas_build import build


def main():
    spec = json.load(sys.stdin)
    out = []
    for s in spec["scenarios"]:
        backend = spec["redis"] if s.get("backend", "redis") == "redis" else "canvas_tasks:UnlockBackend+" + spec["redis"]
        app = Celery("capture", broker=spec["redis"], backend=backend, set_as_current=False)
        app.conf.update(task_default_queue=s["queue"], result_expires=3600)
        res = build(s["canvas"], app).apply_async(tuple(s.get("args", [])))
        out.append(res.id if res is not None else None)
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
