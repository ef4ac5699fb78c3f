#!/usr/bin/env python3
"""fidelity.py — compares the Redis commands the router sent (MONITOR capture) with those
hilo-replay sent for the same generated messages. Wall-clock milliseconds (13 digits) are
masked; everything else (keys, argument sizes, JSON bytes, order) must match.
Usage: fidelity.py ROUTER_MONITOR REPLAY_MONITOR SHA  -> prints one JSON line, exit 1 on a mismatch."""
import json
import re
import shlex
import sys

LINE = re.compile(r'^\d+\.\d+ \[\d+ ([^\]]+)\] (.*)$')
MS = re.compile(r'\b1\d{12}\b')


def commands(path, sha):
    kept, other = [], {}
    with open(path, encoding='utf-8', errors='replace') as f:
        for raw in f:
            m = LINE.match(raw.rstrip('\n'))
            if not m or m.group(1) == 'lua':
                continue  # the script's own commands follow from its arguments
            try:
                argv = shlex.split(m.group(2))
            except ValueError:
                argv = m.group(2).split()
            name = argv[0].upper()
            if (name == 'MGET' and argv[1].startswith('hilo:addr:')) or \
               (name == 'EVALSHA' and argv[1] == sha) or (name == 'ZADD' and argv[1] == 'hilo:convs'):
                kept.append([MS.sub('<ms>', a) for a in argv])
            else:
                key = name if name != 'EVALSHA' else 'EVALSHA ' + argv[1][:8]
                other[key] = other.get(key, 0) + 1
    return kept, other


def main():
    router, router_other = commands(sys.argv[1], sys.argv[3])
    replay, replay_other = commands(sys.argv[2], sys.argv[3])
    first_diff = None
    for i, (a, b) in enumerate(zip(router, replay)):
        if a != b:
            first_diff = {'index': i, 'router': a, 'replay': b}
            break
    same = first_diff is None and len(router) == len(replay)
    print(json.dumps({'identical': same, 'router_commands': len(router), 'replay_commands': len(replay),
                      'router_other_commands': router_other, 'replay_other_commands': replay_other,
                      'first_difference': first_diff, 'example': router[:3]}))
    return 0 if same else 1


if __name__ == '__main__':
    sys.exit(main())
