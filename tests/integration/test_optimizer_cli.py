#!/usr/bin/python3
"""test_optimizer_cli.py — `hilo optimizer show` against a real redis-server and the real CLI.

The router does not write the optimizer's model yet (docs/optimizer.md, "In the router"), so the
test writes cells as the format says (hilo_opt_cell_pack: "HO", version 1, a zero byte, then 138
little-endian floats: 24 arms, 8 contact levels, treated, holdout — each n, pay, reply, bad — then
amount_n, amount_sum) under hilo:{o:<cell>}:model, and their names in hilo:{o}:cells. Then:
  * one cell, --json: its arms in order of value, the best first with its rate inside its 90 %
    interval and its decisions; the knee; the uplift against the holdout with its interval;
  * every cell as text;
  * a cell whose bytes are not a model is reported with the reason and left out, the others are
    still shown, exit 1; an unknown cell exits 1; a bad cell name exits 64; no model at all is
    said plainly.
"""

import json
import os
import struct
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

from hilo_harness import HiloTestCase, cli_path, run_cli  # noqa: E402

ARMS, LEVELS = 24, 8


def arm(channel, hour, variant):
    return (channel * 4 + hour) * 2 + variant


def pack(arms, levels, treat, hold, amount_n, amount_sum):
    floats = []
    for stats in (arms, levels):
        for s in stats:
            floats += list(s)
    floats += list(treat) + list(hold) + [amount_n, amount_sum]
    assert len(floats) == 138
    return b"HO\x01\x00" + struct.pack("<138f", *floats)


def cell_a():
    """WhatsApp 17-21 variant b pays 6 %, every other arm 1 %; the third contact of a week hardly
    pays and brings opt-outs (knee 2); treated weeks pay 10 %, the holdout's 4 %."""
    arms = [(500, 5, 20, 1)] * ARMS
    arms[arm(1, 3, 1)] = (2000, 120, 200, 2)
    levels = [(0, 0, 0, 0), (1000, 60, 0, 2), (800, 30, 0, 2), (600, 1, 0, 30)] + [(0, 0, 0, 0)] * 4
    return pack(arms, levels, (1000, 100, 0, 5), (100, 4, 0, 1), 100, 30000)


def cell_b():
    arms = [(300, 6, 10, 0)] * ARMS
    return pack(arms, [(0, 0, 0, 0)] * LEVELS, (0, 0, 0, 0), (0, 0, 0, 0), 0, 0)


@unittest.skipUnless(cli_path(), "the hilo CLI is not built")
class OptimizerShow(HiloTestCase):
    def setUp(self):
        super().setUp()
        self.r = self.redis()
        self.conf = os.path.join(self.workdir, "hilo.conf")
        with open(self.conf, "w") as f:
            f.write("[redis]\nhost = 127.0.0.1\nport = %d\n" % self.r.port)

    def put(self, name, blob):
        c = self.r.client()
        c.set("hilo:{o:%s}:model" % name, blob)
        c.sadd("hilo:{o}:cells", name)

    def test_one_cell_as_json(self):
        self.put("dpd1-30.bal0-500.US.en.card", cell_a())
        self.put("dpd31-90.bal0-500.CO.es.loan", cell_b())
        p = run_cli(self.conf, "optimizer", "show", "dpd1-30.bal0-500.US.en.card", "--json")
        lines = p.stdout.splitlines()
        self.assertEqual(len(lines), 1, p.stdout)
        o = json.loads(lines[0])
        self.assertEqual(o["cell"], "dpd1-30.bal0-500.US.en.card")
        self.assertEqual(o["decisions"], 23 * 500 + 2000)
        self.assertIsInstance(o["decisions"], int)
        best = o["arms"][0]
        self.assertEqual(best["arm"], "whatsapp@17-21/b")
        self.assertEqual(best["decisions"], 2000)
        self.assertLess(best["rate_lo"], best["rate"])
        self.assertLess(best["rate"], best["rate_hi"])
        self.assertTrue(0.045 < best["rate"] < 0.065, best)
        values = [a["value"] for a in o["arms"]]
        self.assertEqual(values, sorted(values, reverse=True))
        self.assertEqual(len(o["arms"]), 24)
        self.assertEqual(o["knee"], 2)
        self.assertEqual(o["cap"], 7)
        self.assertAlmostEqual(o["uplift"]["diff"], 0.06, places=4)
        self.assertLess(o["uplift"]["lo"], 0.06)
        self.assertGreater(o["uplift"]["hi"], 0.06)
        self.assertEqual(o["holdout"]["weeks"], 100)
        # --cap bounds the knee
        o = json.loads(run_cli(self.conf, "optimizer", "show", "dpd1-30.bal0-500.US.en.card", "--json",
                               "--cap", "1").stdout)
        self.assertEqual(o["knee"], 1)

    def test_every_cell_as_text(self):
        self.put("a", cell_a())
        self.put("b", cell_b())
        p = run_cli(self.conf, "optimizer", "show")
        self.assertIn("cell a: 13500 decisions; knee 2 contacts a week (cap 7)", p.stdout)
        self.assertIn("cell b: 7200 decisions", p.stdout)
        self.assertIn("uplift against the holdout: not yet", p.stdout)
        self.assertIn("whatsapp@17-21/b", p.stdout)
        self.assertLess(p.stdout.index("cell a:"), p.stdout.index("cell b:"))

    def test_bad_model_is_reported_and_the_others_shown(self):
        self.put("a", cell_a())
        self.put("broken", b"not a model")
        bad_counts = bytearray(cell_b())
        struct.pack_into("<f", bad_counts, 4 + 4, 1e6)  # arm 0: more payments than decisions
        self.put("inconsistent", bytes(bad_counts))
        p = run_cli(self.conf, "optimizer", "show", "--json", check=False)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("cell broken: optimizer cell: 11 bytes, expected 556; left out", p.stderr)
        self.assertIn("cell inconsistent: optimizer cell: more results than decisions; left out", p.stderr)
        cells = [json.loads(line)["cell"] for line in p.stdout.splitlines()]
        self.assertEqual(cells, ["a"])

    def test_unknown_and_bad_names(self):
        self.put("a", cell_a())
        p = run_cli(self.conf, "optimizer", "show", "nope", check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("no model for cell nope", p.stderr)
        p = run_cli(self.conf, "optimizer", "show", "a{b}", check=False)
        self.assertEqual(p.returncode, 64)
        self.assertIn("not a cell name", p.stderr)
        p = run_cli(self.conf, "optimizer", "show", "a", "b", check=False)
        self.assertEqual(p.returncode, 64)

    def test_no_model_yet(self):
        p = run_cli(self.conf, "optimizer", "show")
        self.assertIn("no optimizer model yet", p.stdout)


if __name__ == "__main__":
    unittest.main()
