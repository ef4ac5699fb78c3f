"""The connector side of the hilo link (docs/protocol.md), as one class: `Link`.

A gateway team's connector makes one Link per session: it connects a ZeroMQ DEALER to the
router (CURVE client with the connector's key), says Hello, keeps every inbound envelope until
the router acks it (re-sending after a Welcome, an ack timeout or UNAVAILABLE), hands each new
Outbound to the connector once (deduplicated on outbound_id) and sends the delivery reports
that settle them. What it does not do is the provider's side: webhooks, API calls, a durable
spool; the connector around it owns those.

Threading: one I/O thread owns the socket (a ZeroMQ socket must stay on one thread). Public
methods may be called from any thread: they change shared state under one lock and wake the I/O
thread through a pipe. Callbacks run on the I/O thread and must not block (hand the work to a
queue of your own).
"""

import collections
import logging
import os
import threading
import time

try:
    import zmq
except ImportError as e:  # say which Debian package is missing, not only the module
    raise ImportError("hilo_link needs pyzmq (Debian: apt install python3-zmq): %s" % e) from e
try:
    from . import hilo_link_pb2 as pb
except ImportError as e:
    raise ImportError("hilo_link needs protobuf and its generated hilo_link_pb2 module (Debian: apt install "
                      "python3-protobuf; from a source tree, install the package: clients/python/README.md): %s"
                      % e) from e

from .keys import check_key, public_key

log = logging.getLogger("hilo_link")

PROTOCOL_MAJOR = 1
PROTOCOL_MINOR = 3  # Hello.senders (1.3); the minor is informative: features go by Hello flags

CHANNELS = {"whatsapp": pb.CHANNEL_WHATSAPP, "sms": pb.CHANNEL_SMS, "voice": pb.CHANNEL_VOICE}

# Delivery report states by name (report(state="sent")), and those that settle a message: its
# report is answered again, unchanged, when the router hands the same outbound over again.
STATES = {name[len("STATE_"):].lower(): value for name, value in pb.DeliveryReport.State.items()
          if value != pb.DeliveryReport.STATE_UNSPECIFIED}
_FINAL_STATES = frozenset({pb.DeliveryReport.STATE_SENT, pb.DeliveryReport.STATE_DELIVERED,
                           pb.DeliveryReport.STATE_READ, pb.DeliveryReport.STATE_FAILED,
                           pb.DeliveryReport.STATE_UNKNOWN})
# Nacks to a Hello that no retry will cure (§4.3): a configuration or implementation problem.
_HELLO_REFUSALS = frozenset({pb.Nack.CODE_UNKNOWN_CHANNEL, pb.Nack.CODE_VERSION, pb.Nack.CODE_MALFORMED,
                             pb.Nack.CODE_FORBIDDEN})
_HANDSHAKE_EVENTS = {
    zmq.EVENT_HANDSHAKE_FAILED_AUTH: "the router refused our CURVE key (is its public key in the router's link_keys?)",
    zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL: "CURVE handshake failed (is server_key the router's public key?)",
    zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL: "handshake failed (a router without CURVE, or another server on the port?)",
}
PROVIDER_ID_MAX = 256  # bytes of Envelope.provider_message_id (§7.1)


def _enum(table, value, what):
    """A name of `table` ("sms", "SENT", any case) or one of its values -> the value."""
    if isinstance(value, str):
        value = table.get(value.lower(), value)
    if value not in table.values():
        raise ValueError("unknown %s %r (one of %s)" % (what, value, ", ".join(table)))
    return int(value)


REMEMBERED_OUTBOUNDS = 100000  # outbound ids kept for dedupe (hours of traffic at a busy connector)


def _trim(ids):
    while len(ids) > REMEMBERED_OUTBOUNDS:
        ids.popitem(last=False)


def _now_ms():
    return int(time.time() * 1000)


