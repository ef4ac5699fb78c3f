"""core.py — the sandbox object the provider fakes share: settings, store, scheduler, and the
one place a webhook leaves the sandbox (post_webhook), so that every webhook is recorded as
an event with the connector's answer, and can be replayed byte for byte.
"""

import random
import secrets
import time

import delivery
from store import Store, now_ms


class Sandbox:
    def __init__(self, settings, log=None):
        self.settings = settings
        self.store = Store()
        self.dispatcher = delivery.Dispatcher(workers=4)
        self.generation = 0  # bumped by reset()
        self.log = log or (lambda msg: None)

    def reset(self):
        # Jobs already queued or running belong to the old generation: they stop at their next
        # check instead of posting (or scheduling) webhooks into the fresh state.
        self.generation += 1
        self.dispatcher.clear()
        self.store.reset()

    def schedule(self, delay_s, fn):
        """dispatcher.schedule, but the job is dropped if a reset happens before it runs."""
        gen = self.generation
        self.dispatcher.schedule(delay_s, lambda: fn() if gen == self.generation else None)

    def status_delay(self):
        lo, hi = self.settings.status_delay_ms
        return random.uniform(lo, hi) / 1000.0

    def post_webhook(self, kind, channel, url, body, headers, method="POST", signed_url=None,
                     ref=None, replay_of=None, attempt=1):
        """Sends one webhook now and records it. Returns (event, delivery.Response)."""
        started = now_ms()
        resp = delivery.http_request(method, url, body, headers, self.settings.webhook_timeout_s)
        event = {
            "kind": kind,                       # e.g. "whatsapp.message", "sms.status", "voice.gather"
            "channel": channel,                 # whatsapp | sms | voice
            "ms": started,
            "method": method,
            "url": url,                         # where it was delivered
            "signed_url": signed_url,           # Twilio: the URL the signature covers
            "headers": dict(headers),
            "body": body.decode("utf-8", "replace") if isinstance(body, bytes) else body,
            "ref": ref,                         # wamid / MessageSid / CallSid it is about
            "attempt": attempt,
            "replay_of": replay_of,
            "response": resp.as_dict(),
        }
        self.store.record_event(event)
        self.log("webhook %s %s -> %s" % (kind, url, resp.status if resp.status else resp.error))
        return event, resp

    def replay(self, event):
        """Sends a recorded webhook again, same bytes and headers (the provider's at-least-once)."""
        body = event["body"].encode("utf-8") if event["body"] is not None else b""
        return self.post_webhook(event["kind"], event["channel"], event["url"], body,
                                 event["headers"], event["method"], event["signed_url"],
                                 event["ref"], replay_of=event["id"])

    def post_async(self, delay_s, make, on_done=None, attempt=1):
        """Schedules `make()` -> kwargs of post_webhook, built when due (so the payload carries
        the time it is sent), retried with backoff while the connector does not answer 2xx, up
        to settings.webhook_retries more times; then on_done(ok) runs (the next status)."""
        gen = self.generation

        def job():
            args = make()
            _, resp = self.post_webhook(attempt=attempt, **args)
            if gen != self.generation:
                return
            if resp.ok or attempt > self.settings.webhook_retries:
                if on_done:
                    on_done(resp.ok)
                return
            backoff = min(0.5 * (2 ** (attempt - 1)), 8.0)
            self.post_async(backoff, lambda: args, on_done, attempt + 1)
        self.schedule(delay_s, job)


def random_hex(n_bytes):
    return secrets.token_hex(n_bytes)


def rfc2822(ts=None):
    return time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime(ts))
