"""Round trip of one task at a time with Python's client: `add.delay(i, 1).get()`, M times.

argv: M, warm-up count.  stdout: {"latenciesMs": [...], "ids": [...]} (warm-up calls excluded
from the latencies, included in ids so the bench can delete their results).
"""
import json
import sys
import time

from bench_app import add


def main():
    m = int(sys.argv[1])
    warmup = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    ids = []
    latencies = []
    for i in range(warmup + m):
        started = time.perf_counter()
        r = add.delay(i, 1)
        value = r.get(timeout=30)
        elapsed = (time.perf_counter() - started) * 1000.0
        if value != i + 1:
            raise SystemExit(f"bench.add({i}, 1) returned {value!r}")
        ids.append(r.id)
        if i >= warmup:
            latencies.append(elapsed)
    json.dump({"latenciesMs": latencies, "ids": ids}, sys.stdout)


if __name__ == "__main__":
    main()