class Result:
    """The final answer to one envelope.

    acked: True for an Ack (the router committed it: answer the provider 2xx); False for a final
    Nack (it will never be accepted as it is: log it, dead-letter it). duplicate and debtor_id
    come from the Ack; code ("INVALID", "FORBIDDEN", ...) and reason from the Nack. local: the
    Nack was decided here without sending (TOO_LARGE: larger than the router's max_payload)."""

    __slots__ = ("seq", "acked", "duplicate", "debtor_id", "code", "reason", "sends", "local")

    def __init__(self, seq, acked, duplicate=False, debtor_id="", code=None, reason="", sends=0, local=False):
        self.seq = seq
        self.acked = acked
        self.duplicate = duplicate
        self.debtor_id = debtor_id
        self.code = code
        self.reason = reason
        self.sends = sends
        self.local = local

    def __repr__(self):
        if self.acked:
            return "Result(seq=%d acked duplicate=%s debtor_id=%r)" % (self.seq, self.duplicate, self.debtor_id)
        return "Result(seq=%d nack %s %r%s)" % (self.seq, self.code, self.reason, " local" if self.local else "")


class Ticket:
    """What publish() and report() return: the envelope's seq, and a way to wait for its answer."""

    __slots__ = ("seq", "_link")

    def __init__(self, link, seq):
        self.seq = seq
        self._link = link

    def wait(self, timeout):
        """The envelope's Result once the router answered for good; None after `timeout` seconds
        (the envelope stays pending and is still re-sent: the answer may come later)."""
        return self._link._wait_result(self.seq, timeout)

    @property
    def result(self):
        """The Result if the answer is in, else None (does not wait)."""
        with self._link._lock:
            return self._link._results.get(self.seq)

    def __repr__(self):
        return "Ticket(seq=%d)" % self.seq


class _Kept:
    """An envelope kept until its Ack or final Nack (§5.2). state: queued (to send, in order),
    sent (waiting for the answer), backoff (after UNAVAILABLE, until not_before)."""

    __slots__ = ("frame", "state", "sent_at", "sends", "not_before", "delay")

    def __init__(self, frame):
        self.frame = frame        # the serialized Frame, unchanged on every re-send
        self.state = "queued"
        self.sent_at = 0.0        # monotonic time of the last send
        self.sends = 0
        self.not_before = 0.0
        self.delay = 0.0          # the current UNAVAILABLE backoff (doubles)


