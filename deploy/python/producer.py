"""The mixed fleet's producer: sends Celery tasks that the Nest worker and the Python worker run, from
Python, as any existing Celery client would, and checks every result. Exits 0 when all are right.

  FLEET_NEST_QUEUE    a queue only the Nest worker consumes (default nest)
  FLEET_PYTHON_QUEUE  a queue only the Python worker consumes (default python)
  FLEET_SHARED_QUEUE  the queue both consume (default celery)
  FLEET_WORKERS       node names to ping first, comma-separated (default nestjs@worker,python@python-worker)
  FLEET_TIMEOUT       seconds to wait for each result (default 60)
plus the broker and backend of fleet.py (CELERY_BROKER_URL, CELERY_RESULT_BACKEND).
"""
import os
import sys
import time

from celery import chain, group

from fleet import app

NEST = os.environ.get("FLEET_NEST_QUEUE", "nest")
PYTHON = os.environ.get("FLEET_PYTHON_QUEUE", "python")
SHARED = os.environ.get("FLEET_SHARED_QUEUE", "celery")
WORKERS = [w.strip() for w in os.environ.get("FLEET_WORKERS", "nestjs@worker,python@python-worker").split(",") if w.strip()]
TIMEOUT = float(os.environ.get("FLEET_TIMEOUT", "60"))


def on(queue, name, *args):
    return app.signature(name, args, queue=queue)


def ping_all():
    """Every named worker answers `inspect ping` (they may still be starting: retried until TIMEOUT)."""
    deadline = time.monotonic() + TIMEOUT
    while True:
        replies = app.control.inspect(destination=WORKERS, timeout=2).ping() or {}
        missing = [w for w in WORKERS if w not in replies]
        if not missing:
            print(f"ping: {sorted(replies)} answered")
            return
        if time.monotonic() > deadline:
            raise SystemExit(f"ping: no answer from {missing}")
        time.sleep(1)


def check(label, result, expected):
    got = result.get(timeout=TIMEOUT)
    print(f"{label}: {got}{'' if got == expected else f'  (expected {expected})'}")
    return got == expected


def main():
    ping_all()
    ok = [
        check(f"tasks.add(2, 3) on {NEST} (Nest worker)", on(NEST, "tasks.add", 2, 3).delay(), 5),
        check(f"tasks.mul(6, 7) on {PYTHON} (Python worker)", on(PYTHON, "tasks.mul", 6, 7).delay(), 42),
        # each step's result is the next one's first argument, across both workers
        check(
            "chain add(2, 3) on Nest | mul(10) on Python | add(1) on Nest",
            chain(on(NEST, "tasks.add", 2, 3), on(PYTHON, "tasks.mul", 10), on(NEST, "tasks.add", 1)).delay(),
            51,
        ),
        # twenty tasks on the queue both consume: whichever worker takes one, the result is the same
        check(
            f"group of 20 tasks.xsum on {SHARED} (both workers)",
            group(on(SHARED, "tasks.xsum", list(range(i + 1))) for i in range(20)).delay(),
            [sum(range(i + 1)) for i in range(20)],
        ),
    ]
    print("mixed fleet: all results right" if all(ok) else "mixed fleet: WRONG RESULTS")
    return 0 if all(ok) else 1


if __name__ == "__main__":
    sys.exit(main())
