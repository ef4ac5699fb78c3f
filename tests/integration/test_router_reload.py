"""SIGHUP reloads the bot flow and the compliance rule packs of a running router (docs/operations.md,
"Reloading"), against a real router, Redis and the real CLI, with the test clock:

* an edited flow answers from the next turn on, for new and ongoing conversations;
* an edited rule pack changes the gate's verdict on the bot's next reply (Regulation F's
  replies outside contact hours turned off: the 22:30 reply is blocked and audited);
* a broken flow or pack is refused with its file and line, counted in hilo_reloads_total, and the
  files loaded before stay in use — the router keeps answering as before;
* the console's gate reloads too: an agent's 22:30 message (five minutes after the debtor wrote:
  the hours still apply to an agent), blocked under the shipped pack, goes out under one with
  longer hours;
* the router survives all of it (SIGHUP used to end the process).
"""

import os
import shutil
import signal
import unittest

from engine_helpers import COMPLIANCE, FLOW, EngineTestCase
from hilo_console import Console, add_agent, console_overrides, run, token_for
from hilo_harness import debtor_key, wait_until

NY = "America/New_York"
DEBTORS = [
    {"debtor_id": "D1", "full_name": "James Whitfield", "phones": ["+16505550142"], "language": "en"},
    {"debtor_id": "D2", "full_name": "Emily Carter", "phones": ["+16505550311"], "language": "en"},
    {"debtor_id": "D3", "full_name": "Mary Jones", "phones": ["+16505550377"], "language": "en"},
]
WELCOME_EN = "en = Hello, this is the virtual assistant of {company}."
RELOADED_EN = "en = Good day, you are talking to the reloaded assistant of {company}."


def rewrite(path, old, new):
    with open(path) as f:
        text = f.read()
    assert old in text, "%s: %r not found" % (path, old)
    with open(path, "w") as f:
        f.write(text.replace(old, new, 1))


