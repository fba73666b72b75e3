"""A Python Celery 5.2 app used as the interop peer of the test suites.

Configured from the environment so one file serves every broker/backend pair:
  INTEROP_BROKER   broker URL (amqp://… or redis://…)
  INTEROP_BACKEND  result backend URL (redis://… or rpc://)
  INTEROP_QUEUE    the queue its worker consumes and its client sends to
  INTEROP_PROTOCOL task message protocol the client sends (2 by default, 1 for the v1 tests)
  INTEROP_EXCLUSIVE_QUEUES=1  control (pidbox) and event queues exclusive: the settings Celery 5.6
                   added for RabbitMQ 4.3, which denies transient non-exclusive queues (older
                   Celery versions ignore unknown settings)
  INTEROP_BROKER_USE_SSL  optional JSON dict for broker_use_ssl (py-amqp's ca_certs, certfile,
                   keyfile, cert_reqs as "required"/"none" …); rediss:// URLs carry ssl_* instead
  INTEROP_RESULT_BACKEND_TRANSPORT_OPTIONS  optional JSON dict (global_keyprefix … on Celery >= 5.3)
  INTEROP_TASK_ROUTES  optional task_routes as JSON (see task_routes_from_json)
  INTEROP_ACCEPT_CONTENT  optional comma-separated accept_content (json by default), e.g. json,msgpack
  INTEROP_OTEL_SPANS  optional file: OpenTelemetry tracing on (otel_peer.py), finished spans appended to it
"""
import json
import os
import ssl

from celery import Celery

import celery as _celery

# Celery 5.6.3 (Debian sid's) takes the RPC result consumer's 1 s polling timeout for a lost
# connection and reconnects on every idle second, cancelling its consumer, so the auto-delete
# reply queue is deleted and declared again each time: a reply that arrives in that gap is dropped
# and the client waits forever (celery/celery#10284; fixed upstream by #10285, after 5.6.3).
# The peer runs with that fix, so a reply lost between our worker and a Python client is never
# this bug of Python's.
if _celery.__version__ == "5.6.3":
    import contextlib
    import socket

    from celery.backends.asynchronous import BaseResultConsumer

    @contextlib.contextmanager
    def _reconnect_on_connection_errors_only(self):
        try:
            yield
        except socket.timeout:
            raise  # a polling timeout, for the caller to handle
        except self._connection_errors:
            self._reconnect()

    BaseResultConsumer.reconnect_on_error = _reconnect_on_connection_errors_only

app = Celery(
    "interop",
    broker=os.environ.get("INTEROP_BROKER", "redis://127.0.0.1:6379/0"),
    backend=os.environ.get("INTEROP_BACKEND", "redis://127.0.0.1:6379/0"),
)
app.conf.update(
    task_default_queue=os.environ.get("INTEROP_QUEUE", "celery"),
    task_protocol=int(os.environ.get("INTEROP_PROTOCOL", "2")),
    # INTEROP_ACCEPT_CONTENT: comma-separated content types the worker accepts (json by default)
    accept_content=os.environ.get("INTEROP_ACCEPT_CONTENT", "json").split(","),
    result_accept_content=["json"],
    worker_hijack_root_logger=False,
    broker_connection_retry_on_startup=True,
    result_expires=3600,
)
if os.environ.get("INTEROP_BROKER_USE_SSL"):
    _ssl = json.loads(os.environ["INTEROP_BROKER_USE_SSL"])
    if "cert_reqs" in _ssl:
        _ssl["cert_reqs"] = {"required": ssl.CERT_REQUIRED, "none": ssl.CERT_NONE}[_ssl["cert_reqs"]]
    app.conf.broker_use_ssl = _ssl
# clusters: INTEROP_BROKER_TRANSPORT_OPTIONS (e.g. {"master_name": "mymaster"} for sentinel:// URLs)
# and INTEROP_BROKER_FAILOVER_STRATEGY (round-robin, shuffle) for ;-separated amqp:// lists
if os.environ.get("INTEROP_BROKER_TRANSPORT_OPTIONS"):
    app.conf.broker_transport_options = json.loads(os.environ["INTEROP_BROKER_TRANSPORT_OPTIONS"])
if os.environ.get("INTEROP_BROKER_FAILOVER_STRATEGY"):
    app.conf.broker_failover_strategy = os.environ["INTEROP_BROKER_FAILOVER_STRATEGY"]
if os.environ.get("INTEROP_RESULT_BACKEND_TRANSPORT_OPTIONS"):
    app.conf.result_backend_transport_options = json.loads(os.environ["INTEROP_RESULT_BACKEND_TRANSPORT_OPTIONS"])


