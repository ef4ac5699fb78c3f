#!/usr/bin/python3
"""stdin_connector — a tiny hilo connector built on hilo_link, to read next to docs/protocol.md.

Its "provider" is the terminal: each line on standard input is an inbound message,

    <provider message id> <from> <text...>        e.g.  SM1 +16505551234 hola, quiero pagar

which it publishes and answers "acked <id> debtor=<debtor id>" once the router committed it (or
"refused <id> <code> <reason>"). Each message the router sends on the channel is printed as

    outbound <outbound id> to=<to> text=<text>

and reported SENT (the "provider id" is "stdout-<outbound id>"), then DELIVERED. At the end of
the input it waits for the router's last answers and exits: 0 when every line was acked.

    hilo link keygen stdin-sms --out stdin-sms.key      # then list the printed public key in the
                                                        # router's link_keys for "sms"
    python3 stdin_connector.py --endpoint tcp://127.0.0.1:5555 --channel sms \\
        --server-key "$(hilo link pubkey /etc/hilo/keys/router.key)" --secret-key-file stdin-sms.key

A real connector does the same with an HTTP server in place of stdin (answer the webhook 200 only
after "acked") and the provider's API in place of stdout.
"""

import argparse
import queue
import sys
import threading

from hilo_link import Link, LinkKeyError


def main(argv=None):
    ap = argparse.ArgumentParser(description="a hilo connector whose provider is the terminal")
    ap.add_argument("--endpoint", required=True, help="the router's link_bind, e.g. tcp://127.0.0.1:5555")
    ap.add_argument("--channel", default="sms", choices=("sms", "whatsapp", "voice"))
    ap.add_argument("--instance", default="stdin-1", help="unique per connector process")
    ap.add_argument("--server-key", help="the router's public key (hilo link pubkey); none: a plain link")
    ap.add_argument("--secret-key-file", help="our secret key file (hilo link keygen; mode 0600)")
    ap.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for the session and the acks")
    args = ap.parse_args(argv)

    out_lock = threading.Lock()

    def say(text):
        with out_lock:
            print(text, flush=True)

    # Outbounds arrive on the link's I/O thread, which must not block: the work goes to a queue
    # that a thread of ours serves (here the "provider call" is a print).
    work = queue.Queue()

    def serve_outbounds():
        while True:
            o = work.get()
            if o is None:
                return
            say("outbound %s to=%s text=%s" % (o.outbound_id, o.to, o.text))
            if not o.outbound_id:
                continue  # a voice turn's action without text: nothing to report
            provider_id = "stdout-" + o.outbound_id
            link.report(o, "sent", provider_message_id=provider_id)
            link.report(o, "delivered", provider_message_id=provider_id)

    try:
        link = Link(args.endpoint, args.channel, args.instance, server_key=args.server_key,
                    secret_key_file=args.secret_key_file, on_outbound=lambda _link, o: work.put(o))
    except (LinkKeyError, ValueError) as e:
        print("stdin_connector: %s" % e, file=sys.stderr)
        return 2
    server = threading.Thread(target=serve_outbounds, daemon=True)
    server.start()
    with link:
        if not link.wait_session(args.timeout):
            print("stdin_connector: no session with %s: %s" % (args.endpoint, link.error or "no answer"),
                  file=sys.stderr)
            return 1
        say("session open (router %s)" % link.welcome.router_instance)
        tickets = []
        for n, line in enumerate(sys.stdin, 1):
            parts = line.rstrip("\n").split(" ", 2)
            if len(parts) < 3 or not parts[0] or not parts[1]:
                print("stdin_connector: line %d: expected '<provider id> <from> <text>'" % n, file=sys.stderr)
                continue
            ticket = link.publish(parts[0], parts[1], parts[2])
            tickets.append((parts[0], ticket))
            # A real connector answers each webhook on its own; the terminal waits its turn.
            result = ticket.wait(args.timeout)
            if result is None:
                say("unanswered %s (still pending)" % parts[0])
            elif result.acked:
                say("acked %s debtor=%s%s" % (parts[0], result.debtor_id, " duplicate" if result.duplicate else ""))
            else:
                say("refused %s %s %s" % (parts[0], result.code, result.reason))
        link.wait_all(args.timeout)  # the last reports too
        work.put(None)
        server.join(args.timeout)
        link.wait_all(args.timeout)
        ok = all(t.result is not None and t.result.acked for _, t in tickets)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
