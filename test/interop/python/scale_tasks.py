"""The task of the many-workers scale suite (test/faults/scale.spec.ts), Python's side.

Loaded with `celery worker --include scale_tasks`. Our workers register the same task
(test/faults/scale-worker-child.mjs), so either kind may run any message of the shared queue.
"""
import time

import redis

from interop_app import app

_runs = None


@app.task(name="scale.run", bind=True)
def run(self, i, runs_key, ms):
    """Count this run in the hash `runs_key` (task id -> runs), take `ms` ms, say who ran it."""
    global _runs
    if _runs is None:
        _runs = redis.Redis.from_url(app.conf.result_backend)
    _runs.hincrby(runs_key, self.request.id, 1)
    time.sleep(ms / 1000)
    return {"value": 2 * i, "worker": self.request.hostname}
