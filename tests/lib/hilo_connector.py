"""hilo_connector — the reference connector-side implementation of the hilo link protocol.

This module is the executable companion of docs/protocol.md: everything a connector must do on
the link is here, in one small file, and nothing else. A gateway team porting the protocol to
another language can read it top to bottom next to the document. It talks to the router with
pyzmq (a DEALER socket) and the generated `hilo_link_pb2` module (protoc --python_out of
proto/hilo_link.proto); it knows nothing about any provider.

What it does (section numbers refer to docs/protocol.md):

* §2 transport: one DEALER socket connected to the router's ROUTER; one ZeroMQ message = one
  serialized Frame. ZMQ_IMMEDIATE is set so that nothing is queued towards a dead router: while
  the link is down a send fails and the envelope simply stays pending. With `server_key` and
  `secret_key` (Z85 text, as `hilo link keygen` makes them) the socket is a CURVE client: the
  router must hold the secret of server_key, and it lets us in only if our public key (derived
  from secret_key) is in its link_keys, for the channel we say Hello on.
* §4 session: Hello -> Welcome. Hello is re-sent every interval until a Welcome arrives. The
  Welcome's heartbeat_ms and max_payload are adopted. Heartbeats are sent every heartbeat_ms;
  a router silent for 3 intervals is considered dead (session down, Hello again). A Nack
  HELLO_REQUIRED (the router does not know us, e.g. it restarted) also takes the session down.
* §5 envelopes: seq numbers from 1, unique within this object. Every envelope is kept until an
  Ack or a final Nack. After each Welcome, every unacked envelope is (re)sent; an envelope with
  no answer after `ack_timeout` is re-sent; Nack UNAVAILABLE re-sends it after a backoff. The
  router dedupes on channel + provider_message_id, so re-sending is always safe. An envelope
  larger than max_payload is refused locally (a final Nack TOO_LARGE), never sent.
* §4.1 senders (1.3): `senders` go in the Hello; the router then sends this connector the
  messages that go out from them (Outbound.from), and none from another announced sender.
* §5.2 which answer counts: the first Ack or final Nack of a seq ends the envelope; an answer to
  a seq no longer pending (a re-send's second Ack, with duplicate = true) is ignored (_finish).
* §7 outbound: Outbound frames are deduplicated on outbound_id (the router re-sends unsettled
  ones after its lease); each new one is handed to `on_outbound`. `report_delivery()` sends the
  DeliveryReport envelope that settles it.

Threading: one background I/O thread owns the socket (ZeroMQ sockets are not thread-safe).
Public methods may be called from any thread; they change the shared state under one lock and
wake the I/O thread through a pipe. Callbacks (`on_outbound`, `on_result`) run on the I/O
thread and must not block.

Typical use:

    c = Connector("tcp://127.0.0.1:5555", "sms", instance="sms-1")
    c.start()
    c.wait_session(10)
    seq = c.send_envelope(provider_message_id="SM123", from_="+16505551234", text="hola")
    res = c.wait_result(seq, 10)        # Result(kind="ack", ack=<Ack>) or kind="nack"
    ...
    c.close()
"""

import collections
import heapq
import os
import threading
import time

import zmq

import hilo_link_pb2 as pb

MAJOR = 1
MINOR = 1

CHANNELS = {
    "whatsapp": pb.CHANNEL_WHATSAPP,
    "sms": pb.CHANNEL_SMS,
    "voice": pb.CHANNEL_VOICE,
}

# Nack codes a connector must retry (docs/protocol.md §6). Every other code is final.
RETRYABLE_CODES = frozenset({pb.Nack.CODE_HELLO_REQUIRED, pb.Nack.CODE_UNAVAILABLE})


def channel_value(channel):
    """Accepts "sms", pb.CHANNEL_SMS or 2; returns the enum value."""
    if isinstance(channel, str):
        return CHANNELS[channel]
    return int(channel)


