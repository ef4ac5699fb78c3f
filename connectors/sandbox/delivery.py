"""delivery.py — how the sandbox talks to the connectors: one HTTP request (recorded as an
event), and a small scheduler for the webhooks that follow a send (status callbacks).

The scheduler is a heap of due jobs served by a few worker threads, not a thread per message:
a benchmark may push hundreds of sends a second through the sandbox. A job that reschedules
its successor when it finishes (sent -> delivered -> read) keeps one message's webhooks in
order. Failed deliveries are retried with backoff, as the providers do (at least once).
"""

import heapq
import http.client
import sys
import itertools
import threading
import time
import urllib.parse

MAX_RESPONSE = 1 << 20  # bytes of a connector's answer kept


class Response:
    def __init__(self, status=None, body="", content_type="", error=None, elapsed_ms=0):
        self.status = status          # HTTP status, None when no answer (connection error, timeout)
        self.body = body              # answer body as text
        self.content_type = content_type
        self.error = error            # why there is no answer
        self.elapsed_ms = elapsed_ms

    @property
    def ok(self):
        return self.status is not None and 200 <= self.status < 300

    def as_dict(self):
        return {"status": self.status, "body": self.body, "content_type": self.content_type,
                "error": self.error, "elapsed_ms": self.elapsed_ms}


def http_request(method, url, body=b"", headers=None, timeout=15.0):
    """One request, no redirects followed (providers do not follow them either)."""
    u = urllib.parse.urlsplit(url)
    if u.scheme not in ("http", "https") or not u.hostname:
        return Response(error="bad URL %r" % url)
    cls = http.client.HTTPSConnection if u.scheme == "https" else http.client.HTTPConnection
    target = (u.path or "/") + ("?" + u.query if u.query else "")
    start = time.monotonic()
    conn = cls(u.hostname, u.port, timeout=timeout)
    try:
        conn.request(method, target, body=body if method != "GET" else None, headers=headers or {})
        r = conn.getresponse()
        data = r.read(MAX_RESPONSE)
        return Response(r.status, data.decode("utf-8", "replace"), r.getheader("Content-Type", ""),
                        elapsed_ms=int((time.monotonic() - start) * 1000))
    except (OSError, http.client.HTTPException) as e:
        return Response(error="%s: %s" % (type(e).__name__, e),
                        elapsed_ms=int((time.monotonic() - start) * 1000))
    finally:
        conn.close()


class Dispatcher:
    """Runs callables at a given time on a few worker threads."""

    def __init__(self, workers=4):
        self._heap = []
        self._order = itertools.count()
        self._cv = threading.Condition()
        self._stopping = False
        self._threads = [threading.Thread(target=self._run, name="sandbox-dispatch-%d" % i, daemon=True)
                         for i in range(workers)]
        for t in self._threads:
            t.start()

    def schedule(self, delay_s, fn):
        with self._cv:
            heapq.heappush(self._heap, (time.monotonic() + max(0.0, delay_s), next(self._order), fn))
            self._cv.notify()

    def clear(self):
        with self._cv:
            self._heap = []

    def stop(self):
        with self._cv:
            self._stopping = True
            self._cv.notify_all()

    def _run(self):
        while True:
            with self._cv:
                while not self._stopping:
                    if self._heap:
                        wait = self._heap[0][0] - time.monotonic()
                        if wait <= 0:
                            break
                        self._cv.wait(wait)
                    else:
                        self._cv.wait()
                if self._stopping:
                    return
                _, _, fn = heapq.heappop(self._heap)
            try:
                fn()
            except Exception as e:  # a bug in one job must not kill the worker
                print("sandbox: dispatch job failed: %r" % e, file=sys.stderr, flush=True)
