"""Phone numbers through libphonenumber: one debtor whatever format a provider or a portfolio uses.

Real redis-server + hilo-router + the hilo CLI (config: [identity] default_country_code = 1):
- a Mexican debtor imported as "+52 55 1234 5678" (country MX) writing on WhatsApp from the wa_id
  "5215512345678" lands in the same thread as her SMS from "+525512345678"; a reply on WhatsApp
  goes to the wa_id as received, one on SMS to the canonical number;
- an Argentine mobile imported as "011 15 2345-6789" (country AR) is the WhatsApp id
  "5491123456789";
- a Peruvian national number "01 4567890" imported with country PE is "+5114567890" (the
  default country code 1 made it "+1014567890");
- a row with an invalid phone: FILE:LINE: reason, and the row's other phones load;
- `hilo migrate-addresses`: --dry-run prints and changes nothing, the real run moves the old
  keys and rewrites the debtors' phones, a second run changes nothing, a conflict is reported
  and left alone (exit 1).
"""

import os
import time
import unittest

from engine_helpers import CLOCK_KEY, local_ms
from hilo_harness import TEST_CLOCK_OVERRIDES, HiloTestCase, cli_path, debtor_key, history, import_debtors, run_cli

# Replies pass the compliance gate at hand-off: on the test clock, inside Mexico's contact hours
# (whatever the time of day the suite runs at).
MX_TUESDAY_10AM = local_ms("America/Mexico_City", 2026, 11, 24, 10, 0)


def write_csv(workdir, name, lines):
    path = os.path.join(workdir, name)
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    return path


