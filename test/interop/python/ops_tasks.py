"""Python tasks for the worker-ops interop suites (retries seen from our client).

Loaded by interop_app.py so a Python worker started on it has them.
"""
from interop_app import app


@app.task(name="py.retry_twice", bind=True, max_retries=3)
def retry_twice(self, delay=0.4):
    """Retries twice (RETRY stored between attempts), then succeeds with the attempt count."""
    if self.request.retries < 2:
        raise self.retry(countdown=delay, exc=ValueError("flaky %d" % self.request.retries))
    return {"attempts": self.request.retries + 1}


@app.task(name="py.retry_forever", bind=True, max_retries=1)
def retry_forever(self):
    """Always retries: past max_retries it fails with MaxRetriesExceededError."""
    raise self.retry(countdown=0.2)
