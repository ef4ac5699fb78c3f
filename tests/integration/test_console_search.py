"""The console's search box ({"t":"search"}, router/src/console/search.c) and the floor's box
({"t":"find"}) over debtors imported by the real CLI (the name index, hilo/name_index.h, is
written by `hilo import-debtors`): names by word prefix whatever the case and accents, debtor
ids, phones in national spelling; an agent finds only their own conversations, a supervisor
everyone; a re-import that renames a debtor moves its index words; a word left stale in the
index finds nothing; every index key is one partition's own hash slot."""

import unittest

from hilo_harness import HiloTestCase, cli_path, import_debtors
from hilo_console import add_agent, console_overrides, escalate, online, run

DEBTORS = [
    {"debtor_id": "C-1", "full_name": "Camila Rojas Pérez", "phones": "+573001234567"},
    {"debtor_id": "C-2", "full_name": "CAMILO ROJAS", "phones": "+573001112233"},
    {"debtor_id": "C-3", "full_name": "María José Núñez", "phones": "+573005556677"},
    {"debtor_id": "C-4", "full_name": "Ana Pérez", "phones": "+573009990000"},
]


def fnv_partition(debtor, n=16):
    h = 2166136261
    for b in debtor.encode():
        h = ((h ^ b) * 16777619) & 0xFFFFFFFF
    return h % n


def found(ans):
    assert ans["t"] == "ok", ans
    return sorted(r["debtor"] for r in ans["results"])


