"""Remote control and events from real Python Celery 5.2, for the control and events suites.

stdin: one JSON object {"op": ..., ...}; stdout: one JSON document.
  {"op": "revoke", "task_id": id|[ids], "terminate": bool, "signal": str|null, "destination": [..]|null}
      app.control.revoke(...) (a cast, no reply) -> {}
  {"op": "broadcast", "command": str, "arguments": {...}, "destination": [..]|null, "timeout": float}
      app.control.broadcast(..., reply=True) -> the list of {nodename: reply}
  {"op": "inspect", "commands": [name, ...], "destination": [..]|null, "timeout": float,
   "revoke_first": id|null, "wait": float}
      app.control.inspect() in one process -> {command: {nodename: reply}} (see inspect())
  {"op": "hello", "destination": [node], "revoked_ids": [ids]}
      mingle's hello with these ids revoked -> {"reply": the node's reply, "accepted": the ids a
      Python LimitedSet holds after update(reply["revoked"])}
  {"op": "rate_limit", "calls": [{"task_name": str, "rate_limit": str|null}, ...], "destination": [..], "timeout": float}
      app.control.rate_limit(..., reply=True) for each call, in one process -> a list of {nodename: reply} per call
  {"op": "declare", "hostname": node, "oid": oid}
      kombu declares the node's pidbox queue, a reply queue for oid, both mailbox exchanges and
      celeryev as Python Celery does -> {entity: "ok" | repr(error)}
  {"op": "flower", "nodes": {nodename: {"task": name, "queue": str}}}
      every inspect Flower reads and the control commands it sends, per node (see flower())
  {"op": "shutdown", "destination": [node], "timeout": float} -> the replies (none from a worker)
  {"op": "events", "hostname": str, "seconds": float, "until": str|null, "until_freq": float|null}
      an EventReceiver (what `celery events` and Flower use) with a celery.events.state.State fed
      from it, for `seconds` (or until an event of type `until` from `hostname` arrived, with
      `freq` equal to `until_freq` when given). Prints
      "listening" on stderr once it surely receives. -> {"events": [events from hostname],
      "alive_snapshot": State's view of the worker at its last heartbeat before going offline,
      "final": State's view at the end}
"""
import json
import math
import sys
import threading
import time

from kombu import Queue

from celery.events.event import get_exchange
from celery.events.state import State
from celery.utils.collections import LimitedSet

from interop_app import app


def revoke(req):
    app.control.revoke(
        req["task_id"],
        destination=req.get("destination"),
        terminate=req.get("terminate", False),
        signal=req.get("signal") or "SIGTERM",
    )
    return {}


def broadcast(req):
    return app.control.broadcast(
        req["command"],
        arguments=req.get("arguments") or {},
        destination=req.get("destination"),
        reply=True,
        timeout=req.get("timeout", 1.0),
    )


def rate_limit(req):
    return [
        app.control.rate_limit(
            call["task_name"], call.get("rate_limit"), destination=req.get("destination"), reply=True, timeout=req.get("timeout", 5.0)
        )
        for call in req["calls"]
    ]


def inspect(req):
    """app.control.inspect(destination, timeout).<command>() for each command, in one process.
    With "revoke_first": that id is revoked (a cast) first, and "revoked" is asked until it lists
    the id or "wait" seconds pass."""
    insp = app.control.inspect(destination=req.get("destination"), timeout=req.get("timeout", 5.0))
    out = {}
    if req.get("revoke_first"):
        app.control.revoke(req["revoke_first"], destination=req.get("destination"))
        deadline = time.monotonic() + req.get("wait", 60.0)
        while True:
            out["revoked"] = insp.revoked() or {}
            if all(req["revoke_first"] in ids for ids in out["revoked"].values()) and out["revoked"] or time.monotonic() > deadline:
                break
    for command in req.get("commands", []):
        out[command] = getattr(insp, command)() or {}
    return out


def hello(req):
    # what a Python worker's mingle does at start: hello with its revoked ids (monotonic times)
    ours = {task_id: time.monotonic() for task_id in req.get("revoked_ids", [])}
    replies = app.control.inspect(destination=req["destination"], timeout=2.0).hello("py-peer@control-test", ours)
    reply = replies[req["destination"][0]]
    accepted = LimitedSet(maxlen=50000, expires=10800)
    accepted.update(reply["revoked"])  # raises unless every timestamp is a float
    return {"reply": reply, "accepted": list(accepted)}


def declare(req):
    # kombu declares these exactly so; RabbitMQ refuses (PRECONDITION_FAILED) anything that differs
    mailbox = app.control.mailbox
    oid = req["oid"]
    entities = {
        "node_queue": mailbox.get_queue(req["hostname"]),
        "reply_queue": Queue(
            f"{oid}.{mailbox.reply_exchange.name}", exchange=mailbox.reply_exchange, routing_key=oid,
            durable=False, auto_delete=True, expires=mailbox.reply_queue_expires, message_ttl=mailbox.reply_queue_ttl,
        ),
        "mailbox_exchange": mailbox.exchange,
        "reply_exchange": mailbox.reply_exchange,
    }
    out = {}
    with app.connection() as conn:
        entities["event_exchange"] = get_exchange(conn, name=app.conf.event_exchange)
        for name, entity in entities.items():
            channel = conn.channel()
            try:
                entity(channel).declare()
                out[name] = "ok"
            except Exception as exc:  # the refusal is what the test looks at
                out[name] = repr(exc)
            finally:
                try:
                    channel.close()
                except Exception:
                    pass
    return out


