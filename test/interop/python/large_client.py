"""Send one task with a large string argument from Python and print the result next to the expected digest.

argv: task name, size in bytes, timeout in seconds. stdout: {"got": result, "expected": {"length", "sha256"}}.
The argument is built here, so no large payload crosses stdin.
"""
import hashlib
import json
import sys

from interop_app import app


def main():
    task, size, timeout = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    data = "0123456789abcdef" * (size // 16)
    expected = {"length": len(data), "sha256": hashlib.sha256(data.encode()).hexdigest()}
    result = app.send_task(task, kwargs={"data": data})
    try:
        got = result.get(timeout=timeout)
    except Exception as exc:  # reported, so the test shows what happened
        got = {"error": type(exc).__name__, "message": str(exc)}
    json.dump({"got": got, "expected": expected}, sys.stdout)


if __name__ == "__main__":
    main()