@unittest.skipUnless(cli_path(), "the hilo CLI is not built")
class ConsoleSearch(HiloTestCase):
    def setUp(self):
        super().setUp()
        redis = self.redis()
        ov = console_overrides()
        ov.setdefault("identity", {})["default_country_code"] = "57"
        self.rtr = self.router(redis, overrides=ov)
        add_agent(self.rtr.conf_path, "ana", capacity="whatsapp=2,sms=0,voice=0")
        add_agent(self.rtr.conf_path, "ben", capacity="whatsapp=2,sms=0,voice=0")
        add_agent(self.rtr.conf_path, "boss", role="supervisor", skills="")
        self.r = redis.client()
        rows = [dict(d, country="CO", timezone="America/Bogota", language="es") for d in DEBTORS]
        import_debtors(self.rtr.conf_path, self.workdir, rows)

    async def assign(self, agent, debtor):
        escalate(self.r, debtor, addr=self.r.hget("hilo:{d:%s}:debtor" % debtor, "phones"))
        await agent.latest("agent", lambda m: debtor in [o["debtor"] for o in m.get("offers", [])], timeout=10)
        ans = await agent.request("accept", debtor=debtor)
        assert ans["t"] == "ok", ans

    def test_search_by_name_id_and_phone_within_what_each_may_read(self):
        async def scenario():
            ana = await self.online_agent("ana")
            await self.assign(ana, "C-1")
            await ana.request("state", state="away")
            ben = await self.online_agent("ben")
            await self.assign(ben, "C-3")
            boss = await online(self.rtr, "boss", available=False)

            # Names: word prefixes, any case, with or without accents, precomposed or not.
            for q in ("camila", "CAMILA", "Cam", "rojas", "PÉREZ camila", "perez", "ro pe"):
                self.assertEqual(found(await ana.request("search", query=q)), ["C-1"], q)
            self.assertEqual(found(await boss.request("search", query="rojas")), ["C-1", "C-2"])
            self.assertEqual(found(await boss.request("search", query="Perez")), ["C-1", "C-4"])
            for q in ("maria jose", "MARÍA NÚÑEZ", "Mari\u0301a", "nunez"):
                self.assertEqual(found(await boss.request("search", query=q)), ["C-3"], q)
                self.assertEqual(found(await ben.request("search", query=q)), ["C-3"], q)
                # Not ana's: nothing, and nothing said about it.
                self.assertEqual(found(await ana.request("search", query=q)), [], q)
            ans = await boss.request("search", query="camila rojas")
            self.assertEqual([(r["debtor"], r["by"], r["name"], r.get("agent")) for r in ans["results"]],
                             [("C-1", "name", "Camila Rojas Pérez", "ana")])
            self.assertFalse(ans["more"])
            self.assertEqual(found(await boss.request("search", query="camilo perez")), [])

            # Phones in the national spelling (and others), matched in E.164.
            for q in ("300 123 4567", "(300) 123-4567", "+57 300 1234567", "0057 3001234567"):
                ans = await ana.request("search", query=q)
                self.assertEqual([(r["debtor"], r["by"]) for r in ans["results"]], [("C-1", "phone")], q)
                self.assertEqual(found(await ben.request("search", query=q)), [], q)
            self.assertEqual(found(await boss.request("search", query="300 555 6677")), ["C-3"])
            self.assertEqual(found(await boss.request("search", query="300 999 0000")), ["C-4"])

            # Ids: one's own, anyone's for a supervisor.
            ans = await ana.request("search", query="C-1")
            self.assertEqual([(r["debtor"], r["by"]) for r in ans["results"]], [("C-1", "id")])
            self.assertEqual(found(await ana.request("search", query="C-3")), [])
            self.assertEqual(found(await boss.request("search", query=" C-4 ")), ["C-4"])
            self.assertEqual(found(await boss.request("search", query="C-99")), [])

            # Bad input: a clear error.
            for q in ("", "   ", "x" * 200, "¿?"):
                ans = await boss.request("search", query=q)
                self.assertEqual((ans["t"], ans["code"]), ("error", "bad_request"), q)
                self.assertTrue(ans["text"])
            ans = await ana.request("search")
            self.assertEqual((ans["t"], ans["code"]), ("error", "bad_request"))

            # The floor's box takes a name only one debtor has.
            ans = await boss.request("find", query="Núñez")
            self.assertEqual((ans["t"], ans.get("debtor"), ans.get("by")), ("ok", "C-3", "name"), ans)
            ans = await boss.request("find", query="perez")
            self.assertEqual((ans["t"], ans["code"]), ("error", "ambiguous"), ans)
            self.assertIn("2 debtors", ans["text"])
            ans = await boss.request("find", query="zacarias")
            self.assertEqual((ans["t"], ans["code"]), ("error", "not_found"), ans)
            for c in (ana, ben, boss):
                await c.close()
        run(scenario())

    async def online_agent(self, name):
        return await online(self.rtr, name)

    def test_reimport_moves_words_and_stale_words_find_nothing(self):
        def names_key(d):
            return "hilo:{p:%d}:names" % fnv_partition(d)

        # Every member sits in its debtor's partition, one hash slot per key.
        keys = sorted(self.r.scan_iter("hilo:{p:*}:names"))
        self.assertTrue(keys)
        members = set()
        for k in keys:
            for m in self.r.zrange(k, 0, -1):
                word, debtor = m.rsplit("|", 1)
                self.assertEqual(k, names_key(debtor), m)
                members.add(m)
        self.assertEqual(members, {"camila|C-1", "rojas|C-1", "perez|C-1", "camilo|C-2", "rojas|C-2",
                                   "maria|C-3", "jose|C-3", "nunez|C-3", "ana|C-4", "perez|C-4"})
        # C-2 is renamed by a new import of its row.
        import_debtors(self.rtr.conf_path, self.workdir,
                       [{"debtor_id": "C-2", "full_name": "Camilo Gómez", "phones": "+573001112233",
                         "country": "CO"}])
        self.assertIsNone(self.r.zscore(names_key("C-2"), "rojas|C-2"))
        self.assertEqual(self.r.zscore(names_key("C-2"), "gomez|C-2"), 0)
        self.assertEqual(self.r.zscore(names_key("C-2"), "camilo|C-2"), 0)
        # A word the record no longer has (left by a crash between the record and the index).
        self.r.zadd(names_key("C-4"), {"zacarias|C-4": 0})

        async def scenario():
            boss = await online(self.rtr, "boss", available=False)
            self.assertEqual(found(await boss.request("search", query="rojas")), ["C-1"])
            self.assertEqual(found(await boss.request("search", query="gómez")), ["C-2"])
            self.assertEqual(found(await boss.request("search", query="zacarias")), [])
            await boss.close()
        run(scenario())


if __name__ == "__main__":
    unittest.main()
