"""Where Python Celery's router sends each call, for the task_routes interop suite.

env: INTEROP_TASK_ROUTES (task_routes as JSON, read by interop_app), INTEROP_QUEUE (task_default_queue).
stdin: a JSON list of calls [{"name", "args", "kwargs", "options"}]; stdout: a JSON list of
{"queue", "exchange", "routing_key", "priority"}, what app.amqp.router.route() gave for each.
"""
import json
import sys

from kombu import Exchange, Queue

from interop_app import app


def name_of(value):
    if isinstance(value, (Queue, Exchange)):
        return value.name
    return value


def main():
    router = app.amqp.router
    out = []
    for call in json.load(sys.stdin):
        options = router.route(dict(call.get("options", {})), call["name"], call.get("args", []), call.get("kwargs", {}))
        out.append({
            "queue": name_of(options.get("queue")),
            "exchange": name_of(options.get("exchange")),
            "routing_key": options.get("routing_key"),
            "priority": options.get("priority"),
        })
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
