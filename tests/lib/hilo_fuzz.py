"""hilo_fuzz — seeded damage to text files, shared by the fuzz suites that feed files to our
programs (tests/integration/test_router_config.py, test_fuzz_import.py).

    damage_lines(rng, data, edits)   bytes -> bytes: a few line-level edits
"""


def damage_lines(rng, data, edits=()):
    """1 to 6 edits of the lines of `data` (bytes): a line removed, repeated elsewhere, cut, a
    bit flipped in it, the file cut after it, or one of `edits` — functions (rng, line) -> the
    line's replacement (bytes) — for damage that knows the format."""
    common = [
        lambda lines, i: lines.__delitem__(i),
        lambda lines, i: lines.insert(i, lines[rng.randrange(len(lines))]),
        lambda lines, i: lines.__setitem__(i, lines[i][:rng.randrange(len(lines[i]) + 1)]),
        lambda lines, i: lines.__setitem__(i, flip_bit(rng, lines[i])),
        lambda lines, i: lines.__delitem__(slice(i + 1, None)),
    ]
    own = [lambda lines, i, e=e: lines.__setitem__(i, e(rng, lines[i])) for e in edits]
    lines = data.split(b"\n")
    for _ in range(rng.choice([1, 1, 2, 3, 6])):
        lines = lines or [b""]
        i = rng.randrange(len(lines))
        rng.choice(common + own * 2)(lines, i)
    return b"\n".join(lines)


def flip_bit(rng, line):
    if not line:
        return line
    b = bytearray(line)
    b[rng.randrange(len(b))] ^= 1 << rng.randrange(8)
    return bytes(b)
