"""The Python Celery 5.2 side of `npm run bench`: one trivial task, configured from the environment.

  BENCH_BROKER   broker URL (amqp://… or redis://…)
  BENCH_BACKEND  result backend URL (redis://…)
  BENCH_QUEUE    the queue its worker consumes and its client sends to
  BENCH_CONFIRM_PUBLISH=1  publisher confirms on RabbitMQ (broker_transport_options
                 confirm_publish; Celery's default is off)
Everything else is Celery's default (worker prefetch multiplier 4, log level WARNING), so the
figures are what a user of `celery worker -P solo` and `task.delay()` gets out of the box.
"""
import os

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
if os.environ.get("BENCH_CONFIRM_PUBLISH") == "1":
    app.conf.broker_transport_options = {"confirm_publish": True}


@app.task(name="bench.add")
def add(x, y):
    return x + y
