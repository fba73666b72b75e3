"""Judge for test/protocol/python-decode.spec.ts: Python Celery 5.2 reads what we write.

stdin: {"messages": [...], "exceptions": [...], "bodies": [...], "python_values": {...}}
stdout: one JSON answer with, per case, what Python made of it.

Task messages go through the worker's own path: kombu's Message (decompression, accept
check, deserialization), the v1 conversion of celery/worker/strategy.py, the Request class of
celery/worker/request.py, and Request.execute() (trace_task) running a bound task that
reports its request context. Exceptions go through the result backend's exception_to_python.
"""
import base64
import json
import sys
from datetime import datetime

from celery import Celery
from celery.worker.request import Request
from celery.worker.strategy import hybrid_to_proto2, proto1_to_proto2
from kombu import compression
from kombu.message import Message
from kombu.serialization import dumps as kombu_dumps, prepare_accept_content

app = Celery('judge', broker='memory://', set_as_current=False)
app.conf.accept_content = ['json', 'msgpack', 'yaml']
ACCEPT = prepare_accept_content(['json', 'msgpack', 'yaml'])
seen = {}

CONTEXT_FIELDS = ('id', 'root_id', 'parent_id', 'group', 'group_index', 'retries', 'timelimit', 'chain',
                  'callbacks', 'errbacks', 'chord', 'reply_to', 'correlation_id', 'args', 'kwargs', 'origin',
                  'shadow', 'lang', 'argsrepr', 'kwargsrepr', 'ignore_result', 'delivery_info')


@app.task(name='tasks.echo', bind=True, shared=False)
def echo(self, *args, **kwargs):
    seen[self.request.id] = {k: getattr(self.request, k, None) for k in CONTEXT_FIELDS}
    return [list(args), kwargs]


def plain(v):
    """JSON-able view of Python values (bytes, tuples, datetimes, sets marked)."""
    if isinstance(v, bytes):
        return {'__bytes__': v.hex()}
    if isinstance(v, datetime):
        return {'__datetime__': v.isoformat()}
    if isinstance(v, (set, frozenset)):
        return {'__set__': sorted(plain(x) for x in v)}
    if isinstance(v, (list, tuple)):
        return [plain(x) for x in v]
    if isinstance(v, dict):
        return {str(k): plain(x) for k, x in v.items()}
    return v


def run_message(case):
    message = Message(
        body=base64.b64decode(case['body']),
        content_type=case['content_type'],
        content_encoding=case['content_encoding'],
        headers=case['headers'],
        properties=case['properties'],
        delivery_info={'exchange': '', 'routing_key': 'q'},
        accept=ACCEPT,
    )
    if message.errors:
        raise message.errors[0][1]
    headers = message.headers
    # consumer.py: without a task header the body is decoded to find the task (protocol 1)
    payload = message.decode()
    if 'task' in headers and not (isinstance(payload, dict) and 'args' in payload):
        body, req_headers, decoded, utc, protocol = message.body, headers, False, True, 2
    elif isinstance(payload, dict) and 'args' in payload:
        (body, req_headers, decoded, utc), protocol = hybrid_to_proto2(message, payload), 1
    else:
        (body, req_headers, decoded, utc), protocol = proto1_to_proto2(message, payload), 1
    task = app.tasks[req_headers['task']]
    req = Request(message, app=app, task=task, hostname='judge@host', body=body, headers=req_headers,
                  decoded=decoded, utc=utc)
    out = {
        'ok': True,
        'protocol': protocol,
        'id': req.id,
        'name': req.name,
        'task': req.task_name,
        'args': plain(req.args),
        'kwargs': plain(req.kwargs),
        'eta': req.eta.isoformat() if req.eta else None,
        'expires': req.expires.isoformat() if req.expires else None,
        'time_limits': list(req.time_limits),
        'root_id': req.root_id,
        'parent_id': req.parent_id,
        'argsrepr': req.argsrepr,
        'kwargsrepr': req.kwargsrepr,
        'reply_to': req.reply_to,
        'correlation_id': req.correlation_id,
        'priority': req.delivery_info.get('priority'),
        'revoked': False,
    }
    if req.revoked():
        out['revoked'] = True
        return out
    retval = req.execute()
    out['retval'] = plain(retval)
    out['context'] = plain(seen.get(req.id))
    return out


def run_exception(exc):
    e = app.backend.exception_to_python(exc)
    return {
        'type': type(e).__name__,
        'module': type(e).__module__,
        'args': plain(list(e.args)),
        'str': str(e),
        'is_value_error': isinstance(e, ValueError),
        'is_key_error': isinstance(e, KeyError),
        'is_exception': isinstance(e, Exception),
    }


def run_body(case):
    body = base64.b64decode(case['body'])
    headers = {'compression': case['compression']} if case.get('compression') else {}
    message = Message(body=body, content_type=case['content_type'], content_encoding=case['content_encoding'],
                      headers=headers, accept=ACCEPT)
    if message.errors:
        raise message.errors[0][1]
    return plain(message.decode())


def guarded(fn, case):
    try:
        return fn(case)
    except Exception as exc:  # report, the spec asserts on it
        return {'ok': False, 'error': f'{type(exc).__name__}: {exc}'}


def python_bodies(values):
    """Bodies written by kombu's own serializers, for our decoders."""
    out = []
    for serializer in ('json', 'msgpack', 'yaml'):
        vals = values[serializer]
        if serializer == 'msgpack':
            vals = [bytes.fromhex(v['__bytes__']) if isinstance(v, dict) and '__bytes__' in v else v for v in vals]
        content_type, content_encoding, body = kombu_dumps(vals, serializer=serializer)
        if isinstance(body, str):
            body = body.encode('utf-8')
        out.append({'serializer': serializer, 'content_type': content_type, 'content_encoding': content_encoding,
                    'body': base64.b64encode(body).decode()})
    body, ctype = compression.compress(kombu_dumps(values['json'], serializer='json')[2].encode(), 'zlib')
    out.append({'serializer': 'json', 'content_type': 'application/json', 'content_encoding': 'utf-8',
                'compression': ctype, 'body': base64.b64encode(body).decode()})
    return out


batch = json.load(sys.stdin)
json.dump({
    'messages': [guarded(run_message, c) for c in batch['messages']],
    'exceptions': [guarded(run_exception, c) for c in batch['exceptions']],
    'bodies': [guarded(run_body, c) for c in batch['bodies']],
    'python_bodies': python_bodies(batch['python_values']),
}, sys.stdout)
