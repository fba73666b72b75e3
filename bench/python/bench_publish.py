"""Publish rate of Python's `task.delay()`: N calls in a plain loop, as an application would.

argv: N.  stdout: {"n", "seconds", "ids"}.
The Redis result backend subscribes to each task's result channel at send time (Celery's
`on_task_call`), as it does for any client; publisher confirms are Celery's default (off).
"""
import json
import sys
import time

from bench_app import add


def main():
    n = int(sys.argv[1])
    ids = [add.delay(0, 0).id]  # connect, declare the queue and subscribe once before timing
    started = time.perf_counter()
    for i in range(n):
        ids.append(add.delay(i, 1).id)
    seconds = time.perf_counter() - started
    json.dump({"n": n, "seconds": seconds, "ids": ids}, sys.stdout)


if __name__ == "__main__":
    main()
