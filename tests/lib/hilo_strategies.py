"""hilo_strategies — strategy files and strategy state for the console's strategy suites
(tests/integration/test_console_strategies.py, tests/browser/test_strategies_browser.py).

    write_strategies(dir)         two strategy files: the demo's `demo_reminders` (paused in its
                                  file, two variants) and `late_notice` (active in its file)
    place(state, strategy, ...)   a conv field `strat` as the runner writes it
                                  (router/lua/lib/strategy_state.lua)
    strategy_event(r, debtor, event, ...)  an `ev=strategy` audit entry as the runner writes it
    funnel_key(name), state_key(name)      hilo:{s:NAME}:funnel / :state
"""

import json
import os
import shutil

from hilo_harness import SOURCE_DIR, debtor_key

# The demo strategy (deploy/strategies/demo.strategy: demo_reminders, priority 100, paused in its
# file, variants champion 80 / sms_first 20), and a second one, active in its file, with a
# limited-content text (unverified debtors reach it) and the opt-out notice the US pack asks for.
DEMO = os.path.join(SOURCE_DIR, "deploy", "strategies", "demo.strategy")

LATE_NOTICE = """
[strategy]
name = late_notice
priority = 10
state = active
languages = en

[segment late]
days_past_due = 91-
steps = late_sms

[step late_sms]
channel = sms
hours = 10:00-18:00
text.en = Test Co would like to hear from you. Reply STOP to opt out.
"""


def write_strategies(directory):
    os.makedirs(directory, exist_ok=True)
    shutil.copy(DEMO, os.path.join(directory, "demo.strategy"))
    with open(os.path.join(directory, "late_notice.strategy"), "w") as f:
        f.write(LATE_NOTICE)
    return directory


def funnel_key(name):
    return "hilo:{s:%s}:funnel" % name


def state_key(name):
    return "hilo:{s:%s}:state" % name


def place(state, strategy, step, at_ms=0, segment="early", variant="champion", last="", sent_ms=0, oid="",
          why="", prev="", rev=1):
    """The conv field `strat`."""
    return "|".join(str(x) for x in (state, strategy, segment, variant, step, last, at_ms, sent_ms, oid, why,
                                     prev, rev))


def strategy_event(r, debtor, event, strategy="demo_reminders", variant="champion", step="", reason=None, ms=0):
    j = {"event": event, "strategy": strategy, "variant": variant, "step": step, "ms": ms}
    if reason:
        j["reason"] = reason
    return r.xadd(debtor_key(debtor, "audit"), {"ev": "strategy", "j": json.dumps(j)})
