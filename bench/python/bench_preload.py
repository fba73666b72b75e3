"""Preload N bench.add(i, 1) tasks with Python's client and publisher confirms (BENCH_PRELOADER=python).

argv: N.  stdout: {"n", "seconds", "ids"} with ids[i] the task add(i, 1).
Run with BENCH_BACKEND=disabled:// so nothing subscribes to results while preloading.
"""
import json
import sys
import time

from bench_app import app

# py-amqp waits for each publisher confirm; Redis' LPUSH reply is its confirm anyway
app.conf.broker_transport_options = {"confirm_publish": True}


def main():
    n = int(sys.argv[1])
    started = time.perf_counter()
    with app.producer_or_acquire() as producer:
        ids = [app.send_task("bench.add", args=(i, 1), producer=producer).id for i in range(n)]
    json.dump({"n": n, "seconds": time.perf_counter() - started, "ids": ids}, sys.stdout)


if __name__ == "__main__":
    main()
