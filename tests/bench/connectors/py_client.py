#!/usr/bin/python3
"""py_client.py — the same WhatsApp webhook load as `hilo-webhook-bench --mode whatsapp`, from
Python threads (one http.client keep-alive connection per thread). Only here to answer "can a
Python client measure a 20 ms p99 at 200 concurrent senders?": run.sh runs both against the same
kind of stack and docs/performance.md compares them. Prints one JSON line like the C tool.

Usage: py_client.py URL SECRET CONCURRENCY THINK_MS SECONDS WARMUP PHONE_BASE LABEL"""

import hashlib
import hmac
import http.client
import json
import random
import sys
import threading
import time
import urllib.parse


def main():
    url, secret, conc, think_ms, seconds, warmup, phone_base, label = sys.argv[1:9]
    conc, think_ms, seconds, warmup, phone_base = int(conc), int(think_ms), float(seconds), float(warmup), int(phone_base)
    u = urllib.parse.urlsplit(url)
    t0 = time.monotonic()
    t_measure, t_end = t0 + warmup, t0 + warmup + seconds
    lat, lock, fails = [], threading.Lock(), [0]

    def sender(i):
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
        phone = str(phone_base + i)
        n = 0
        time.sleep(random.uniform(0, think_ms / 1000.0))
        while time.monotonic() < t_end:
            n += 1
            body = json.dumps({"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [{
                "field": "messages", "value": {
                    "messaging_product": "whatsapp",
                    "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
                    "contacts": [{"profile": {"name": "Bench"}, "wa_id": phone}],
                    "messages": [{"from": phone, "id": "wamid.py.%d.%d.%d" % (int(t0 * 1000), i, n),
                                  "timestamp": str(int(time.time())), "type": "text",
                                  "text": {"body": "hola, cuanto debo"}}]}}]}]}, separators=(",", ":")).encode()
            sig = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
            start = time.monotonic()
            try:
                conn.request("POST", "/webhooks/whatsapp", body, {"Content-Type": "application/json",
                                                                   "X-Hub-Signature-256": sig})
                r = conn.getresponse()
                r.read()
                ok = r.status == 200
            except OSError:
                ok = False
                conn.close()
                conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
            end = time.monotonic()
            with lock:
                if not ok:
                    fails[0] += 1
                elif start >= t_measure and end <= t_end:
                    lat.append((end - start) * 1000)
            if think_ms:
                time.sleep(random.uniform(0.5, 1.5) * think_ms / 1000.0)

    threads = [threading.Thread(target=sender, args=(i,), daemon=True) for i in range(conc)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(seconds + warmup + 60)
    lat.sort()

    def pct(p):
        return round(lat[min(len(lat) - 1, int(p / 100.0 * (len(lat) - 1) + 0.5))], 2) if lat else 0

    print(json.dumps({"label": label, "mode": "whatsapp-python", "concurrency": conc, "think_ms": think_ms,
                      "seconds": seconds, "requests": len(lat), "rate_per_s": round(len(lat) / seconds, 1),
                      "failed": fails[0], "mean_ms": round(sum(lat) / len(lat), 2) if lat else 0,
                      "p50_ms": pct(50), "p90_ms": pct(90), "p99_ms": pct(99), "p999_ms": pct(99.9),
                      "max_ms": round(lat[-1], 2) if lat else 0}))


if __name__ == "__main__":
    main()
