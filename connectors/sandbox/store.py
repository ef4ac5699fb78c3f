"""store.py — the sandbox's memory: recorded API calls, the webhooks it sent, the failure rules
tests injected, and one transcript per debtor phone.

Everything lives under one lock; the HTTP handler threads and the webhook workers all go
through the methods here. Lists are bounded so a benchmark that pushes thousands of messages
through the sandbox does not grow it without end. Nothing is persisted: a restart or
POST /_sandbox/reset starts from empty.
"""

import collections
import re
import threading
import time

MAX_CALLS = 20000        # recorded API calls kept (oldest dropped)
MAX_EVENTS = 20000       # recorded webhooks kept
MAX_PHONE_ITEMS = 1000   # transcript items kept per phone


def now_ms():
    return int(time.time() * 1000)


def e164(addr):
    """'+1 (650) 555-1234', '16505551234', 'whatsapp:+1650...' -> '+16505551234'.

    The sandbox only needs a stable key per phone, not the router's full normalization
    (proto/src/phone.c): keep the digits and put '+' in front. '' when there are no digits.
    """
    digits = re.sub(r"\D", "", addr or "")
    return "+" + digits if digits else ""


class Rule:
    """One injected failure: answer `status` (and/or wait `delay_ms`) to the next `count` API
    calls, or to every call until `until`; or (deliver) make the next sends fail at delivery.
    `to` limits it to one recipient; `skip` lets that many matching calls through first (the
    second part of a long SMS is the second Messages.json call for its number)."""

    def __init__(self, api, status=None, delay_ms=0, deliver=None, count=None, seconds=None,
                 code=None, message=None, to=None, skip=0, match=None):
        self.api = api
        self.to = e164(to) if to else None
        self.skip = skip
        self.match = match  # only calls whose message text contains this (None = every call)
        self.status = status
        self.delay_ms = delay_ms
        self.deliver = deliver
        self.count = count
        self.until = time.time() + seconds if seconds else None
        self.code = code
        self.message = message

    def active(self):
        if self.until is not None:
            return time.time() < self.until
        return self.count > 0

    def as_dict(self):
        d = {"api": self.api, "status": self.status, "delay_ms": self.delay_ms,
             "deliver": self.deliver, "code": self.code, "message": self.message,
             "to": self.to, "skip_left": self.skip, "match": self.match}
        if self.until is not None:
            d["seconds_left"] = round(max(0.0, self.until - time.time()), 3)
        else:
            d["count_left"] = self.count
        return d


class Store:
    def __init__(self):
        self.lock = threading.RLock()
        self.reset()

    def reset(self):
        with self.lock:
            self._seq = 0
            self.calls = collections.deque(maxlen=MAX_CALLS)
            self.events = collections.deque(maxlen=MAX_EVENTS)
            self.rules = []
            self.phones = {}         # e164 -> {"version": int, "items": deque}
            self.by_pmid = {}        # provider message id -> transcript item (outbound and inbound)
            self.messages = {}       # Twilio SM sid -> message resource (for GET .../Messages/SM.json)
            self.last_inbound = {}   # (channel, e164) -> time.time() of the debtor's last message
            self.voice_calls = {}    # CallSid -> voice.Call
            self.call_outcomes = {}  # e164 -> what the phone does with a call we place (calls_out.py)

    def next_id(self):
        with self.lock:
            self._seq += 1
            return self._seq

    # ---- API calls --------------------------------------------------------------------------

    def record_call(self, record):
        with self.lock:
            record["id"] = self.next_id()
            self.calls.append(record)
            return record

    def list_calls(self, api=None, to=None, since=0):
        to = e164(to) if to else None
        with self.lock:
            return [c for c in self.calls
                    if (not api or c["api"] == api) and (not to or c.get("to") == to)
                    and c["id"] > since]

    # ---- webhooks sent ------------------------------------------------------------------------

    def record_event(self, event):
        with self.lock:
            event["id"] = self.next_id()
            self.events.append(event)
            return event

    def get_event(self, event_id):
        with self.lock:
            for e in self.events:
                if e["id"] == event_id:
                    return e
        return None

    def list_events(self, channel=None, kind=None, since=0):
        with self.lock:
            return [e for e in self.events
                    if (not channel or e["channel"] == channel) and (not kind or e["kind"] == kind)
                    and e["id"] > since]

    # ---- failure injection --------------------------------------------------------------------

    def add_rule(self, rule):
        with self.lock:
            self.rules.append(rule)

    def take_rule(self, api, deliver, to=None, text=""):
        """Consumes one use of the first active rule of that api and kind (deliver or answer)
        that applies to a call for `to` with this message text; a rule still skipping lets the
        call through (one skip used) and the next rule is tried."""
        to = e164(to) if to else None
        with self.lock:
            self.rules = [r for r in self.rules if r.active()]
            for r in self.rules:
                if (r.api == api and bool(r.deliver) == deliver and (r.to is None or r.to == to)
                        and (not r.match or r.match in (text or ""))):
                    if r.skip > 0:
                        r.skip -= 1
                        continue
                    if r.until is None:
                        r.count -= 1
                    return r
        return None

    def list_rules(self):
        with self.lock:
            self.rules = [r for r in self.rules if r.active()]
            return [r.as_dict() for r in self.rules]

    def clear_rules(self):
        with self.lock:
            self.rules = []

    # ---- transcripts --------------------------------------------------------------------------

    def _phone(self, phone):
        p = self.phones.get(phone)
        if p is None:
            p = self.phones[phone] = {"version": 0, "items": collections.deque(maxlen=MAX_PHONE_ITEMS)}
        return p

    def add_item(self, phone, item):
        """Appends to a phone's transcript; returns the item (shared: update with update_item)."""
        with self.lock:
            item.setdefault("ms", now_ms())
            item["id"] = self.next_id()
            p = self._phone(phone)
            p["items"].append(item)
            p["version"] = item["id"]
            if item.get("pmid"):
                self.by_pmid[item["pmid"]] = (phone, item)
            return item

    def update_item(self, phone, item, **changes):
        with self.lock:
            item.update(changes)
            self._phone(phone)["version"] = self.next_id()

    def item_by_pmid(self, pmid):
        with self.lock:
            return self.by_pmid.get(pmid, (None, None))

    def phone_view(self, phone):
        with self.lock:
            p = self._phone(phone)
            calls = [c.view() for c in self.voice_calls.values() if c.phone == phone][-5:]
            return {"phone": phone, "version": p["version"],
                    "items": [dict(i) for i in p["items"]], "calls": calls}

    def set_call_outcome(self, phone, outcome):
        with self.lock:
            self.call_outcomes[phone] = outcome

    def call_outcome(self, phone):
        with self.lock:
            return self.call_outcomes.get(phone, "ring")

    def mark_inbound(self, channel, phone):
        with self.lock:
            self.last_inbound[(channel, phone)] = time.time()

    def since_inbound(self, channel, phone):
        """Seconds since the debtor last wrote on that channel, None if never."""
        with self.lock:
            t = self.last_inbound.get((channel, phone))
        return None if t is None else time.time() - t
