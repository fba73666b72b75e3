"""The Python Celery 5.2 side of `npm run bench`: one trivial task, configured from the environment.

  BENCH_BROKER   broker URL (amqp://… or redis://…)
  BENCH_BACKEND  result backend URL (redis://…)
  BENCH_QUEUE    the queue its worker consumes and its client sends to
  BENCH_CONFIRM_PUBLISH=1  publisher confirms on RabbitMQ (broker_transport_options
                 confirm_publish; Celery's default is off)
  BENCH_QUEUE_TYPE=quorum  task_default_queue_type (and the missing-queue type) quorum
                 (Celery 5.5+)
  BENCH_EXCLUSIVE_QUEUES=1  control/event queues exclusive (Celery 5.6), as RabbitMQ 4.3
                 denies transient non-exclusive queues
Everything else is Celery's default (worker prefetch multiplier 4, log level WARNING), so the
figures are what a user of `celery worker -P solo` and `task.delay()` gets out of the box.
"""
import hashlib
import os
import time

from celery import Celery

app = Celery(
    "bench",
    broker=os.environ["BENCH_BROKER"],
    backend=os.environ["BENCH_BACKEND"],
)
app.conf.update(
    task_default_queue=os.environ.get("BENCH_QUEUE", "celery"),
    accept_content=["json"],
    result_accept_content=["json"],
    worker_hijack_root_logger=False,
    broker_connection_retry_on_startup=True,
    # the bench deletes its result keys itself; this is only a safety net
    result_expires=3600,
)
if os.environ.get("BENCH_QUEUE_TYPE"):
    app.conf.task_default_queue_type = os.environ["BENCH_QUEUE_TYPE"]
    app.conf.task_create_missing_queue_type = os.environ["BENCH_QUEUE_TYPE"]
if os.environ.get("BENCH_EXCLUSIVE_QUEUES") == "1":
    app.conf.control_queue_exclusive = True
    app.conf.event_queue_exclusive = True
if os.environ.get("BENCH_CONFIRM_PUBLISH") == "1":
    app.conf.broker_transport_options = {"confirm_publish": True}


@app.task(name="bench.add")
def add(x, y):
    return x + y


# 1 MiB of fixed bytes, as bench/children/bench-tasks.ts: a fixed amount of CPU work per task
BLOCK = b"\x5a" * (1024 * 1024)


@app.task(name="bench.hash")
def hash_(x, y, mib):
    h = hashlib.sha256()
    for _ in range(mib):
        h.update(BLOCK)
    h.digest()
    return x + y


@app.task(name="bench.sleep")
def sleep(x, y, ms):
    time.sleep(ms / 1000.0)
    return x + y
