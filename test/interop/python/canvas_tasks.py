"""Python tasks and a result backend for the canvas interop suites (test/canvas/).

A Python worker gets these tasks with `--include canvas_tasks` (interop_app.py is not edited).

UnlockBackend: Redis storage, but chords handled the way Celery handles them on backends
without native chord support (database, filesystem, ...): the client sends
`celery.chord_unlock` (celery/backends/base.py fallback_chord_unlock) and no `.s`/`.j` keys are
used. Celery's rpc:// backend refuses chords altogether, so this is how a Python client's
chord_unlock messages are produced for our worker. Select it with the backend URL
`canvas_tasks:UnlockBackend+redis://host:port/db`.
"""
import json
import os

import redis as redis_client
from celery.backends.base import Backend
from celery.backends.redis import RedisBackend

from interop_app import app

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
_redis = None


def _r():
    global _redis
    if _redis is None:
        _redis = redis_client.Redis.from_url(REDIS_URL)
    return _redis


@app.task(name="py.mul")
def mul(x, y):
    return x * y


@app.task(name="py.tsum")
def tsum(values):
    return sum(values)


@app.task(name="py.double")
def double(x):
    return x * 2


@app.task(name="py.record")
def record(*args):
    """A link callback: stores its args under its last argument (a marker chosen by the test)."""
    _r().setex("canvas-record:" + str(args[-1]), 600, json.dumps({"by": "python", "args": list(args)}))
    return list(args)


@app.task(name="py.errback")
def errback(task_id):
    """An old-style errback: records which task failed.

    It takes exactly one argument on purpose: a Python worker calls a locally registered errback
    that accepts more (`*args` included) in-process as `(request, exc, traceback)` instead of
    sending it (celery/backends/base.py `_call_task_errbacks`).
    """
    _r().setex("canvas-errback:" + str(task_id), 600, json.dumps({"by": "python", "args": [task_id]}))
    return task_id


class UnlockBackend(RedisBackend):
    """Redis results, non-native chords (celery.chord_unlock), as Celery's other backends do."""

    def apply_chord(self, header_result_args, body, **kwargs):
        return Backend.apply_chord(self, header_result_args, body, **kwargs)

    def on_chord_part_return(self, request, state, result, **kwargs):
        pass

    def set_chord_size(self, group_id, chord_size):
        pass
