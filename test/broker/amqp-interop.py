"""The Python side of test/broker/amqp-*.spec.ts: real Celery 5.2 / kombu / py-amqp.

Run with Debian's interpreter (/usr/bin/python3). Every command prints one JSON document.

  declare-celery URL QUEUE MAX_PRIORITY   declare QUEUE as a Celery app with
                                          task_queue_max_priority does (auto-created queue)
  declare URL SPEC_JSON                   declare {queue: {...}, exchange: {...}} with kombu
  publish URL QUEUE MESSAGE_JSON          publish {headers, properties, body} to '' / QUEUE
  send-task URL QUEUE TASK_ID             Celery send_task('interop.add', (2, 2)) to QUEUE
  consume URL QUEUE COUNT                 read COUNT messages (acked), print headers/properties
"""
import json
import sys
import time

from kombu import Connection, Exchange, Queue


def declare_celery(url, name, max_priority):
    from celery import Celery
    app = Celery('interop', broker=url)
    app.conf.task_queue_max_priority = int(max_priority)
    queue = app.amqp.queues[name]  # created the way task_create_missing_queues creates it
    with app.connection_for_write() as conn:
        queue.bind(conn.default_channel).declare()
    print(json.dumps({'queue_arguments': queue.queue_arguments}))


def declare(url, spec):
    spec = json.loads(spec)
    with Connection(url) as conn:
        ch = conn.channel()
        if 'exchange' in spec:
            Exchange(channel=ch, **spec['exchange']).declare()
        if 'queue' in spec:
            q = dict(spec['queue'])
            ex = q.pop('exchange', None)
            exchange = Exchange(**ex) if ex is not None else Exchange('')
            Queue(exchange=exchange, channel=ch, **q).declare()
    print(json.dumps({'ok': True}))


def publish(url, queue, message):
    message = json.loads(message)
    props = message.get('properties', {})
    with Connection(url) as conn:
        producer = conn.Producer()
        producer.publish(
            message.get('body', '{}').encode(),
            exchange='', routing_key=queue,
            headers=message['headers'],
            content_type='application/json', content_encoding='utf-8',
            **props)
    print(json.dumps({'headers': message['headers']}))


def send_task(url, queue, task_id):
    from celery import Celery
    app = Celery('interop', broker=url)
    app.send_task('interop.add', (2, 2), task_id=task_id, queue=queue,
                  priority=3, time_limit=30, headers={'x-extra': [1, None]})
    print(json.dumps({'ok': True}))


def consume(url, queue, count):
    out = []
    with Connection(url) as conn:
        ch = conn.channel()
        for _ in range(int(count)):
            msg = None
            for _ in range(50):
                msg = ch.basic_get(queue, no_ack=True)
                if msg is not None:
                    break
                time.sleep(0.05)
            if msg is None:
                break
            p = msg.properties
            out.append({
                'headers': p.get('application_headers'),
                'properties': {k: p.get(k) for k in (
                    'content_type', 'content_encoding', 'correlation_id', 'reply_to',
                    'delivery_mode', 'priority', 'expiration', 'message_id', 'type', 'app_id')},
                'body': msg.body.decode() if isinstance(msg.body, bytes) else msg.body,
            })
    print(json.dumps(out))


if __name__ == '__main__':
    cmd, *args = sys.argv[1:]
    {'declare-celery': declare_celery, 'declare': declare, 'publish': publish,
     'send-task': send_task, 'consume': consume}[cmd](*args)