def flower(req):
    """What Flower asks of each node, in one process: every inspect it reads, then the control
    commands it sends (time_limit, add_consumer / cancel_consumer with a task run through the added
    queue, pool_restart, an unknown command). req: {"nodes": {nodename: {"task": name, "queue": extra}}}
    -> {nodename: {step: reply}}."""
    out = {}
    for node, spec in req["nodes"].items():
        insp = app.control.inspect(destination=[node], timeout=5.0)

        def call(command, **arguments):
            replies = app.control.broadcast(command, arguments=arguments, destination=[node], reply=True, timeout=5.0)
            return replies[0][node] if replies else None

        def queues():
            return [q["name"] for q in (insp.active_queues() or {}).get(node, [])]

        def until(condition, seconds=60.0):
            deadline = time.monotonic() + seconds
            while not condition() and time.monotonic() < deadline:
                time.sleep(0.2)
            return condition()

        got = {}
        for command in ("stats", "active_queues", "registered", "scheduled", "reserved", "active", "revoked", "conf"):
            got[command] = (getattr(insp, command)() or {}).get(node)
        # JSON has no Infinity (result_backend_max_retries): such values as their repr
        got["conf_with_defaults"] = {
            key: repr(value) if isinstance(value, float) and not math.isfinite(value) else value
            for key, value in ((insp.conf(with_defaults=True) or {}).get(node) or {}).items()
        }
        got["registered_items"] = (insp.registered("name", "time_limit", "soft_time_limit") or {}).get(node)
        got["query_task"] = (insp.query_task("00000000-0000-4000-8000-000000000000") or {}).get(node)
        got["time_limit"] = call("time_limit", task_name=spec["task"], soft=30.0, hard=60.0)
        got["registered_limits"] = (insp.registered("time_limit", "soft_time_limit") or {}).get(node)
        got["time_limit_unknown"] = call("time_limit", task_name="no.such.task", soft=1.0, hard=2.0)
        got["add_consumer"] = call("add_consumer", queue=spec["queue"])
        got["consuming_added"] = until(lambda: spec["queue"] in queues())
        got["ran_on_added"] = app.send_task(spec["task"], args=[20, 22], queue=spec["queue"]).get(timeout=60)
        got["cancel_consumer"] = call("cancel_consumer", queue=spec["queue"])
        got["consuming_after_cancel"] = not until(lambda: spec["queue"] not in queues())
        got["pool_restart"] = call("pool_restart")
        got["unknown"] = call("no_such_command")
        out[node] = got
    return out


def shutdown(req):
    """app.control.shutdown() as Flower sends it (a cast); with reply=True, what came back."""
    return app.control.broadcast("shutdown", destination=req["destination"], reply=True, timeout=req.get("timeout", 2.0))


def worker_view(state, hostname):
    worker = state.workers.get(hostname)
    if worker is None:
        return None
    # what Flower's worker and task pages read of celery.events.state's Worker and Task
    return {
        "alive": worker.alive,
        "processed": worker.processed,
        "active": worker.active,
        "freq": worker.freq,
        "pid": worker.pid,
        "clock": worker.clock,
        "loadavg": worker.loadavg,
        "sw_ident": worker.sw_ident,
        "sw_ver": worker.sw_ver,
        "sw_sys": worker.sw_sys,
        "status_string": worker.status_string,
        "heartbeats": len(worker.heartbeats),
        "tasks": {
            uuid: {
                field: getattr(task, field)
                for field in ("state", "name", "args", "kwargs", "retries", "eta", "expires", "root_id", "parent_id",
                              "received", "started", "succeeded", "failed", "runtime", "result", "exception", "traceback")
            } | {"worker": task.worker.hostname, "ready": task.ready}
            for uuid, task in state.tasks.items()
            if task.worker is not None and task.worker.hostname == hostname
        },
    }


def events(req):
    hostname, until = req["hostname"], req.get("until")
    deadline = time.time() + float(req["seconds"])
    state = State()
    seen, snapshot = [], {}
    done = threading.Event()

    def on_event(event):
        state.event(event)
        if event.get("hostname") != hostname:
            return
        seen.append(event)
        if event["type"] == "worker-heartbeat":
            snapshot["view"] = worker_view(state, hostname)
        if until and event["type"] == until and req.get("until_freq") in (None, event.get("freq")):
            done.set()

    with app.connection() as conn:
        recv = app.events.Receiver(conn, handlers={"*": on_event})
        iterations = [0]

        def on_iteration():
            # printed once a first drain_events returned: kombu's Redis transport subscribes
            # (PSUBSCRIBE) inside the first drain, so before that events can still be missed
            iterations[0] += 1
            if iterations[0] == 2:
                print("listening", file=sys.stderr, flush=True)

        recv.on_iteration = on_iteration
        stop = threading.Thread(target=lambda: (done.wait(max(0.0, deadline - time.time())), setattr(recv, "should_stop", True)), daemon=True)
        stop.start()
        recv.capture(limit=None, timeout=None, wakeup=True)
    return {"events": seen, "alive_snapshot": snapshot.get("view"), "final": worker_view(state, hostname)}


def main():
    req = json.load(sys.stdin)
    op = {"revoke": revoke, "broadcast": broadcast, "inspect": inspect, "hello": hello, "declare": declare, "events": events,
          "flower": flower, "shutdown": shutdown, "rate_limit": rate_limit}[req["op"]]
    json.dump(op(req), sys.stdout, default=repr)


if __name__ == "__main__":
    main()
