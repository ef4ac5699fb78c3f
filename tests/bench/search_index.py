#!/usr/bin/python3
"""search_index.py — benchmark: the console's search ({"t":"search"}) over a large portfolio.

Starts redis-server and one hilo-router (tests/lib/hilo_harness.py), writes --debtors debtor
records (full_name, phones) and then their name index entries the way `hilo import-debtors` does
(hilo/name_index.h: "<folded word>|<id>" in hilo:{p:<FNV-1a mod 16>}:names), reports what the
index costs in Redis memory (used_memory before and after it), then times a supervisor's
searches over the websocket (request to answer, --repeat each): a common surname, a common first
name and surname, a rare surname, one letter, a debtor id, a phone. Names are drawn from a few
hundred Spanish first names and surnames, so common words have tens of thousands of debtors.

    tests/bench/search_index.py [--debtors 1000000] [--repeat 50] [--build DIR]

Results: docs/performance.md ("Search").
"""

import argparse
import asyncio
import os
import random
import sys
import tempfile
import time
import unicodedata

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))

FIRST = ("María José Juan Carlos Luis Ana Jorge Andrés Camila Valentina Sofía Daniel Diego Laura Paula Sebastián "
         "Alejandro Natalia Gabriela Santiago Mateo Lucía Martín Isabel Fernando Ricardo Patricia Mónica Sergio "
         "Tomás Inés Pedro Raúl Héctor Óscar Adriana Claudia Beatriz Rosa Elena Marta Pablo Javier Manuel Ángel "
         "Francisco Antonio Miguel Rafael Ramón Gloria Teresa Lorena Julián Esteban Emilio Víctor Hugo Iván").split()
LAST = ("García Rodríguez González Fernández López Martínez Sánchez Pérez Gómez Martín Jiménez Ruiz Hernández "
        "Díaz Moreno Muñoz Álvarez Romero Alonso Gutiérrez Navarro Torres Domínguez Vázquez Ramos Gil Ramírez "
        "Serrano Blanco Molina Morales Suárez Ortega Delgado Castro Ortiz Rubio Marín Sanz Núñez Iglesias Medina "
        "Garrido Cortés Castillo Santos Lozano Guerrero Cano Prieto Méndez Cruz Calvo Gallego Vidal León Márquez "
        "Herrera Peña Flores Cabrera Campos Vega Fuentes Carrasco Díez Caballero Reyes Nieto Aguilar Pascual "
        "Santana Herrero Lorenzo Montero Hidalgo Giménez Ibáñez Ferrer Durán Santiago Benítez Mora Vicente "
        "Vargas Arias Carmona Crespo Román Pastor Soto Sáez Velasco Moya Soler Parra Esteban Bravo Gallardo Rojas "
        "Zuleta").split()


def fold(word):
    d = unicodedata.normalize("NFKD", word).casefold()
    return "".join(ch for ch in d if not unicodedata.combining(ch))


def fnv_partition(debtor):
    h = 2166136261
    for b in debtor.encode():
        h = ((h ^ b) * 16777619) & 0xFFFFFFFF
    return h % 16


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p * len(xs)))]


def load(r, n):
    rng = random.Random(25)
    names = []
    p = r.pipeline(transaction=False)
    for i in range(n):
        d = "B%07d" % i
        # "Zuleta" is rare: one debtor in 2,000.
        last = rng.choice(LAST[:-1]) if rng.random() > 0.0005 else "Zuleta"
        name = "%s %s %s" % (rng.choice(FIRST), last, rng.choice(LAST[:-1]))
        names.append(name)
        phone = "+16502%06d" % i
        p.hset("hilo:{d:%s}:debtor" % d, mapping={"full_name": name, "phones": phone})
        p.set("hilo:addr:" + phone, d)
        if i % 5000 == 4999:
            p.execute()
    p.execute()
    before = r.info("memory")["used_memory"]
    for i, name in enumerate(names):
        d = "B%07d" % i
        words = []
        for w in name.split():
            f = fold(w)
            if f not in words:
                words.append(f)
        p.zadd("hilo:{p:%d}:names" % fnv_partition(d), {"%s|%s" % (w, d): 0 for w in words})
        if i % 5000 == 4999:
            p.execute()
    p.execute()
    after = r.info("memory")["used_memory"]
    return before, after


async def searches(hc, router, queries, repeat):
    boss = await hc.online(router, "boss", available=False)
    out = {}
    for q in queries:
        times, ans = [], None
        for _ in range(repeat):
            t0 = time.monotonic()
            ans = await boss.request("search", query=q, timeout=30)
            times.append((time.monotonic() - t0) * 1000)
        assert ans["t"] == "ok", ans
        out[q] = {"p50": round(pct(times, 0.5), 2), "p99": round(pct(times, 0.99), 2), "max": round(max(times), 2),
                  "results": len(ans["results"]), "more": ans["more"]}
    await boss.close()
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--debtors", type=int, default=1000000)
    ap.add_argument("--repeat", type=int, default=50)
    ap.add_argument("--build", default=None)
    a = ap.parse_args()
    if a.build:
        os.environ["HILO_BUILD_DIR"] = os.path.abspath(a.build)
    import hilo_harness as H
    import hilo_console as hc
    work = tempfile.mkdtemp(prefix="hilo-search-bench-")
    redis = H.RedisServer(work).start()
    router = H.Router(redis, work, overrides=hc.console_overrides(rate_per_s=1000, rate_burst=1000)).start()
    try:
        hc.add_agent(router.conf_path, "boss", role="supervisor", skills="")
        r = redis.client()
        t0 = time.monotonic()
        before, after = load(r, a.debtors)
        members = sum(r.zcard("hilo:{p:%d}:names" % i) for i in range(16))
        print("loaded %d debtors in %.0f s; index: %d members, %.1f MB (%.0f bytes a debtor, %.0f a member)"
              % (a.debtors, time.monotonic() - t0, members, (after - before) / 1e6, (after - before) / a.debtors,
                 (after - before) / members))
        queries = ["garcia", "maria garcia", "Zuleta", "m", "B0500000", "(650) 250-0000"]
        res = hc.run(searches(hc, router, queries, a.repeat), timeout=600)
        for q, v in res.items():
            print("%-16s p50 %6.2f ms  p99 %6.2f ms  max %6.2f ms  results %d%s"
                  % (q, v["p50"], v["p99"], v["max"], v["results"], " (more)" if v["more"] else ""))
    finally:
        router.stop()
        redis.stop()


if __name__ == "__main__":
    main()
