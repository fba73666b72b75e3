"""Build real Python Celery canvas from the JSON descriptions the TypeScript suites share.

A description is one of:
  {"task": name, "args": [...], "kwargs": {...}, "immutable": bool, "options": {...}}
  {"chain": [D, ...], "options": {...}}
  {"group": [D, ...], "options": {...}}
  {"chord": [D, ...], "body": D, "options": {...}}
  {"map": D, "it": [...]}, {"starmap": D, "it": [...]}, {"chunks": D, "it": [...], "n": n}
Options "link" / "link_error" hold descriptions (one or a list); the rest go to `.set()`.
test/canvas/support/canvas-description.ts builds the same canvas with our builders.
"""
from celery import chain, chord, group, signature
from celery.canvas import chunks, xmap, xstarmap


def build(d, app):
    if "chain" in d:
        sig = chain(*[build(x, app) for x in d["chain"]])
    elif "group" in d:
        sig = group([build(x, app) for x in d["group"]], app=app)
    elif "chord" in d:
        sig = chord([build(x, app) for x in d["chord"]], build(d["body"], app), app=app)
    elif "map" in d:
        sig = xmap(build(d["map"], app), d["it"], app=app)
    elif "starmap" in d:
        sig = xstarmap(build(d["starmap"], app), d["it"], app=app)
    elif "chunks" in d:
        sig = chunks(build(d["chunks"], app), d["it"], d["n"], app=app)
    else:
        sig = signature(d["task"], args=tuple(d.get("args", [])), kwargs=d.get("kwargs", {}), immutable=d.get("immutable", False), app=app)
    options = dict(d.get("options", {}))
    for key in ("link", "link_error"):
        if key in options:
            value = options.pop(key)
            for item in value if isinstance(value, list) else [value]:
                getattr(sig, key)(build(item, app))
    if options:
        sig.set(**options)
    return sig
