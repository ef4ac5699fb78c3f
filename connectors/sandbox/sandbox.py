#!/usr/bin/python3
"""hilo provider sandbox — a local stand-in for the WhatsApp Cloud API (Meta Graph) and Twilio
(SMS REST, SMS and voice webhooks), and the debtor's phone. For the quickstart demo and tests;
the only fake in hilo: it fakes the outside world the connectors cannot reach.

    connectors/sandbox/sandbox.py --port 8090 [--config deploy/hilo.conf]
    then open http://127.0.0.1:8090/ (the debtor's phone) — full guide: docs/sandbox.md

Python 3 standard library only (Debian's /usr/bin/python3).

What it serves (api_base for the connectors = http://127.0.0.1:8090):
  POST /{version}/{phone_number_id}/messages          Graph API send (Bearer access_token)
  POST /2010-04-01/Accounts/{AccountSid}/Messages.json Twilio send (basic AccountSid:AuthToken)
  GET  /2010-04-01/Accounts/{AccountSid}/Messages/{Sid}.json   Twilio fetch (current status)
  GET  /                                              the debtor phone page
  GET  /healthz                                       "ok"
  /_sandbox/...                                       the test API (docs/sandbox.md):
    POST send, call, call/<CallSid>/input, call/<CallSid>/hangup, fail, reset, replay, verify
    GET  calls, events, phone/<E.164>, call/<CallSid>, fail, info

Webhooks it sends (defaults; the ports are the connectors' http_port):
  WhatsApp   http://127.0.0.1:8081/webhooks/whatsapp           X-Hub-Signature-256 (app_secret)
  SMS        http://127.0.0.1:8082/webhooks/twilio/sms         X-Twilio-Signature (auth_token)
  SMS status the StatusCallback URL given in each send
  Voice      http://127.0.0.1:8083/webhooks/twilio/voice       X-Twilio-Signature
  Voice end  http://127.0.0.1:8083/webhooks/twilio/voice/status
With [sms]/[voice] public_url set, Twilio requests are delivered to the local URL but signed
over public_url + path (what a connector behind a TLS proxy sees).

Config (the connectors' hilo.conf; env HILO_<SECTION>_<KEY> overrides any key):
  [whatsapp] app_secret, access_token, verify_token, phone_number_id, display_phone_number,
             business_account_id, api_version, http_port (8081)
  [sms]      account_sid, auth_token, from, http_port (8082), public_url
  [voice]    account_sid, auth_token, from, http_port (8083), public_url
Missing keys take the defaults in settings.DEFAULTS (listed in docs/sandbox.md).
"""

import argparse
import configparser
import os
import signal
import sys
import threading

sys.dont_write_bytecode = True  # keep __pycache__ out of the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from http.server import ThreadingHTTPServer  # noqa: E402

import core  # noqa: E402
import server  # noqa: E402
import settings  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description="hilo provider sandbox (fake WhatsApp Graph API + Twilio, "
                                            "and the debtor's phone)")
    p.add_argument("--port", type=int, default=8090, help="listen port (0 = any free port; default 8090)")
    p.add_argument("--bind", default="127.0.0.1", help="listen address (default 127.0.0.1)")
    p.add_argument("--config", help="hilo.conf to read the connectors' credentials from")
    p.add_argument("--whatsapp-webhook", metavar="URL", help="WhatsApp connector webhook URL")
    p.add_argument("--sms-webhook", metavar="URL", help="SMS connector webhook URL (inbound SMS)")
    p.add_argument("--sms-status-webhook", metavar="URL",
                   help="deliver SMS status callbacks here, whatever StatusCallback the send gave")
    p.add_argument("--voice-webhook", metavar="URL", help="voice connector webhook URL (call start)")
    p.add_argument("--voice-status-webhook", metavar="URL",
                   help="voice status callback URL (default: <voice webhook origin>/webhooks/twilio/voice/status)")
    p.add_argument("--status-delay-ms", default="100-300", metavar="MIN-MAX",
                   help="delay before each status webhook (default 100-300)")
    p.add_argument("--webhook-timeout", type=float, default=15.0, metavar="S",
                   help="seconds to wait for a connector's answer (default 15, Twilio's)")
    p.add_argument("--webhook-retries", type=int, default=5, metavar="N",
                   help="retries of a status webhook the connector did not answer 2xx (default 5)")
    p.add_argument("--wa-window-seconds", type=int, default=0, metavar="S",
                   help="enforce WhatsApp's customer-service window: free-form sends more than S "
                        "seconds after the debtor's last message fail with 131047 (0 = off; Meta: 86400)")
    p.add_argument("--no-read", action="store_true", help="WhatsApp: stop at 'delivered' (no 'read' status)")
    p.add_argument("--quiet", action="store_true", help="no per-request log lines")
    args = p.parse_args(argv)
    lo, _, hi = args.status_delay_ms.partition("-")
    if not lo.isdigit() or (hi and not hi.isdigit()):
        p.error("--status-delay-ms must be MIN-MAX in milliseconds, e.g. 100-300")
    return args


def main(argv=None):
    args = parse_args(argv)
    try:
        conf = settings.Settings(args)
    except (OSError, ValueError, configparser.Error) as e:
        print("sandbox: config: %s" % e, file=sys.stderr)
        return 2

    def log(msg):
        if not args.quiet:
            print("sandbox: " + msg, file=sys.stderr, flush=True)

    sb = core.Sandbox(conf, log)
    server.Handler.sb = sb
    server.Handler.quiet = args.quiet
    ThreadingHTTPServer.allow_reuse_address = True
    ThreadingHTTPServer.daemon_threads = True
    try:
        httpd = ThreadingHTTPServer((args.bind, args.port), server.Handler)
    except OSError as e:
        print("sandbox: cannot listen on %s:%d: %s" % (args.bind, args.port, e), file=sys.stderr)
        return 1

    def stop(signum, frame):
        threading.Thread(target=httpd.shutdown, daemon=True).start()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    host, port = httpd.server_address[:2]
    # One line on stdout, flushed: tests started with --port 0 read the port from it.
    print("sandbox: listening on http://%s:%d/ (config %s)" % (host, port, args.config or "none"), flush=True)
    log("whatsapp webhook %s, sms webhook %s, voice webhook %s"
        % (conf.whatsapp.webhook, conf.sms.webhook, conf.voice.webhook))
    try:
        httpd.serve_forever(poll_interval=0.2)
    finally:
        sb.dispatcher.stop()
        httpd.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
