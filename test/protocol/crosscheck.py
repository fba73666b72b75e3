"""Judge for test/protocol/python-crosscheck.spec.ts: Python's json, repr, saferepr and ISO
parsing applied to a batch of cases from the TypeScript side (stdin JSON → stdout JSON)."""
import json
import struct
import sys
import unicodedata
from datetime import datetime, timezone

from celery.utils.iso8601 import parse_iso8601
from celery.utils.saferepr import saferepr


def from_transport(v):
    """Tuples travel as {"__tuple__": [...]} (JSON has no tuple)."""
    if isinstance(v, list):
        return [from_transport(x) for x in v]
    if isinstance(v, dict):
        if list(v) == ['__tuple__']:
            return tuple(from_transport(x) for x in v['__tuple__'])
        return {k: from_transport(x) for k, x in v.items()}
    return v


def strings(v):
    if isinstance(v, str):
        yield v
    elif isinstance(v, (list, tuple)):
        for x in v:
            yield from strings(x)
    elif isinstance(v, dict):
        for k, x in v.items():
            yield k
            yield from strings(x)


def micros(dt):
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    delta = dt - datetime(1970, 1, 1, tzinfo=timezone.utc)
    return (delta.days * 86400 + delta.seconds) * 1000000 + delta.microseconds


batch = json.load(sys.stdin)
out = {}

# 1. our dumps text must survive Python's loads+dumps byte for byte
out['json'] = [json.dumps(json.loads(text)) for text in batch['json']]

# 2. Python's dumps of tricky values, for our loads
out['python_dumps'] = json.dumps([
    1.0, 1e16, 1.5e-07, -0.0, 2 ** 64 + 1, -(2 ** 70), float('nan'), float('inf'), float('-inf'),
    'h\u00e9 \u2603 \U0001F600', '\ud800', {'k': [None, True, False]}, 123456789.125, 9007199254740993,
])

# 3. saferepr and repr of the same values
out['repr'] = []
for case in batch['repr']:
    value = from_transport(json.loads(case['value']))
    # code points this Python's Unicode database (unidata_version) has unassigned: repr escapes
    # them, and a JS engine with a newer Unicode version may not
    unassigned = sorted({ord(c) for text in strings(value) for c in text if unicodedata.category(c) == 'Cn'})
    out['repr'].append({'saferepr': saferepr(value, case['max']), 'repr': repr(value), 'unassigned': unassigned})

# 4. float repr from the exact bits
out['floats'] = [repr(struct.unpack('>d', bytes.fromhex(h))[0]) for h in batch['floats']]

# 5. our ISO strings read by Celery 5.2's parser and by datetime.fromisoformat, in µs since epoch
out['dates'] = [
    {'celery': micros(parse_iso8601(s)), 'fromisoformat': micros(datetime.fromisoformat(s))}
    for s in batch['dates']
]

out['unidata_version'] = unicodedata.unidata_version
json.dump(out, sys.stdout)
