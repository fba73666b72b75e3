"""Tasks of the stamps suite (Celery 5.3+): each returns the stamps its request carried."""
import time

from interop_app import app


@app.task(name="py.stamps", bind=True)
def stamps(self, *args, **kwargs):
    return {"stamped_headers": sorted(self.request.stamped_headers or []), "stamps": self.request.stamps or {}}


@app.task(name="py.stamps_sleep", bind=True)
def stamps_sleep(self, seconds=1.0):
    time.sleep(seconds)
    return "slept"
