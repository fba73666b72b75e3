"""The Python side of test/broker/redis-interop.spec.ts: real kombu on Redis (5.2.4 with Debian's Celery 5.2, or a 5.5/5.6 peer's on PYTHONPATH).

Run with Debian's interpreter (/usr/bin/python3). Every command prints one JSON document
(listen-fanout first prints a READY line once subscribed). PREFIX is kombu's global_keyprefix.

  publish URL PREFIX QUEUE MESSAGE_JSON       Producer.publish to '' / QUEUE; MESSAGE_JSON is
                                              {body_b64, content_type, content_encoding,
                                               headers, properties, priority}
  consume URL PREFIX QUEUE COUNT              consume COUNT messages with acks, print them
  take-and-die URL PREFIX QUEUE               take one message, never ack, die without the
                                              shutdown restore (a SIGKILLed worker)
  restore URL PREFIX VISIBILITY               channel.qos.restore_visible() with that timeout
  declare URL PREFIX EXCHANGE TYPE QUEUE KEY  declare QUEUE bound to EXCHANGE with KEY
  publish-exchange URL PREFIX EXCHANGE TYPE KEY MESSAGE_JSON
                                              publish through a declared exchange
  listen-fanout URL PREFIX EXCHANGE QUEUE KEY COUNT
                                              consume a fanout-bound queue, print COUNT messages
  envelope URL QUEUE TAG MESSAGE_JSON         the exact text kombu would LPUSH for the message
                                              (MESSAGE_JSON may hold expiration_s), tag forced
"""
import base64
import json
import os
import socket
import sys

from kombu import Connection, Consumer, Exchange, Producer, Queue
from kombu.utils.json import dumps as kombu_dumps


def connection(url, prefix, **options):
    options['global_keyprefix'] = prefix
    return Connection(url, transport_options=options)


def describe(body, message):
    return {
        'body_b64': base64.b64encode(message.body).decode(),
        'content_type': message.content_type,
        'content_encoding': message.content_encoding,
        'headers': message.headers,
        'properties': {k: v for k, v in message.properties.items()},
        'delivery_info': {k: message.delivery_info.get(k) for k in ('exchange', 'routing_key', 'redelivered')},
        'delivery_tag': message.delivery_tag,
    }


def publish_kwargs(spec):
    properties = dict(spec.get('properties') or {})
    return dict(
        body=base64.b64decode(spec['body_b64']),
        content_type=spec['content_type'],
        content_encoding=spec['content_encoding'],
        headers=spec.get('headers') or {},
        priority=spec.get('priority', 0),
        **properties,
    )


def publish(url, prefix, queue, spec):
    with connection(url, prefix) as conn:
        Producer(conn.default_channel).publish(exchange='', routing_key=queue, **publish_kwargs(json.loads(spec)))
    print(json.dumps({'ok': True}))


def drain(conn, queue, count, no_ack=False, declare=False):
    got = []

    def on_message(body, message):
        got.append(describe(body, message))
        if not no_ack:
            message.ack()

    channel = conn.channel()
    channel.basic_qos(0, 1, False)
    with Consumer(channel, [queue], callbacks=[on_message], no_ack=no_ack, auto_declare=declare):
        while len(got) < count:
            conn.drain_events(timeout=10)
    return channel, got


def consume(url, prefix, queue, count):
    with connection(url, prefix) as conn:
        _, got = drain(conn, Queue(queue, no_declare=True), int(count))
    print(json.dumps(got))


def take_and_die(url, prefix, queue):
    conn = connection(url, prefix)
    channel = conn.channel()
    channel.basic_qos(0, 1, False)
    got = []
    consumer = Consumer(channel, [Queue(queue, no_declare=True)], callbacks=[lambda b, m: got.append(describe(b, m))])
    consumer.consume()
    while not got:
        conn.drain_events(timeout=10)
    sys.stdout.write(json.dumps(got[0]))
    sys.stdout.flush()
    os._exit(0)  # no atexit, no channel close: the delivery stays in kombu's unacked hash


def restore(url, prefix, visibility):
    with connection(url, prefix, visibility_timeout=float(visibility)) as conn:
        conn.default_channel.qos.restore_visible()
    print(json.dumps({'ok': True}))


def declare(url, prefix, exchange, type_, queue, key):
    with connection(url, prefix) as conn:
        Queue(queue, Exchange(exchange, type_), routing_key=key)(conn.default_channel).declare()
    print(json.dumps({'ok': True}))


def publish_exchange(url, prefix, exchange, type_, key, spec):
    with connection(url, prefix) as conn:
        ex = Exchange(exchange, type_)
        Producer(conn.default_channel, exchange=ex).publish(routing_key=key, declare=[ex], **publish_kwargs(json.loads(spec)))
    print(json.dumps({'ok': True}))


def listen_fanout(url, prefix, exchange, queue, key, count):
    got = []
    with connection(url, prefix) as conn:
        q = Queue(queue, Exchange(exchange, 'fanout', durable=False), routing_key=key, auto_delete=True)
        channel = conn.channel()

        def on_message(body, message):
            got.append(describe(body, message))

        with Consumer(channel, [q], callbacks=[on_message], no_ack=True):
            # the PSUBSCRIBE goes out on the first poll; give it a moment before saying READY
            try:
                conn.drain_events(timeout=0.3)
            except socket.timeout:
                pass
            sys.stdout.write('READY\n')
            sys.stdout.flush()
            while len(got) < int(count):
                conn.drain_events(timeout=10)
    print(json.dumps(got))


def envelope(url, queue, tag, spec):
    spec = json.loads(spec)
    expiration = spec.pop('expiration_s', None)
    with connection(url, '') as conn:
        channel = conn.default_channel
        pushed = []
        channel._next_delivery_tag = lambda: tag
        channel._put = lambda q, message, **kw: pushed.append(kombu_dumps(message))
        Producer(channel).publish(exchange='', routing_key=queue, expiration=expiration, **publish_kwargs(spec))
    print(json.dumps({'text': pushed[0]}))


COMMANDS = {
    'publish': publish,
    'consume': consume,
    'take-and-die': take_and_die,
    'restore': restore,
    'declare': declare,
    'publish-exchange': publish_exchange,
    'listen-fanout': listen_fanout,
    'envelope': envelope,
}

if __name__ == '__main__':
    COMMANDS[sys.argv[1]](*sys.argv[2:])