@unittest.skipUnless(cli_path(), "the hilo CLI is not built")
class PhoneNumbers(HiloTestCase):
    def send_ok(self, conn, **fields):
        seq = conn.send_envelope(**fields)
        res = conn.wait_result(seq, 15)
        self.assertIsNotNone(res, "no answer to %s" % fields["provider_message_id"])
        self.assertEqual(res.kind, "ack", res)
        return res

    def test_mexican_whatsapp_521_joins_the_portfolio_number(self):
        redis = self.redis()
        r = redis.client()
        r.set(CLOCK_KEY, str(MX_TUESDAY_10AM))
        router = self.router(redis, overrides=TEST_CLOCK_OVERRIDES)
        import_debtors(router.conf_path, self.workdir,
                       [{"debtor_id": "MX1", "full_name": "Marta Mx", "phones": ["+52 55 1234 5678"],
                         "country": "MX", "timezone": "America/Mexico_City", "language": "es"}])
        self.assertEqual(r.get("hilo:addr:+525512345678"), "MX1")
        wa = self.connector(router, "whatsapp", "whatsapp-1")
        sms = self.connector(router, "sms", "sms-1")
        res = self.send_ok(wa, provider_message_id="wamid.MX1", from_="5215512345678", to="15550001111",
                           text="hola, quiero pagar")
        self.assertEqual(res.debtor_id, "MX1", "the wa_id 521... is the portfolio's +52...")
        res = self.send_ok(sms, provider_message_id="SM-MX1", from_="+525512345678", to="+15550002222",
                           text="sigo aqui")
        self.assertEqual(res.debtor_id, "MX1")
        items = history(r, "MX1")
        self.assertEqual([(i["ch"], i["from"]) for _, i in items],
                         [("whatsapp", "+525512345678"), ("sms", "+525512345678")])
        self.assertFalse(r.exists(debtor_key("u:+5215512345678", "hist")), "split off as an unknown contact")
        conv = r.hgetall(debtor_key("MX1", "conv"))
        # Where replies go: the address as received on each channel.
        self.assertEqual((conv.get("addr:whatsapp"), conv.get("addr:sms")), ("5215512345678", "+525512345678"))
        run_cli(router.conf_path, "send", "MX1", "whatsapp", "Hola Marta")
        run_cli(router.conf_path, "send", "MX1", "sms", "Hola Marta")
        got_wa = wa.wait_outbound(15)
        got_sms = sms.wait_outbound(15)
        self.assertEqual([o.to for o in got_wa], ["5215512345678"])
        self.assertEqual([o.to for o in got_sms], ["+525512345678"])
        # The CLI finds her by any spelling.
        out = run_cli(router.conf_path, "debtor", "5215512345678").stdout
        self.assertIn("MX1", out)

    def test_argentine_mobile_national_15_is_the_whatsapp_549_id(self):
        redis = self.redis()
        r = redis.client()
        router = self.router(redis)
        import_debtors(router.conf_path, self.workdir,
                       [{"debtor_id": "AR1", "full_name": "Ariel Ar", "phones": ["011 15 2345-6789"],
                         "country": "AR", "timezone": "America/Argentina/Buenos_Aires", "language": "es"}])
        self.assertEqual(r.get("hilo:addr:+5491123456789"), "AR1")
        wa = self.connector(router, "whatsapp", "whatsapp-1")
        res = self.send_ok(wa, provider_message_id="wamid.AR1", from_="5491123456789", to="15550001111",
                           text="hola")
        self.assertEqual(res.debtor_id, "AR1")

    def test_peruvian_national_number_read_in_its_country(self):
        redis = self.redis()
        r = redis.client()
        router = self.router(redis)
        csv = write_csv(self.workdir, "pe.csv", [
            "debtor_id,full_name,phones,timezone,language,country",
            "PE1,Pedro Pe,01 4567890; 912 345 678,America/Lima,es,PE",
            "US1,Uma Us,(650) 253-0000,America/New_York,en,",
        ])
        p = run_cli(router.conf_path, "import-debtors", csv)
        self.assertEqual((p.stdout, p.stderr), ("imported 2, rejected 0\n", ""))
        self.assertEqual(r.get("hilo:addr:+5114567890"), "PE1")
        self.assertEqual(r.get("hilo:addr:+51912345678"), "PE1")
        self.assertIsNone(r.get("hilo:addr:+1014567890"), "read with the default country code")
        self.assertEqual(r.hget(debtor_key("PE1", "debtor"), "phones"), "+5114567890;+51912345678")
        # A row without a country: [identity] default_country_code (1).
        self.assertEqual(r.get("hilo:addr:+16502530000"), "US1")

    def test_invalid_phone_reported_and_the_others_load(self):
        redis = self.redis()
        r = redis.client()
        router = self.router(redis)
        csv = write_csv(self.workdir, "bad.csv", [
            "debtor_id,full_name,phones,country",
            "G1,Gina,+16502530000,US",
            "B1,Beto,+1650; 6502530001;01 999,US",
            "B2,Bea,01 999;912 345 678,PE",
        ])
        p = run_cli(router.conf_path, "import-debtors", csv)
        self.assertEqual(p.stdout, "imported 3, rejected 0\n")
        self.assertEqual(p.stderr.splitlines(), [
            csv + ":3: debtor B1: phone '+1650' (country US): too short for its country",
            csv + ":3: debtor B1: phone '01 999' (country US): too short for its country",
            csv + ":4: debtor B2: phone '01 999' (country PE): too short for its country",
        ])
        self.assertEqual(r.get("hilo:addr:+16502530001"), "B1")
        self.assertEqual(r.hget(debtor_key("B1", "debtor"), "phones"), "+16502530001")
        self.assertEqual(r.get("hilo:addr:+51912345678"), "B2")
        self.assertEqual(r.smembers("hilo:debtors"), {"G1", "B1", "B2"})

    def test_migrate_addresses(self):
        redis = self.redis()
        r = redis.client()
        router = self.router(redis)
        # As the hand rules wrote them: the wa_id's 521 kept; one key already canonical; one pair
        # that names two debtors (a conflict the operator must settle).
        r.hset(debtor_key("M1", "debtor"), mapping={"debtor_id": "M1", "full_name": "Marta",
                                                     "phones": "+5215512345678;+16502530000"})
        r.hset(debtor_key("M2", "debtor"), mapping={"debtor_id": "M2", "full_name": "Mario",
                                                     "phones": "+525587654321"})
        r.sadd("hilo:debtors", "M1", "M2")
        r.set("hilo:addr:+5215512345678", "M1")
        r.set("hilo:addr:+16502530000", "M1")
        r.set("hilo:addr:+525587654321", "M2")
        r.set("hilo:addr:+5215587654321", "M2")  # both spellings already present: the old one goes
        r.set("hilo:addr:+5218112345678", "C1")
        r.set("hilo:addr:+528112345678", "C2")
        r.set("hilo:addr:not-a-phone", "X1")
        before = {k: r.get(k) for k in r.keys("hilo:addr:*")}

        p = run_cli(router.conf_path, "migrate-addresses", "--dry-run", check=False)
        self.assertEqual(p.returncode, 1, p)  # the conflict
        out = p.stdout.splitlines()
        self.assertIn("would move hilo:addr:+5215512345678 -> hilo:addr:+525512345678 (debtor M1)", out)
        self.assertIn("would drop hilo:addr:+5215587654321 -> hilo:addr:+525587654321 (debtor M2)", out)
        self.assertIn("would rewrite hilo:{d:M1}:debtor phones +5215512345678;+16502530000 -> "
                      "+525512345678;+16502530000", out)
        self.assertIn("conflict: hilo:addr:+5218112345678 names debtor C1 but hilo:addr:+528112345678 "
                      "names debtor C2", p.stderr)
        self.assertIn("kept hilo:addr:not-a-phone", p.stderr)
        self.assertEqual({k: r.get(k) for k in r.keys("hilo:addr:*")}, before, "a dry run changes nothing")
        self.assertEqual(r.hget(debtor_key("M1", "debtor"), "phones"), "+5215512345678;+16502530000")

        p = run_cli(router.conf_path, "migrate-addresses", check=False)
        self.assertEqual(p.returncode, 1, p)
        self.assertIn("moved hilo:addr:+5215512345678 -> hilo:addr:+525512345678 (debtor M1)", p.stdout)
        self.assertEqual(r.get("hilo:addr:+525512345678"), "M1")
        self.assertIsNone(r.get("hilo:addr:+5215512345678"))
        self.assertIsNone(r.get("hilo:addr:+5215587654321"))
        self.assertEqual(r.get("hilo:addr:+525587654321"), "M2")
        self.assertEqual(r.hget(debtor_key("M1", "debtor"), "phones"), "+525512345678;+16502530000")
        self.assertEqual((r.get("hilo:addr:+5218112345678"), r.get("hilo:addr:+528112345678")), ("C1", "C2"))
        self.assertEqual(r.get("hilo:addr:not-a-phone"), "X1")

        # The operator settles the conflict; a second run finishes, a third changes nothing.
        r.delete("hilo:addr:+5218112345678")
        p = run_cli(router.conf_path, "migrate-addresses")
        self.assertNotIn("moved", p.stdout.replace("0 moved", ""))
        self.assertIn("migrated: 5 identity keys checked, 0 moved, 0 dropped", p.stdout)
        after = {k: r.get(k) for k in r.keys("hilo:addr:*")}
        p = run_cli(router.conf_path, "migrate-addresses", "--dry-run")
        self.assertFalse([l for l in p.stdout.splitlines() if l.startswith("would ")], p.stdout)
        self.assertEqual({k: r.get(k) for k in r.keys("hilo:addr:*")}, after)

        # The router finds her by the wa_id now.
        wa = self.connector(router, "whatsapp", "whatsapp-1")
        time.sleep(0.05)
        res = self.send_ok(wa, provider_message_id="wamid.M1", from_="5215512345678", to="15550001111",
                           text="hola")
        self.assertEqual(res.debtor_id, "M1")


if __name__ == "__main__":
    unittest.main()
