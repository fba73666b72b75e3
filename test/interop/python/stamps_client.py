"""Python side of the stamps suite (Celery 5.3+), JSON request on stdin, JSON outcome on stdout.

ops: "chain"   stamp chain(signatures) and run it; outcome: the stamps seen by each step
     "chord"   stamp chord(header, body) and its body; outcome: the body's result
     "link"    stamp a signature with a link; outcome: the link's result
     "revoke"  app.control.revoke_by_stamped_headers(headers, destination, reply=True); outcome: the replies
     "revoke_scheduled"  send one stamped countdown task, wait until `inspect scheduled` of the
               destination lists it, then revoke_by_stamped_headers; outcome: {"id", "replies"}
               (the revoke surely finds the task waiting for its ETA, however slowly Python started)
     "send"    send one stamped task (no wait); outcome: its id
     "state"   wait for the final state of task ids; outcome: {id: [state, result repr]}
"""
import json
import sys
import time

from celery import chain, chord, signature

import stamps_tasks  # noqa: F401
from interop_app import app


def sig(d):
    return signature(d["task"], args=d.get("args", []), kwargs=d.get("kwargs", {}), queue=d["queue"], app=app)


def main():
    req = json.load(sys.stdin)
    op = req["op"]
    timeout = req.get("timeout", 40)
    if op == "chain":
        c = chain(*[sig(d) for d in req["steps"]])
        c.stamp(**req["stamps"])
        res = c.apply_async()
        out, node = [], res
        while node is not None:
            out.append(node.get(timeout=timeout, propagate=False))
            node = node.parent
        print(json.dumps(list(reversed(out))))
    elif op == "chord":
        c = chord([sig(d) for d in req["header"]], sig(req["body"]))
        c.stamp(**req["stamps"])
        # Celery 5.5/5.6 chord.stamp() stamps the body only with a visitor: stamp it directly
        c.body.stamp(**req["stamps"])
        print(json.dumps(c.apply_async().get(timeout=timeout)))
    elif op == "link":
        s = sig(req["task"])
        link = sig(req["link"])
        link_id = link.freeze().id
        s.link(link)
        s.stamp(**req["stamps"])
        s.apply_async()
        print(json.dumps(app.AsyncResult(link_id).get(timeout=timeout)))
    elif op == "revoke":
        replies = app.control.revoke_by_stamped_headers(
            req["headers"], destination=req["destination"], terminate=req.get("terminate", False), reply=True, timeout=5
        )
        print(json.dumps(replies))
    elif op == "revoke_scheduled":
        s = sig(req["task"])
        s.stamp(**req["stamps"])
        task_id = s.apply_async(countdown=req["countdown"]).id
        inspect = app.control.inspect(destination=req["destination"], timeout=1)
        deadline = time.monotonic() + timeout
        while not any(task_id in [e["request"]["id"] for e in entries] for entries in (inspect.scheduled() or {}).values()):
            if time.monotonic() > deadline:
                raise SystemExit(f"{task_id} never showed in inspect scheduled")
        replies = app.control.revoke_by_stamped_headers(req["headers"], destination=req["destination"], reply=True, timeout=5)
        print(json.dumps({"id": task_id, "replies": replies}))
    elif op == "send":
        s = sig(req["task"])
        s.stamp(**req["stamps"])
        print(json.dumps(s.apply_async().id))
    elif op == "state":
        out = {}
        for task_id in req["ids"]:
            r = app.AsyncResult(task_id)
            try:
                r.get(timeout=timeout, propagate=False)
            except Exception as exc:  # a timeout is an outcome too
                out[task_id] = ["TIMEOUT", repr(exc)]
                continue
            out[task_id] = [r.state, repr(r.result)]
        print(json.dumps(out))


main()
