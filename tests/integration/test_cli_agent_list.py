#!/usr/bin/python3
"""test_cli_agent_list.py — `hilo agent list` lines its columns up by what a terminal shows,
not by bytes or code points: names with accents ("José Peña", precomposed), a combining mark
("Zoë" written as e + U+0308, one column), CJK names (two columns a character) and a name longer
than the header's column all start the next column at the same place as the header does. A
name with a control character is printed safely. Real redis-server (the CLI's own, no router).
Runs under Debian's /usr/bin/python3 with python3-redis; stdlib unittest otherwise.
"""

import os
import unicodedata
import unittest

import test_cli as base

ACCOUNTS = [
    ("jose", "José Peña", "es.collections"),
    ("zoe", "Zoe\u0308 Brontë", "en.collections,en.dispute"),
    ("wang", "王小明", "zh.collections"),
    ("kim", "김민준 (Seoul desk)", "ko.collections"),
    ("long-name.agent", "Maximiliana Evangelina Ortiz de Zárate", "es.collections,es.legal,es.dispute"),
    ("ana", "Ana", "en.collections"),
]


def width(s):
    """Terminal columns of s: combining marks take none, East Asian wide characters two."""
    return sum(0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in s)


@unittest.skipUnless(os.access(base.HILO, os.X_OK), "the hilo CLI (%s) is not built" % base.HILO)
class AgentListColumns(base.CliTestCase):
    @classmethod
    def conf_text(cls):
        return "[redis]\nhost = 127.0.0.1\nport = %d\ntimeout_ms = 3000\n" % cls.server.port

    def add(self, agent_id, name, skills):
        self.hilo("agent", "add", agent_id, "--name", name, "--skills", skills, "--password-env", "PW",
                  env_extra={"PW": "secret-password"})

    def test_columns_line_up_by_display_width(self):
        for a in ACCOUNTS:
            self.add(*a)
        self.r.hset("hilo:agent:wang:live", "state", "available")
        out, _ = self.hilo("agent", "list")
        lines = out.splitlines()
        header = lines[0]
        self.assertEqual(header.split(), ["ID", "ROLE", "STATE", "NAME", "SKILLS", "CAPACITY", "w/s/v"])
        col = {h: width(header[:header.index(h)]) for h in ("ROLE", "STATE", "NAME", "SKILLS", "CAPACITY")}
        rows = lines[1:]
        self.assertEqual(len(rows), len(ACCOUNTS), out)
        for agent_id, name, skills in ACCOUNTS:
            row = next(r for r in rows if r.split()[0] == agent_id)
            starts = {"ROLE": row.index(" agent ") + 1, "NAME": row.index(name), "SKILLS": row.index(skills),
                      "CAPACITY": row.index("3/3/1")}
            starts["STATE"] = row.index(" available " if agent_id == "wang" else " offline ") + 1
            got = {h: width(row[:i]) for h, i in starts.items()}
            self.assertEqual(got, col, "columns of %r in\n%s" % (agent_id, out))
        # Sorted by id: the same order on every run.
        self.assertEqual([r.split()[0] for r in rows], sorted(a[0] for a in ACCOUNTS))

    def test_control_characters_in_a_name_are_not_printed(self):
        self.add("eve", "Eve\x1b[2J\tSmith", "en.collections")
        out, _ = self.hilo("agent", "list")
        self.assertNotIn("\x1b", out)
        self.assertNotIn("\t", out)
        self.assertIn("Eve?[2J Smith", out)


if __name__ == "__main__":
    unittest.main()