def curve_client(sock, server_key, secret_key):
    """Makes `sock` a CURVE client of the router whose public key is server_key (Z85, str or
    bytes), with our secret key (Z85); must be called before connect()."""
    enc = (lambda k: k.encode() if isinstance(k, str) else k)
    sock.curve_serverkey = enc(server_key)
    sock.curve_secretkey = enc(secret_key)
    sock.curve_publickey = zmq.curve_public(enc(secret_key))


def nack_code_name(code):
    """pb.Nack.CODE_INVALID_UTF8 -> "INVALID_UTF8"."""
    return pb.Nack.Code.Name(code)[len("CODE_"):]


def now_ms():
    return int(time.time() * 1000)


class Result:
    """The final answer to one envelope: kind "ack" (with .ack) or "nack" (with .nack, final)."""

    __slots__ = ("seq", "kind", "ack", "nack", "attempts", "at")

    def __init__(self, seq, kind, msg, attempts):
        self.seq = seq
        self.kind = kind
        self.ack = msg if kind == "ack" else None
        self.nack = msg if kind == "nack" else None
        self.attempts = attempts
        self.at = time.monotonic()

    @property
    def duplicate(self):
        return bool(self.ack and self.ack.duplicate)

    @property
    def debtor_id(self):
        return self.ack.debtor_id if self.ack else None

    def __repr__(self):
        if self.kind == "ack":
            return "Result(seq=%d ack duplicate=%s debtor=%r attempts=%d)" % (
                self.seq, self.ack.duplicate, self.ack.debtor_id, self.attempts)
        return "Result(seq=%d nack %s %r attempts=%d)" % (
            self.seq, nack_code_name(self.nack.code), self.nack.reason, self.attempts)


class _Pending:
    """An envelope we must keep until it is acked (or refused for good)."""

    __slots__ = ("seq", "data", "state", "sent_at", "attempts", "retry_at", "backoff")

    def __init__(self, seq, data):
        self.seq = seq
        self.data = data          # the serialized Frame
        self.state = "ready"      # ready (to send) | sent (waiting for the answer) | delayed
        self.sent_at = 0.0        # monotonic time of the last send
        self.attempts = 0         # sends so far
        self.retry_at = 0.0       # delayed: not before this
        self.backoff = 0.0        # the current UNAVAILABLE backoff


