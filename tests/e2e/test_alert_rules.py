"""deploy/prometheus/hilo-alerts.yml against what the processes really export: every metric an
alert names is on a running router's or connector's /metrics, with every label the alert
selects or groups by, and every rule is complete (name, expression, severity, summary). A
renamed metric or label fails here instead of silently never firing in production.

Real redis-server, hilo-router (engine on, so replies go out), the three connectors and the
provider sandbox; one message through each channel so that the per-result series exist."""

import os
import re
import sys
import unittest

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from connectors_stack import ConnectorStackCase  # noqa: E402
from hilo_harness import SOURCE_DIR, wait_until  # noqa: E402

RULES = os.path.join(SOURCE_DIR, "deploy", "prometheus", "hilo-alerts.yml")
PHONE = "+16505551234"
PROMETHEUS_OWN = {"up"}               # made by Prometheus itself for every scrape target
TARGET_LABELS = {"instance", "job"}   # added by Prometheus to every series it scrapes
FUNCTIONS = {"sum", "rate", "increase", "abs", "max_over_time", "histogram_quantile", "by", "on", "and",
             "unless", "max", "min", "time"}


def selectors(expr):
    """(metric, {label: value}) for each metric selector in a PromQL expression."""
    out = []
    for m in re.finditer(r'\b([a-z_][a-z0-9_]*)\s*(\{([^}]*)\})?', expr):
        name = m.group(1)
        if name in FUNCTIONS or not (name.startswith("hilo_") or name in PROMETHEUS_OWN):
            continue
        labels = dict(re.findall(r'([a-z_]+)\s*=~?\s*"([^"]*)"', m.group(3) or ""))
        out.append((name, labels))
    return out


def grouping_labels(expr):
    return {l.strip() for g in re.findall(r'\b(?:by|on)\s*\(([^)]*)\)', expr) for l in g.split(",") if l.strip()}


class AlertRules(ConnectorStackCase):
    def test_every_alert_names_what_the_processes_export(self):
        with open(RULES) as f:
            doc = yaml.safe_load(f)
        rules = [r for g in doc["groups"] for r in g["rules"]]
        self.assertGreaterEqual(len(rules), 10)
        for r in rules:
            self.assertTrue(r.get("alert") and r.get("expr"), r)
            self.assertIn(r.get("labels", {}).get("severity"), ("page", "ticket"), r["alert"])
            self.assertTrue(r.get("annotations", {}).get("summary"), r["alert"])
        self.assertEqual(len({r["alert"] for r in rules}), len(rules), "alert names are unique")

        # The floor's figures are read every second, so that the queue's series come soon.
        self.start_stack(engine=True, router_overrides={"console": {"floor_metrics_s": 1}})
        self.seed("D1", PHONE, language="en")
        self.assertEqual(self.sandbox.send("whatsapp", PHONE, "hello")["status"], 200)
        self.assertEqual(self.sandbox.send("sms", PHONE, "hello")["status"], 200)
        # Asking for a person puts the conversation in a queue: the per-queue series exist.
        self.assertEqual(self.sandbox.send("whatsapp", PHONE, "talk to a person")["status"], 200)
        wait_until(lambda: self.router_.metrics().has("hilo_queue_oldest_wait_seconds"), 15,
                   "a queue on the floor's figures")
        wait_until(lambda: self.conns["sms"].metrics().value("hilo_connector_outbound_total") > 0, 15,
                   "the bot's SMS reply sent")
        wait_until(lambda: self.router_.metrics().has("hilo_clock_offset_seconds"), 5, "the router's first clock check")
        # Series by metric name -> the label keys seen on them (histograms under their base name).
        exported = {}
        for m in [self.router_.metrics()] + [c.metrics() for c in self.conns.values()]:
            for name, labels, _ in m.series:
                base = re.sub(r"_(bucket|sum|count)$", "", name) if name.endswith(("_bucket", "_sum", "_count")) else name
                for n in {name, base}:
                    exported.setdefault(n, set()).update(labels)

        for r in rules:
            expr = r["expr"]
            found = selectors(expr)
            self.assertTrue(found, "%s names no metric" % r["alert"])
            names = set()
            for name, labels in found:
                if name in PROMETHEUS_OWN:
                    continue
                names.add(name)
                self.assertIn(name, exported, "%s: %s is not exported" % (r["alert"], name))
                for k in labels:
                    self.assertIn(k, exported[name], "%s: %s has no label %s" % (r["alert"], name, k))
            for k in grouping_labels(expr) - TARGET_LABELS:
                self.assertTrue(any(k in exported[n] for n in names),
                                "%s groups by %s, which none of %s carries" % (r["alert"], k, sorted(names)))


if __name__ == "__main__":
    unittest.main(verbosity=2)
