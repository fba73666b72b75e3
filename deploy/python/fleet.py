"""The Python side of the mixed fleet (docker-compose.yml): a Celery app whose worker runs the same
tasks as the Nest example worker (apps/worker: tasks.add, tasks.mul, tasks.xsum, same names, same
parameters, same results), so either worker can take a message from the queue both consume.

Environment, under the names the Nest apps read:
  CELERY_BROKER_URL      amqp://… or redis://… (default amqp://guest:guest@rabbitmq:5672//)
  CELERY_RESULT_BACKEND  redis://… (default redis://redis:6379/0)
  CELERY_QUEUES          queues this worker consumes, comma-separated (default celery,python)

Run: celery -A fleet worker --hostname=python@%h --task-events
"""
import os

from celery import Celery
from kombu import Queue

app = Celery(
    "fleet",
    broker=os.environ.get("CELERY_BROKER_URL", "amqp://guest:guest@rabbitmq:5672//"),
    backend=os.environ.get("CELERY_RESULT_BACKEND", "redis://redis:6379/0"),
)
queues = [q.strip() for q in os.environ.get("CELERY_QUEUES", "celery,python").split(",") if q.strip()]
app.conf.update(
    task_queues=[Queue(q, routing_key=q) for q in queues],
    task_default_queue=queues[0],
    accept_content=["json"],
    result_accept_content=["json"],
    broker_connection_retry_on_startup=True,
    worker_prefetch_multiplier=1,
)


@app.task(name="tasks.add")
def add(x, y):
    return x + y


@app.task(name="tasks.mul")
def mul(x, y):
    return x * y


@app.task(name="tasks.xsum")
def xsum(numbers):
    return sum(numbers)