class RouterReload(EngineTestCase):
    def engine_overrides(self, **engine):
        o = super().engine_overrides(**engine)
        o["console"] = console_overrides()["console"]
        return o

    def setUp(self):
        super().setUp()
        self.flow = os.path.join(self.workdir, "collections.flow")
        shutil.copy(FLOW, self.flow)
        self.packs = os.path.join(self.workdir, "compliance")
        shutil.copytree(COMPLIANCE, self.packs)
        self.start_engine(channels=("sms",), flow=self.flow, compliance_dir=self.packs)
        self.import_debtors(DEBTORS)
        self.set_clock_local(NY, 2026, 11, 24, 10, 0)

    def reload(self, event):
        """SIGHUP, then the log line `event` (reloaded / reload_failed) that answers it."""
        before = len(self.router_.log_lines("mod=router", "event=" + event))
        os.kill(self.router_.proc.pid, signal.SIGHUP)
        lines = wait_until(lambda: self.router_.log_lines("mod=router", "event=" + event)[before:], 10,
                           "the router's %s line" % event)
        self.router_.assert_running()
        return lines[0]

    def reloads(self, result):
        return self.router_.metrics().value("hilo_reloads_total", result=result)

    def test_flow_and_packs_reload_and_broken_files_keep_the_old_ones(self):
        first = self.debtor("D1", "+16505550142").say("sms", "hello")
        self.assertIn("Hello, this is the virtual assistant", " ".join(first.replies))

        # An edited flow: the next turn of a new conversation answers from it.
        rewrite(self.flow, WELCOME_EN, RELOADED_EN)
        self.reload("reloaded")
        self.assertEqual(self.reloads("ok"), 1)
        t = self.debtor("D2", "+16505550311").say("sms", "hello")
        self.assertIn("reloaded assistant", " ".join(t.replies))
        self.assertNotIn("Hello, this is the virtual assistant", " ".join(t.replies))
        # The ongoing conversation goes on under the new flow (its step still exists).
        self.assertTrue(self.debtor("D1", "+16505550142").say("sms", "hello").replies)

        # An edited pack: Regulation F without replies outside contact hours blocks the bot's
        # 22:30 reply, which the shipped pack lets out.
        self.set_clock_local(NY, 2026, 11, 24, 22, 30)
        self.assertTrue(self.debtor("D3", "+16505550377").say("sms", "hello").replies,
                        "the shipped pack lets a reply out at 22:30")
        rewrite(os.path.join(self.packs, "us_reg_f.pack"), "replies_outside_hours = yes",
                "replies_outside_hours = no")
        self.reload("reloaded")
        n = len(self.blocked("D3"))
        self.assertEqual(self.debtor("D3", "+16505550377").say("sms", "hello again").replies, [])
        b = self.blocked("D3")[n:]
        self.assertTrue(b and b[0]["reason"] == "outside_contact_hours", b)
        self.set_clock_local(NY, 2026, 11, 24, 10, 0)

        # A broken flow: refused with file and line, the loaded one stays.
        with open(self.flow, "a") as f:
            f.write("\n[step nowhere]\nkind = teleport\n")
        line = self.reload("reload_failed")
        self.assertIn(self.flow, line)
        self.assertRegex(line, r"collections\.flow:\d+:")
        self.assertEqual((self.reloads("ok"), self.reloads("failed")), (2, 1))
        t = self.debtor("D2", "+16505550311").say("sms", "hello")
        self.assertTrue(t.replies)
        self.assertFalse(any("teleport" in r for r in t.replies))
        # A broken pack with a good flow: refused too, nothing swapped.
        shutil.copy(FLOW, self.flow)
        with open(os.path.join(self.packs, "us_reg_f.pack"), "a") as f:
            f.write("mon-sun = 25:00-26:00\n")
        line = self.reload("reload_failed")
        self.assertIn("us_reg_f.pack", line)
        self.assertEqual((self.reloads("ok"), self.reloads("failed")), (2, 2))
        t = self.debtor("D1", "+16505550142").say("sms", "hello")
        self.assertTrue(t.replies, "the router still answers with the files loaded before")


    def test_agents_replies_are_checked_against_the_reloaded_packs(self):
        add_agent(self.router_.conf_path, "ana", skills="en.collections,es.collections")
        james = self.debtor("D1", "+16505550142")

        async def scenario():
            a = await Console(self.router_, token_for(self.router_, "ana")).connect()
            await a.latest("hello")
            await a.request("state", state="available")
            # Every time here is the test clock's: the debtor writes at 22:25, and the commit
            # stamps that instant as his last inbound, as the gate's clock reads it.
            wrote = self.set_clock_local(NY, 2026, 11, 24, 22, 25)
            self.assertTrue(james.say("sms", "I want to talk to a person").replies,
                            "the bot's answer goes out at 22:25 (a reply, shipped pack)")
            self.assertEqual(int(james.conv()["last_in:sms"]), wrote)
            await a.latest("agent", lambda m: m["offers"], timeout=10)
            self.assertEqual((await a.request("accept", debtor="D1"))["t"], "ok")
            # An agent's message is the collector speaking, even five minutes after the debtor
            # wrote: 22:30 is outside the shipped Regulation F hours; a pack with longer hours
            # lets it out once reloaded.
            self.set_clock_local(NY, 2026, 11, 24, 22, 30)
            ans = await a.request("reply", debtor="D1", channel="sms", text="Hi James, this is Ana.")
            self.assertFalse(ans["ok"], ans)
            self.assertEqual(ans["reason"], "outside_contact_hours")
            rewrite(os.path.join(self.packs, "us_reg_f.pack"), "mon-sun = 08:00-21:00", "mon-sun = 08:00-23:00")
            self.reload("reloaded")
            ans = await a.request("reply", debtor="D1", channel="sms", text="Hi James, this is Ana.")
            self.assertTrue(ans["ok"], ans)
            # Within the reply window it answers the debtor: the frequency cap does not count it.
            self.assertEqual(self.r.zcard(debtor_key("D1", "contacts:sms")), 0)
            await a.close()
        run(scenario())


if __name__ == "__main__":
    unittest.main(verbosity=2)
