"""Python Celery 5.2 as the other side of the result backend suites (test/backend/*.spec.ts).

Reads one JSON command on stdin, prints one JSON answer on stdout.
  {"action": "store", "backend": url, "broker": url, "items": [{"id", "state", "result"?, "exc"?, "traceback"?, "request"?}]}
  {"action": "get", "backend": url, "broker": url, "id": task_id, "timeout": s, "request"?: {...}}
  {"action": "send", "backend": "rpc://", "broker": url, "queue": q, "task": name, "id": task_id}  (prints reply_to, then waits)
"""
import json
import sys

from celery import Celery
from celery.app.task import Context


def make_app(cmd):
    app = Celery('backend_peer', broker=cmd.get('broker', 'memory://'), backend=cmd['backend'])
    if 'result_expires' in cmd:
        app.conf.result_expires = cmd['result_expires']
    return app


def request_for(item, task_id):
    req = item.get('request') or {}
    return Context(id=task_id, children=[], group=req.get('group'), parent_id=req.get('parent_id'),
                   reply_to=req.get('reply_to'), correlation_id=req.get('correlation_id'))


def store(app, items):
    b = app.backend
    for item in items:
        tid = item['id']
        req = request_for(item, tid)
        if item['state'] == 'SUCCESS':
            b.mark_as_done(tid, item.get('result'), request=req)
        elif item['state'] == 'FAILURE':
            b.mark_as_failure(tid, ValueError(*item['exc']), traceback=item.get('traceback'), request=req)
        else:
            b.store_result(tid, item.get('result'), item['state'], request=req)
    return {'stored': len(items)}


def outcome(res, timeout):
    try:
        value = res.get(timeout=timeout)
        return {'state': res.state, 'value': value}
    except Exception as exc:  # the point is to report what Python raised
        return {'state': res.state, 'error_type': type(exc).__name__,
                'error_module': type(exc).__module__,
                'is_value_error': isinstance(exc, ValueError), 'args': list(exc.args)}


def main():
    cmd = json.loads(sys.stdin.read())
    app = make_app(cmd)
    action = cmd['action']
    if action == 'store':
        answer = store(app, cmd['items'])
    elif action == 'get':
        answer = outcome(app.AsyncResult(cmd['id']), cmd.get('timeout', 5))
    elif action == 'send':
        res = app.send_task(cmd['task'], args=cmd.get('args', []), task_id=cmd['id'], queue=cmd['queue'])
        # tell the test where to reply, then wait for it
        print(json.dumps({'reply_to': app.thread_oid}), flush=True)
        answer = outcome(res, cmd.get('timeout', 10))
    else:
        raise SystemExit(f'unknown action {action}')
    print(json.dumps(answer), flush=True)


if __name__ == '__main__':
    main()