class Link:
    """One connector session with a hilo router.

    endpoint: the router's `link_bind` (e.g. "tcp://10.0.0.5:5555"). channel: "whatsapp", "sms"
    or "voice". instance: unique per connector process ("acme-sms-1"). server_key: the router's
    public key (`hilo link pubkey`); secret_key (Z85 text) or secret_key_file (a file of mode
    0600 as `hilo link keygen` writes it): ours. Without server_key the link is plain (only for a
    router with link_auth = none).

    senders (1.3): the numbers this connector sends from. supports_expiry (1.1): the connector
    honours Outbound.expires_in_ms and returns (report "returned") what it cannot hand off in
    time; without it only the bot's answers come. supports_at_most_once (1.2): it reports
    "calling" and waits for the Ack before calling the provider for an at_most_once Outbound.

    on_outbound(link, outbound): called on the I/O thread for each new Outbound (a
    hilo_link_pb2.Outbound); without it, outbounds queue for next_outbound() / outbounds().
    on_result(link, result): called for each final Result.
    """

    def __init__(self, endpoint, channel, instance, *, server_key=None, secret_key=None, secret_key_file=None,
                 senders=(), supports_expiry=True, supports_at_most_once=False, software=None, max_outbound=0,
                 on_outbound=None, on_result=None, ack_timeout=5.0, window=256, backoff=(0.2, 2.0)):
        from . import __version__
        self.endpoint = endpoint
        self.channel = _enum(CHANNELS, channel, "channel")
        if not instance:
            raise ValueError("instance must name this connector process (e.g. \"sms-1\")")
        self.instance = instance
        if secret_key_file is not None:
            from .keys import read_secret_key
            secret_key = read_secret_key(secret_key_file)
        if server_key is not None:
            if secret_key is None:
                raise ValueError("server_key needs our secret_key or secret_key_file")
            server_key = check_key(server_key, "server_key")
            secret_key = check_key(secret_key, "secret_key")
        self._server_key = server_key
        self._secret_key = secret_key
        self.public_key = public_key(secret_key) if secret_key else None  # for the router's link_keys
        if supports_at_most_once and not supports_expiry:
            raise ValueError("supports_at_most_once needs supports_expiry (docs/protocol.md §4.1)")
        self._hello = pb.Hello(channel=self.channel, instance=instance,
                               software=software or "hilo_link.py/%s" % __version__, max_outbound=max_outbound,
                               supports_expiry=supports_expiry, supports_at_most_once=supports_at_most_once,
                               senders=list(senders))
        self.on_outbound = on_outbound
        self.on_result = on_result
        self.ack_timeout = ack_timeout
        self.window = window
        self.backoff_min, self.backoff_max = backoff

        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._seq = 0
        self._kept = {}                         # seq -> _Kept
        self._order = collections.deque()       # queued seqs, oldest first
        self._in_flight = 0
        self._results = {}                      # seq -> Result
        self._outbox = collections.deque()      # new Outbounds for next_outbound()
        # What dedupes outbounds (§10.2): the ids seen lately, each with its settling report once
        # sent. Bounded: the router re-sends a message only within a few leases, so the oldest go.
        self._handed = collections.OrderedDict()   # outbound_id -> the Outbound as last received
        self._reports = collections.OrderedDict()  # outbound_id -> its settling report Envelope
        self.welcome = None                     # the last Welcome (router_instance, heartbeat_ms, max_payload)
        self.session_open = False
        self.error = None                       # the last reason the session could not open (str)
        self.stats = collections.Counter()      # sends, resends, acks, duplicates, nack:<CODE>, outbounds, ...
        self._interval = 1.0                    # Hello/heartbeat interval: 1 s until a Welcome says otherwise
        self._hello_at = 0.0                    # monotonic: next Hello not before
        self._heard_at = 0.0                    # monotonic: last frame from the router
        self._beat_at = 0.0                     # monotonic: last heartbeat sent
        self._closing = False
        self._closed = False
        self._thread = None
        self._sock = self._monitor = None
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)

    # ---- the connector's API --------------------------------------------------------------

    def start(self):
        """Connects to the router and starts the I/O thread, which says Hello. Returns self."""
        if self._thread is not None:
            raise RuntimeError("Link.start() called twice")
        sock = zmq.Context.instance().socket(zmq.DEALER)
        for opt, value in ((zmq.LINGER, 0), (zmq.IMMEDIATE, 1), (zmq.RECONNECT_IVL, 100),
                           (zmq.RECONNECT_IVL_MAX, 1000), (zmq.SNDHWM, 10000), (zmq.RCVHWM, 10000)):
            sock.setsockopt(opt, value)
        if self._server_key:
            sock.curve_serverkey = self._server_key.encode("ascii")
            sock.curve_secretkey = self._secret_key.encode("ascii")
            sock.curve_publickey = self.public_key.encode("ascii")
        self._monitor = sock.get_monitor_socket(zmq.EVENT_HANDSHAKE_SUCCEEDED | sum(_HANDSHAKE_EVENTS))
        sock.connect(self.endpoint)
        self._sock = sock
        self._thread = threading.Thread(target=self._io, name="hilo-link-" + self.instance, daemon=True)
        self._thread.start()
        return self

    def close(self):
        """Stops the I/O thread and closes the socket. Envelopes still pending are dropped: a
        connector keeps them durably itself, or leaves the provider's webhook unanswered so that
        the provider retries (docs/protocol.md §6)."""
        if self._closed:
            return
        self._closing = True
        self._wake()
        if self._thread is not None:
            self._thread.join(10)
        if self._sock is not None:
            self._sock.disable_monitor()
            self._monitor.close(0)
            self._sock.close(0)
        for fd in (self._wake_r, self._wake_w):
            os.close(fd)
        self._closed = True
        with self._changed:
            self.session_open = False
            self._changed.notify_all()

    def __enter__(self):
        return self if self._thread is not None else self.start()

    def __exit__(self, *exc):
        self.close()

    def wait_session(self, timeout):
        """True once a Welcome has opened the session; False after `timeout` seconds (then
        `error` says why, when the router refused us)."""
        return self._wait(lambda: self.session_open, timeout)

    def publish(self, provider_message_id, from_, text="", *, to="", media=(), button=None, voice=None,
                sent_at_ms=None, contact_name="", wants_reply=False):
        """Sends one inbound event (a message, a button press or a call event) and returns its
        Ticket; ticket.wait(timeout) gives the Result (acked: committed in Redis).

        provider_message_id: the provider's own stable id (the dedupe key: never random); from_:
        the debtor's address as the provider gives it; to: our number. media: dicts with
        hilo_link_pb2.Media fields (id, url, mime_type, caption, filename); button: a dict
        {payload, title}; voice: a dict of VoiceEvent fields. Raises ValueError for an envelope
        no router would take (no provider id, one longer than 256 bytes, a string that is not
        valid Unicode)."""
        env = pb.Envelope(provider_message_id=provider_message_id, to=to, text=text, contact_name=contact_name,
                          wants_reply=wants_reply, sent_at_ms=_now_ms() if sent_at_ms is None else sent_at_ms)
        setattr(env, "from", from_)
        for m in media:
            env.media.add(**m)
        if button is not None:
            env.button.CopyFrom(pb.Button(**button))
        if voice is not None:
            env.voice.CopyFrom(pb.VoiceEvent(**voice))
        return self.publish_envelope(env)

    def publish_envelope(self, envelope):
        """Sends a ready hilo_link_pb2.Envelope (a copy: its seq and channel are ours to set)."""
        env = pb.Envelope()
        env.CopyFrom(envelope)
        pmid = env.provider_message_id.encode("utf-8", "surrogatepass")
        if not 1 <= len(pmid) <= PROVIDER_ID_MAX:
            raise ValueError("provider_message_id must be 1-%d bytes (have %d)" % (PROVIDER_ID_MAX, len(pmid)))
        env.channel = self.channel
        with self._lock:
            seq = self._keep(env)
        self._wake()
        return Ticket(self, seq)

    def report(self, outbound, state, provider_message_id="", *, error_code="", error_message="",
               retry_after_ms=0, part=0, parts=0, parts_sent=0, debtor_id=None):
        """Reports the fate of an outbound (docs/protocol.md §9) and returns its Ticket.

        outbound: the Outbound received (or its outbound_id). state: "sent" (the provider took it:
        give its id as provider_message_id), "delivered", "read", "failed" (with error_code and
        error_message), "returned" (not handed to the provider: expired, rate limited; the router
        tries again later), "calling" (1.2: wait for this ticket's Ack before calling the provider;
        a Nack GONE or FORBIDDEN means do not call) or "unknown" (1.2: the provider may or may not
        have taken it). A settling report is sent again by itself if the router hands the same
        outbound over again; "returned" forgets the outbound, so its next dispatch is new."""
        state = _enum(STATES, state, "delivery state")
        with self._lock:
            if isinstance(outbound, str):
                o = self._handed.get(outbound) or pb.Outbound(outbound_id=outbound)
            else:
                o = outbound  # an Outbound (only its ids, attempt and addresses are read)
            if debtor_id is None:
                debtor_id = o.debtor_id
            name = pb.DeliveryReport.State.Name(state)[len("STATE_"):].lower()
            per_attempt = state in (pb.DeliveryReport.STATE_RETURNED, pb.DeliveryReport.STATE_CALLING)
            # One envelope id per (message, state), and per attempt for what an attempt may repeat.
            env_id = ("dr:%s:%s:%d" % (o.outbound_id, name, o.attempt) if per_attempt
                      else "dr:%s:%s" % (provider_message_id or o.outbound_id, name))
            report = pb.DeliveryReport(outbound_id=o.outbound_id, debtor_id=debtor_id,
                                       provider_message_id=provider_message_id, state=state, error_code=error_code,
                                       error_message=error_message, retry_after_ms=retry_after_ms, part=part,
                                       parts=parts, parts_sent=parts_sent)
            if state in (pb.DeliveryReport.STATE_RETURNED, pb.DeliveryReport.STATE_CALLING,
                         pb.DeliveryReport.STATE_UNKNOWN):
                report.attempt = o.attempt
            env = pb.Envelope(channel=self.channel, provider_message_id=env_id, to=getattr(o, "from"),
                              sent_at_ms=_now_ms(), delivery=report)
            setattr(env, "from", o.to)
            seq = self._keep(env)
            if state == pb.DeliveryReport.STATE_RETURNED:
                self._handed.pop(o.outbound_id, None)
                self._reports.pop(o.outbound_id, None)
            elif state in _FINAL_STATES and part == 0 and o.outbound_id:
                self._reports[o.outbound_id] = env
                _trim(self._reports)
        self._wake()
        return Ticket(self, seq)

    def next_outbound(self, timeout):
        """The next new Outbound (oldest first), or None after `timeout` seconds. Only when the
        Link has no on_outbound callback."""
        with self._changed:
            if not self._wait_locked(lambda: self._outbox or self._closed, timeout) or not self._outbox:
                return None
            return self._outbox.popleft()

    def outbounds(self, idle_timeout=None):
        """Yields each new Outbound as it arrives; stops after `idle_timeout` seconds without one
        (None: until the Link is closed)."""
        while not self._closed:
            o = self.next_outbound(idle_timeout if idle_timeout is not None else 1.0)
            if o is not None:
                yield o
            elif idle_timeout is not None:
                return

    def pending(self):
        """How many envelopes wait for their Ack."""
        with self._lock:
            return len(self._kept)

    def wait_all(self, timeout):
        """True once every envelope is answered; False after `timeout` seconds."""
        return self._wait(lambda: not self._kept, timeout)

    # ---- shared state (callers hold the lock) ---------------------------------------------

    def _keep(self, env):
        self._seq += 1
        env.seq = self._seq
        frame = pb.Frame(major=PROTOCOL_MAJOR, minor=PROTOCOL_MINOR, envelope=env)
        try:
            data = frame.SerializeToString()
        except (ValueError, UnicodeError) as e:  # a lone surrogate: not UTF-8 (§7.3)
            self._seq -= 1
            raise ValueError("the envelope cannot be encoded: %s" % e) from None
        self._kept[self._seq] = _Kept(data)
        self._order.append(self._seq)
        return self._seq

    def _settle(self, seq, result):
        """The first final answer for `seq` ends it; later ones (re-sends' answers) are ignored."""
        kept = self._kept.pop(seq, None)
        if kept is None:
            self.stats["late_answers"] += 1
            return
        if kept.state == "sent":
            self._in_flight -= 1
        result.sends = kept.sends
        self._results[seq] = result
        self._changed.notify_all()
        if self.on_result is not None:
            self._callback(self.on_result, result)

    def _callback(self, fn, arg):
        try:
            fn(self, arg)
        except Exception:  # the connector's bug must not stop the link
            log.exception("hilo_link: %s raised", getattr(fn, "__name__", "a callback"))

    def _wait_locked(self, pred, timeout):
        deadline = time.monotonic() + timeout
        while not pred():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self._changed.wait(min(left, 0.5))
        return True

    def _wait(self, pred, timeout):
        with self._changed:
            return self._wait_locked(pred, timeout)

    def _wait_result(self, seq, timeout):
        with self._changed:
            self._wait_locked(lambda: seq in self._results, timeout)
            return self._results.get(seq)

    # ---- the I/O thread -------------------------------------------------------------------

    def _wake(self):
        try:
            os.write(self._wake_w, b"!")
        except OSError:
            pass  # the pipe is full (a wake-up is pending anyway) or closed

    def _put(self, data):
        """One ZeroMQ message, never blocking. False when nothing can take it now (IMMEDIATE:
        no connection): the caller keeps what it sent and tries again later."""
        try:
            self._sock.send(data, zmq.NOBLOCK)
            return True
        except zmq.Again:
            return False

    def _control(self, **body):
        return self._put(pb.Frame(major=PROTOCOL_MAJOR, minor=PROTOCOL_MINOR, **body).SerializeToString())

    def _io(self):
        poller = zmq.Poller()
        for s in (self._sock, self._monitor, self._wake_r):
            poller.register(s, zmq.POLLIN)
        while not self._closing:
            with self._lock:
                self._upkeep(time.monotonic())
            ready = dict(poller.poll(50))
            if self._wake_r in ready:
                try:
                    while os.read(self._wake_r, 512):
                        pass
                except OSError:
                    pass
            if self._monitor in ready:
                self._on_monitor()
            if self._sock in ready:
                with self._lock:
                    while True:
                        try:
                            data = self._sock.recv(zmq.NOBLOCK)
                        except zmq.Again:
                            break
                        self._heard_at = time.monotonic()
                        self._on_frame(data)
                    self._changed.notify_all()

    def _upkeep(self, now):
        """Session (Hello until a Welcome, heartbeats, the router's silence), then re-sends and
        the queue."""
        if self.session_open and now - self._heard_at > 3 * self._interval:
            log.warning("hilo_link %s: the router is silent for 3 intervals: session closed", self.instance)
            self._close_session()
        if not self.session_open:
            if now >= self._hello_at:
                # Not connected yet (IMMEDIATE): try again in a moment rather than an interval.
                self._hello_at = now + (self._interval if self._control(hello=self._hello) else 0.05)
            return
        if now - self._beat_at >= self._interval:
            self._control(heartbeat=pb.Heartbeat(sent_ms=_now_ms()))
            self._beat_at = now
        for seq, kept in self._kept.items():
            if kept.state == "sent" and now - kept.sent_at > self.ack_timeout and self._put(kept.frame):
                kept.sent_at, kept.sends = now, kept.sends + 1
                self.stats["resends"] += 1
            elif kept.state == "backoff" and now >= kept.not_before:
                kept.state = "queued"
                self._order.appendleft(seq)
        self._flush()

    def _flush(self):
        max_payload = self.welcome.max_payload if self.welcome else 0
        while self._order and self._in_flight < self.window:
            seq = self._order[0]
            kept = self._kept.get(seq)
            if kept is None or kept.state != "queued":
                self._order.popleft()
                continue
            if max_payload and len(kept.frame) > max_payload:
                self._order.popleft()
                self._settle(seq, Result(seq, False, code="TOO_LARGE", local=True,
                                         reason="frame of %d bytes exceeds the router's max_payload %d (not sent)"
                                         % (len(kept.frame), max_payload)))
                continue
            if not self._put(kept.frame):
                return
            self._order.popleft()
            kept.state, kept.sent_at, kept.sends = "sent", time.monotonic(), kept.sends + 1
            self._in_flight += 1
            self.stats["sends" if kept.sends == 1 else "resends"] += 1

    def _close_session(self):
        """Keep everything; what was in flight goes back to the front of the queue, in order,
        and is re-sent after the next Welcome (§4.4, §5.3)."""
        self.session_open = False
        self.stats["sessions_closed"] += 1
        for seq in sorted((s for s, k in self._kept.items() if k.state == "sent"), reverse=True):
            self._kept[seq].state = "queued"
            self._order.appendleft(seq)
        self._in_flight = 0
        self._hello_at = 0.0

    def _on_monitor(self):
        from zmq.utils.monitor import recv_monitor_message
        while True:
            try:
                event = recv_monitor_message(self._monitor, zmq.NOBLOCK)
            except zmq.Again:
                return
            why = _HANDSHAKE_EVENTS.get(event["event"])
            if why is not None:
                with self._changed:
                    if self.error != why:
                        log.error("hilo_link %s: %s: %s", self.instance, self.endpoint, why)
                    self.error = why
                    self.stats["handshake_failures"] += 1
                    self._changed.notify_all()

    def _on_frame(self, data):
        frame = pb.Frame()
        try:
            frame.ParseFromString(data)
        except Exception:  # protobuf's DecodeError, or worse from a broken peer
            self.stats["bad_frames"] += 1
            return
        if frame.major != PROTOCOL_MAJOR:
            self.stats["bad_frames"] += 1
            log.warning("hilo_link %s: ignored a frame of protocol major %d", self.instance, frame.major)
            return
        kind = frame.WhichOneof("body")
        handler = {"welcome": self._on_welcome, "ack": self._on_ack, "nack": self._on_nack,
                   "outbound": self._on_outbound}.get(kind)
        if handler is not None:
            handler(getattr(frame, kind))
        self.stats["frames:%s" % kind] += 1

    def _on_welcome(self, welcome):
        opened = not self.session_open
        self.welcome = welcome
        self._interval = (welcome.heartbeat_ms or 1000) / 1000.0
        self.session_open = True
        self.error = None
        if opened:
            log.info("hilo_link %s: session open with %s (router %s)", self.instance, self.endpoint,
                     welcome.router_instance)
            self._beat_at = 0.0  # heartbeat at once
            # Everything unacked goes again: already in the queue (_close_session), sent by _flush.

    def _on_ack(self, ack):
        self.stats["acks"] += 1
        self.stats["duplicates"] += ack.duplicate
        self._settle(ack.seq, Result(ack.seq, True, duplicate=ack.duplicate, debtor_id=ack.debtor_id))

    def _on_nack(self, nack):
        code = pb.Nack.Code.Name(nack.code)[len("CODE_"):] if nack.code in pb.Nack.Code.values() else str(nack.code)
        self.stats["nack:" + code] += 1
        if nack.code == pb.Nack.CODE_HELLO_REQUIRED:
            # The router does not know us (it restarted, or dropped us): one Hello; the rest of a
            # burst of these finds the session already closed.
            if self.session_open:
                log.info("hilo_link %s: the router asks for Hello again", self.instance)
                self._close_session()
            return
        if nack.seq == 0 and not self.session_open and nack.code in _HELLO_REFUSALS:
            # Our Hello was refused: configuration, not chance. Say so, and ask again only slowly.
            self.error = "the router refused our Hello: %s: %s" % (code, nack.reason)
            log.error("hilo_link %s: %s", self.instance, self.error)
            self._hello_at = time.monotonic() + 5.0
            return
        kept = self._kept.get(nack.seq)
        if nack.retryable or nack.code == pb.Nack.CODE_UNAVAILABLE:
            if kept is not None and kept.state == "sent":
                self._in_flight -= 1
                kept.delay = min(max(kept.delay * 2, self.backoff_min), self.backoff_max)
                kept.state, kept.not_before = "backoff", time.monotonic() + kept.delay
            return
        if kept is not None:
            log.warning("hilo_link %s: envelope %d refused: %s %s", self.instance, nack.seq, code, nack.reason)
        self._settle(nack.seq, Result(nack.seq, False, code=code, reason=nack.reason))

    def _on_outbound(self, o):
        self.stats["outbound_frames"] += 1
        if o.outbound_id:
            known = self._handed.get(o.outbound_id)
            self._handed[o.outbound_id] = o  # the latest attempt is the one a report speaks of
            self._handed.move_to_end(o.outbound_id)
            _trim(self._handed)
            if known is not None:
                report = self._reports.get(o.outbound_id)
                if report is not None:
                    # Settled here, and its report not yet recorded when the lease ran out: never to
                    # the provider again; the same report again (§10.2).
                    self._keep(report)
                    self.stats["reports_repeated"] += 1
                # else the connector still works on it: wait for its report.
                return
        self.stats["outbounds"] += 1
        if self.on_outbound is not None:
            self._callback(self.on_outbound, o)
        else:
            self._outbox.append(o)
