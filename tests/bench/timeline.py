#!/usr/bin/env python3
"""timeline.py — where the slow messages of an open-loop run are, from hilo-loadgen --timeline
(one line per 10 ms of send time: "send_ms messages worst_us over_2ms").

An episode is a stretch of consecutive 10 ms slots each holding a message slower than 2 ms.
A tail made of a few long episodes is the machine or Redis stopping for a while (a stall and
the backlog draining after it); one spread over many short episodes is queueing. Episodes that
start at the same point of every second (once_a_second) point at something Redis does every
second: with appendfsync everysec, its fsync of the AOF.
Usage: timeline.py FILE [WARMUP_MS]  -> prints one JSON line (slots before WARMUP_MS, default
1000, are left out, as the latency figures leave them out)."""
import json
import sys

SLOT_MS = 10
SLOW_US = 2000


def main():
    path = sys.argv[1]
    warmup_ms = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    slots = []
    with open(path, encoding='ascii') as f:
        for line in f:
            if line.startswith('#') or not line.strip():
                continue
            ms, n, worst, slow = (int(x) for x in line.split())
            if ms >= warmup_ms:
                slots.append((ms, n, worst, slow))
    episodes = []
    for ms, n, worst, slow in slots:
        if worst <= SLOW_US:
            continue
        last = episodes[-1] if episodes else None
        if last and ms - last['end_ms'] == SLOT_MS:
            last['end_ms'] = ms
            last['worst_us'] = max(last['worst_us'], worst)
            last['over_2ms'] += slow
        else:
            episodes.append({'at_ms': ms, 'end_ms': ms, 'worst_us': worst, 'over_2ms': slow})
    for e in episodes:
        e['length_ms'] = e.pop('end_ms') - e['at_ms'] + SLOT_MS
    messages = sum(s[1] for s in slots)
    over = sum(s[3] for s in slots)
    top = sorted(episodes, key=lambda e: e['over_2ms'], reverse=True)[:5]
    # The phase within the second (to 10 ms) whose episodes, starting within 30 ms of it,
    # hold the most slow messages.
    best_phase, best_over, best_n = None, 0, 0
    for phase in range(0, 1000, SLOT_MS):
        near = [e for e in episodes if min((e['at_ms'] - phase) % 1000, (phase - e['at_ms']) % 1000) <= 30]
        got = sum(e['over_2ms'] for e in near)
        if got > best_over:
            best_phase, best_over, best_n = phase, got, len(near)
    print(json.dumps({
        'messages': messages,
        'over_2ms': over,
        'over_2ms_pct': round(100.0 * over / messages, 2) if messages else None,
        'episodes': len(episodes),
        'longest_ms': max((e['length_ms'] for e in episodes), default=0),
        'over_2ms_in_top5_pct': round(100.0 * sum(e['over_2ms'] for e in top) / over, 1) if over else None,
        'once_a_second': {'phase_ms': best_phase, 'episodes': best_n,
                          'over_2ms_pct': round(100.0 * best_over / over, 1) if over else None},
        'top5': [{'at_ms': e['at_ms'], 'length_ms': e['length_ms'], 'worst_ms': round(e['worst_us'] / 1000, 1),
                  'over_2ms': e['over_2ms']} for e in top],
    }, separators=(',', ':')))


if __name__ == '__main__':
    main()
