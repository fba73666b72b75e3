"""Publish the tasks of the many-workers scale suite (test/faults/scale.spec.ts) with Python Celery.

stdin: {"n": int, "prefix": str, "runs_key": str, "ms": int}
Sends scale.run(i, runs_key, ms) with task id "<prefix>-<i>" for i in 0..n-1, from one producer
(app.send_task, as a Celery client does), and does not wait for results: the suite reads them.
stdout: {"published": n, "seconds": time spent publishing}
"""
import json
import sys
import time

from interop_app import app


def main():
    req = json.load(sys.stdin)
    t0 = time.monotonic()
    with app.producer_or_acquire() as producer:
        for i in range(req["n"]):
            app.send_task("scale.run", args=[i, req["runs_key"], req["ms"]], task_id=f"{req['prefix']}-{i}", producer=producer)
    print(json.dumps({"published": req["n"], "seconds": time.monotonic() - t0}))


if __name__ == "__main__":
    main()