class Connector:
    """One connector process's link to one router (see the module docstring)."""

    def __init__(self, endpoint, channel, instance="pyconn", software="hilo_connector.py/1.0",
                 ack_timeout=5.0, hello_interval=1.0, window=256, max_outbound=0,
                 on_outbound=None, on_result=None, backoff_min=0.2, backoff_max=2.0, supports_expiry=True,
                 server_key=None, secret_key=None, senders=()):
        self.endpoint = endpoint
        self.server_key = server_key          # the router's CURVE public key (Z85); None = plain link
        self.secret_key = secret_key          # ours (Z85); the public key is derived from it
        self.channel = channel_value(channel)
        self.instance = instance
        self.software = software
        self.ack_timeout = ack_timeout        # re-send an envelope unanswered this long
        self.hello_interval = hello_interval  # Hello / heartbeat interval before any Welcome
        self.window = window                  # envelopes in flight at most (flow control)
        self.max_outbound = max_outbound
        # Protocol 1.1: this connector honours Outbound.expires_in_ms (it reports at once, or
        # the test returns the message with report_delivery(state=RETURNED)). False = a 1.0
        # connector, which the router sends only the bot's replies.
        self.supports_expiry = supports_expiry
        # Protocol 1.3: the addresses this connector sends from (our numbers); messages from one
        # of them come only to a connector that announced it. Empty: it serves any.
        self.senders = list(senders)
        self.on_outbound = on_outbound        # fn(connector, Outbound) for each NEW outbound
        self.on_result = on_result            # fn(connector, Result) for each final result
        self.backoff_min = backoff_min
        self.backoff_max = backoff_max

        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._next_seq = 1
        self._pending = {}                    # seq -> _Pending
        self._ready = collections.deque()     # seqs to send, in order
        self._delayed = []                    # heap of (retry_at, seq)
        self._inflight = 0                    # pending in state "sent"
        self.results = {}                     # seq -> Result (final)
        self.session_up = False
        self.welcome = None                   # the last Welcome
        self.heartbeat_s = hello_interval
        self.max_payload = 0
        self.outbounds = []                   # new Outbound messages, in arrival order
        self.outbound_seen = {}               # outbound_id -> [attempt numbers received]
        self._outbound_by_id = {}             # outbound_id -> the first Outbound received
        self._last_report = {}                # outbound_id -> the last DeliveryReport envelope
        self.stats = collections.Counter()    # sends, resends, acks, dup_acks, nacks:<CODE>...
        self._stop = False
        self._last_timers = 0.0
        self._last_hello = 0.0                # monotonic time of the last Hello sent
        self._thread = None
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        self._ctx = zmq.Context.instance()
        self._sock = None

    # ---- public API -----------------------------------------------------------------------

    def start(self):
        """Connects the DEALER and starts the I/O thread (which sends the first Hello)."""
        s = self._ctx.socket(zmq.DEALER)
        s.setsockopt(zmq.LINGER, 0)
        s.setsockopt(zmq.IMMEDIATE, 1)          # never queue towards a missing peer
        s.setsockopt(zmq.RECONNECT_IVL, 100)
        s.setsockopt(zmq.RECONNECT_IVL_MAX, 1000)
        s.setsockopt(zmq.SNDHWM, 10000)
        s.setsockopt(zmq.RCVHWM, 10000)
        if self.server_key:
            curve_client(s, self.server_key, self.secret_key)
        s.connect(self.endpoint)
        self._sock = s
        self._thread = threading.Thread(target=self._run, name="conn-" + self.instance, daemon=True)
        self._thread.start()
        return self

    def close(self):
        """Stops the I/O thread and closes the socket. Pending envelopes are dropped (a real
        connector would persist them or keep the provider's request unanswered)."""
        self._stop = True
        self._wake()
        if self._thread:
            self._thread.join(10)
        if self._sock is not None:
            self._sock.close(0)
            self._sock = None
        for fd in (self._wake_r, self._wake_w):
            try:
                os.close(fd)
            except OSError:
                pass
        self._wake_r = self._wake_w = -1

    def wait_session(self, timeout):
        """Waits until a Welcome has opened the session. Returns True, or False on timeout."""
        return self._wait(lambda: self.session_up, timeout)

    def send_envelope(self, provider_message_id="", from_="", to="", text="", *, media=None,
                      button=None, voice=None, delivery=None, sent_at_ms=None, contact_name="",
                      wants_reply=False, channel=None, envelope=None):
        """Queues one envelope and returns its seq. Either pass the fields, or a ready
        pb.Envelope as `envelope` (its seq and, when unset, channel are filled in).
        media: list of dicts/pb.Media; button: dict/pb.Button; voice: dict/pb.VoiceEvent;
        delivery: dict/pb.DeliveryReport."""
        if envelope is None:
            env = pb.Envelope(provider_message_id=provider_message_id, to=to, text=text,
                              contact_name=contact_name, wants_reply=wants_reply)
            setattr(env, "from", from_)
            env.sent_at_ms = now_ms() if sent_at_ms is None else sent_at_ms
            for m in media or ():
                env.media.add().CopyFrom(m if isinstance(m, pb.Media) else pb.Media(**m))
            if button is not None:
                env.button.CopyFrom(button if isinstance(button, pb.Button) else pb.Button(**button))
            if voice is not None:
                env.voice.CopyFrom(voice if isinstance(voice, pb.VoiceEvent) else pb.VoiceEvent(**voice))
            if delivery is not None:
                env.delivery.CopyFrom(delivery if isinstance(delivery, pb.DeliveryReport)
                                      else pb.DeliveryReport(**delivery))
        else:
            env = pb.Envelope()
            env.CopyFrom(envelope)
        env.channel = self.channel if channel is None else channel_value(channel)
        with self._lock:
            seq = self._enqueue(env)
        self._wake()
        return seq

    def _enqueue(self, env):
        """Gives `env` the next seq and queues it (caller holds the lock). Returns the seq."""
        seq = self._next_seq
        self._next_seq += 1
        env.seq = seq
        frame = pb.Frame(major=MAJOR, minor=MINOR, envelope=env)
        self._pending[seq] = _Pending(seq, frame.SerializeToString())
        self._ready.append(seq)
        return seq

    def report_delivery(self, outbound_id, state, provider_message_id="", debtor_id=None,
                        error_code="", error_message="", to=""):
        """Sends the DeliveryReport envelope for one outbound; returns its seq.

        state: a pb.DeliveryReport.State value or "sent" / "delivered" / "read" / "failed".
        outbound_id and debtor_id: copied from the Outbound (debtor_id defaults to the one of
        the Outbound received with that id). provider_message_id: the provider's id for the
        message (always, when known: later reports that carry only it are matched by it).
        The envelope's own provider_message_id is "dr:<provider id or outbound id>:<state>", so
        that each state change is one envelope and a re-send of it stays one report."""
        if isinstance(state, str):
            state = pb.DeliveryReport.State.Value("STATE_" + state.upper())
        name = pb.DeliveryReport.State.Name(state)[len("STATE_"):].lower()
        with self._lock:
            o = self._outbound_by_id.get(outbound_id)
        if debtor_id is None:
            debtor_id = o.debtor_id if o is not None else ""
        env = pb.Envelope(provider_message_id="dr:%s:%s" % (provider_message_id or outbound_id, name),
                          to=to, sent_at_ms=now_ms(),
                          delivery=pb.DeliveryReport(outbound_id=outbound_id, debtor_id=debtor_id,
                                                     provider_message_id=provider_message_id,
                                                     state=state, error_code=error_code,
                                                     error_message=error_message))
        setattr(env, "from", o.to if o is not None else "")
        env.channel = self.channel
        with self._lock:
            seq = self._enqueue(env)
            self._last_report[outbound_id] = env   # re-sent if the outbound comes back (§10.2)
        self._wake()
        return seq

    def wait_result(self, seq, timeout):
        """Waits for the final answer to `seq` (an Ack, or a Nack that will not be retried).
        Returns the Result, or None on timeout."""
        ok = self._wait(lambda: seq in self.results, timeout)
        return self.results.get(seq) if ok else None

    def wait_all(self, timeout):
        """Waits until no envelope is pending. Returns True, or False on timeout."""
        return self._wait(lambda: not self._pending, timeout)

    def wait_outbound(self, timeout, count=1):
        """Waits until at least `count` distinct outbounds have arrived; returns the list."""
        self._wait(lambda: len(self.outbounds) >= count, timeout)
        with self._lock:
            return list(self.outbounds)

    def pending_count(self):
        with self._lock:
            return len(self._pending)

    def acked_count(self):
        with self._lock:
            return sum(1 for r in self.results.values() if r.kind == "ack")

    # ---- the I/O thread -------------------------------------------------------------------

    def _wake(self):
        try:
            os.write(self._wake_w, b"x")
        except (BlockingIOError, OSError):
            pass

    def _wait(self, pred, timeout):
        deadline = time.monotonic() + timeout
        with self._cond:
            while not pred():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.5))
            return True

    def _send(self, frame_bytes):
        """One ZeroMQ message. False when it cannot be queued now (no connection: IMMEDIATE)."""
        try:
            self._sock.send(frame_bytes, zmq.NOBLOCK)
            return True
        except zmq.Again:
            return False

    def _control(self, **body):
        return pb.Frame(major=MAJOR, minor=MINOR, **body).SerializeToString()

    def _send_hello(self):
        return self._send(self._control(hello=pb.Hello(channel=self.channel, instance=self.instance,
                                                software=self.software,
                                                max_outbound=self.max_outbound,
                                                supports_expiry=self.supports_expiry,
                                                senders=self.senders)))

    def _run(self):
        poller = zmq.Poller()
        poller.register(self._sock, zmq.POLLIN)
        poller.register(self._wake_r, zmq.POLLIN)
        last_rx = time.monotonic()
        last_tx_hb = 0.0
        while not self._stop:
            now = time.monotonic()
            with self._lock:
                # Session upkeep: Hello until welcomed; heartbeats; the router's silence.
                if self.session_up and now - last_rx > 3 * self.heartbeat_s:
                    self._session_down()
                if not self.session_up:
                    # Hello every interval (heartbeat_s: the last Welcome's, hello_interval
                    # before the first) until a Welcome.
                    if now - self._last_hello >= self.heartbeat_s:
                        # Not connected yet (ZMQ_IMMEDIATE): try again shortly, not a whole
                        # interval later.
                        sent = self._send_hello()
                        self._last_hello = now if sent else now - self.heartbeat_s + 0.05
                elif now - last_tx_hb >= self.heartbeat_s:
                    self._send(self._control(heartbeat=pb.Heartbeat(sent_ms=now_ms())))
                    last_tx_hb = now
                if self.session_up:
                    self._timers(now)
                    self._dispatch()
            timeout_ms = 50 if self.session_up else 100
            events = dict(poller.poll(timeout_ms))
            if self._wake_r in events:
                try:
                    while os.read(self._wake_r, 4096):
                        pass
                except (BlockingIOError, OSError):
                    pass
            if self._sock in events:
                with self._lock:
                    while True:
                        try:
                            data = self._sock.recv(zmq.NOBLOCK)
                        except zmq.Again:
                            break
                        last_rx = time.monotonic()
                        if self._on_frame(data):
                            last_tx_hb = 0.0  # a fresh session: heartbeat right away
                    self._cond.notify_all()

    def _session_down(self):
        """The router lost us (HELLO_REQUIRED) or went silent: keep every envelope, put the
        in-flight ones back in the queue; they are re-sent after the next Welcome."""
        self.session_up = False
        self.stats["session_down"] += 1
        requeue = sorted(s for s, p in self._pending.items() if p.state == "sent")
        for s in reversed(requeue):
            self._pending[s].state = "ready"
            self._ready.appendleft(s)
        self._inflight = 0

    def _timers(self, now):
        if now - self._last_timers < 0.05:
            return
        self._last_timers = now
        # Ack timeout: re-send (stays in flight).
        for p in self._pending.values():
            if p.state == "sent" and now - p.sent_at > self.ack_timeout:
                if self._send(p.data):
                    p.sent_at = now
                    p.attempts += 1
                    self.stats["resends"] += 1
                    self.stats["timeouts"] += 1
        # UNAVAILABLE backoff over: back in the queue.
        while self._delayed and self._delayed[0][0] <= now:
            _, seq = heapq.heappop(self._delayed)
            p = self._pending.get(seq)
            if p is not None and p.state == "delayed":
                p.state = "ready"
                self._ready.appendleft(seq)

    def _dispatch(self):
        while self._ready and self._inflight < self.window:
            seq = self._ready[0]
            p = self._pending.get(seq)
            if p is None or p.state != "ready":
                self._ready.popleft()
                continue
            if self.max_payload and len(p.data) > self.max_payload:
                # The router would refuse it (TOO_LARGE): a final refusal, decided here.
                self._ready.popleft()
                self.stats["too_large"] += 1
                self._finish(seq, "nack", pb.Nack(
                    seq=seq, code=pb.Nack.CODE_TOO_LARGE, retryable=False,
                    reason="frame of %d bytes exceeds max_payload %d (not sent)"
                    % (len(p.data), self.max_payload)))
                continue
            if not self._send(p.data):
                return  # no connection right now; the Hello/heartbeat logic notices
            self._ready.popleft()
            p.state = "sent"
            p.sent_at = time.monotonic()
            p.attempts += 1
            self._inflight += 1
            self.stats["sends"] += 1
            if p.attempts > 1:
                self.stats["resends"] += 1

    def _finish(self, seq, kind, msg):
        p = self._pending.pop(seq, None)
        if p is None:
            return  # an answer to a re-send we already settled
        if p.state == "sent":
            self._inflight -= 1
        r = Result(seq, kind, msg, p.attempts)
        self.results[seq] = r
        self._cond.notify_all()
        if self.on_result:
            self.on_result(self, r)

    def _on_frame(self, data):
        """Handles one frame from the router. Returns True when it opened a session."""
        f = pb.Frame()
        try:
            f.ParseFromString(data)
        except Exception:
            self.stats["bad_frames"] += 1
            return False
        if f.major != MAJOR:
            self.stats["bad_frames"] += 1
            return False
        body = f.WhichOneof("body")
        if body == "welcome":
            opened = not self.session_up
            self.welcome = f.welcome
            if f.welcome.heartbeat_ms:
                self.heartbeat_s = f.welcome.heartbeat_ms / 1000.0
            self.max_payload = f.welcome.max_payload
            self.session_up = True
            self.stats["welcomes"] += 1
            return opened
        if body == "ack":
            self.stats["acks"] += 1
            if f.ack.duplicate:
                self.stats["dup_acks"] += 1
            self._finish(f.ack.seq, "ack", f.ack)
        elif body == "nack":
            n = f.nack
            self.stats["nacks:" + nack_code_name(n.code)] += 1
            if n.code == pb.Nack.CODE_HELLO_REQUIRED:
                # The router does not know us: one Hello now (the rest of a burst of these
                # nacks finds the session already down); everything unacked is re-sent after
                # the Welcome.
                if self.session_up:
                    self._session_down()
                    self._last_hello = 0.0
            elif n.retryable or n.code in RETRYABLE_CODES:
                p = self._pending.get(n.seq)
                if p is not None and p.state == "sent":
                    self._inflight -= 1
                    p.backoff = min(max(p.backoff * 2, self.backoff_min), self.backoff_max)
                    p.retry_at = time.monotonic() + p.backoff
                    p.state = "delayed"
                    heapq.heappush(self._delayed, (p.retry_at, n.seq))
            else:
                self._finish(n.seq, "nack", n)
        elif body == "outbound":
            o = f.outbound
            if not o.outbound_id:
                # A voice-turn answer without a stored message (an action only): nothing to
                # dedupe, never re-sent by the router (docs/protocol.md §10.4).
                self.stats["outbound_frames"] += 1
                self.outbounds.append(o)
                if self.on_outbound:
                    self.on_outbound(self, o)
                return False
            seen = self.outbound_seen.setdefault(o.outbound_id, [])
            seen.append(o.attempt)
            self.stats["outbound_frames"] += 1
            if len(seen) == 1:
                self.outbounds.append(o)
                self._outbound_by_id[o.outbound_id] = o
                if self.on_outbound:
                    self.on_outbound(self, o)
            elif o.outbound_id in self._last_report:
                # Already handled and reported, yet the router sent it again (its lease ran out
                # before our report was recorded): never to the provider again; report again.
                env = pb.Envelope()
                env.CopyFrom(self._last_report[o.outbound_id])
                self._enqueue(env)
                self.stats["reports_resent"] += 1
        elif body == "heartbeat":
            self.stats["heartbeats_rx"] += 1
        return False