def task_routes_from_json(spec):
    """task_routes from JSON: a list of routers, each {"map": {name or glob: route}} or
    {"pairs": [[name, glob or {"re": pattern}, route], ...]} (a regex compiled with re.compile)
    or {"urgent_kwarg": route} (a router function: that route when kwargs["urgent"] is true)."""
    import re

    routers = []
    for router in spec:
        if "map" in router:
            routers.append(router["map"])
        elif "pairs" in router:
            routers.append([(re.compile(k["re"]) if isinstance(k, dict) else k, v) for k, v in router["pairs"]])
        else:
            urgent = router["urgent_kwarg"]
            routers.append(lambda name, args, kwargs, options, task=None, **kw: urgent if kwargs.get("urgent") else None)
    return routers


if os.environ.get("INTEROP_TASK_ROUTES"):
    app.conf.task_routes = task_routes_from_json(json.loads(os.environ["INTEROP_TASK_ROUTES"]))
# Celery 5.5+ fleets (quorum queues, native delayed delivery): INTEROP_QUEUE_TYPE=quorum,
# INTEROP_EXCHANGE_TYPE=topic; unset, the app is exactly as before
# INTEROP_FLEET_QUEUES: the fleet's other queues, declared alike (task_queues; Celery 5.5 has no
# task_create_missing_queue_type)
if os.environ.get("INTEROP_QUEUE_TYPE"):
    app.conf.task_default_queue_type = os.environ["INTEROP_QUEUE_TYPE"]
if os.environ.get("INTEROP_EXCHANGE_TYPE"):
    app.conf.task_default_exchange_type = os.environ["INTEROP_EXCHANGE_TYPE"]
# RabbitMQ 4.3 denies transient non-exclusive queues: INTEROP_EXCLUSIVE_CONTROL=1 gives the peer
# Celery's own fix where its version has it (5.6: control/event_queue_exclusive); an older peer
# (5.5) runs without remote control instead, its pidbox queue being exactly what 4.3 refuses
if os.environ.get("INTEROP_EXCLUSIVE_CONTROL") or os.environ.get("INTEROP_EXCLUSIVE_QUEUES") == "1":
    from celery.app.defaults import DEFAULTS as _DEFAULTS

    if "control_queue_exclusive" in _DEFAULTS:
        app.conf.control_queue_exclusive = True
        app.conf.event_queue_exclusive = True
    else:
        app.conf.worker_enable_remote_control = False
if os.environ.get("INTEROP_FLEET_QUEUES"):
    from kombu import Exchange, Queue

    def _fleet_queue(name):
        qtype = os.environ.get("INTEROP_QUEUE_TYPE", "classic")
        return Queue(name, Exchange(name, type=os.environ.get("INTEROP_EXCHANGE_TYPE", "direct")), routing_key=name,
                     queue_arguments={"x-queue-type": qtype} if qtype == "quorum" else None)

    app.conf.task_queues = [_fleet_queue(n) for n in [app.conf.task_default_queue] + os.environ["INTEROP_FLEET_QUEUES"].split(",")]
# INTEROP_OTEL_SPANS=<file>: trace with OpenTelemetry as opentelemetry-instrumentation-celery would
# (otel_peer.py; needs the otel folder of scripts/interop/celery-peers.sh on PYTHONPATH), spans to <file>
if os.environ.get("INTEROP_OTEL_SPANS"):
    import otel_peer  # noqa: F401


@app.task(name="py.add")
def add(x, y):
    return x + y


@app.task(name="py.sleep")
def sleep(seconds):
    """Holds a pool process for `seconds` (autoscale suites: a burst of these makes a pool grow)."""
    import time

    time.sleep(seconds)
    return seconds


@app.task(name="py.echo")
def echo(*args, **kwargs):
    return {"args": list(args), "kwargs": kwargs}


@app.task(name="py.fail")
def fail(message="custom"):
    raise ValueError(message)


@app.task(name="py.delivery", bind=True)
def delivery(self):
    """Where the message came from: native delayed delivery shows in exchange and routing key."""
    info = self.request.delivery_info or {}
    return {"exchange": info.get("exchange"), "routing_key": info.get("routing_key")}


@app.task(name="py.typeof")
def typeof(value):
    """The Python type an argument arrived as: bytes only survive a binary serializer (msgpack)."""
    return type(value).__name__


@app.task(name="py.retry_hop", bind=True)
def retry_hop(self, target_queue):
    """Retry once through a countdown into `target_queue`, then say who ran it and how it came."""
    if self.request.retries == 0:
        raise self.retry(countdown=2, queue=target_queue)
    info = self.request.delivery_info or {}
    return {"by": "py", "retries": self.request.retries, "exchange": info.get("exchange"), "routing_key": info.get("routing_key")}


@app.task(name="py.key_error")
def key_error(key):
    return {}[key]

import ops_tasks  # noqa: E402,F401  (worker-ops suites: retrying tasks)


@app.task(name="py.digest")
def digest(data):
    """Large-message cells: the length and sha256 of a (large) string argument."""
    import hashlib
    return {"length": len(data), "sha256": hashlib.sha256(data.encode()).hexdigest()}
