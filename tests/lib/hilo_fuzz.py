"""hilo_fuzz — seeded random input shared by the fuzz suites (tests/*/test_fuzz_*.py,
test_router_config.py, test_connectors_fuzz.py).

    damage_lines(rng, data, edits)        bytes -> bytes: a few line-level edits of a text file
    http_request(rng, port, paths, ...)   a random raw HTTP request (bytes)
    exchange(port, data)                  sends it on a fresh socket; the raw answer (b"": closed)
    pipelined(port, parts, ...)           several requests on one connection, without waiting
    post(path, body)                      a raw HTTP/1.1 POST with a Content-Length (bytes)
    trickle(port, head, ...)              a request sent a byte at a time: when the server cut it
"""

import json
import socket
import time

METHODS = ["GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "PATCH", "TRACE", "CONNECT", "GARBAGE", "get", ""]


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


def http_request(rng, port, paths, methods=METHODS, json_bodies=()):
    """One random request's bytes: a method of `methods`, a path of `paths`, a JSON body of
    `json_bodies` (or other bytes) for POSTs, odd versions, headers and lengths; sometimes garbage."""
    kind = rng.random()
    if kind < 0.05:
        return bytes(rng.randrange(256) for _ in range(rng.randrange(1, 300)))
    method = rng.choice(methods)
    path = rng.choice(paths)
    version = rng.choice(["HTTP/1.1"] * 8 + ["HTTP/1.0", "HTTP/2.0", "HTTP/9", ""])
    headers = []
    if rng.random() < 0.9:
        headers.append("Host: 127.0.0.1:%d" % port)
    body = b""
    if method == "POST" or rng.random() < 0.1:
        if json_bodies and rng.random() < 0.7:
            body = json.dumps(rng.choice(json_bodies)).encode()
        else:
            body = rng.choice([b"", b"{", b"\xff\xfe", b"agent=ana&password=x", b"{\"agent\":\"ana\"" * 3000])
        headers.append("Content-Type: " + rng.choice(["application/json", "text/plain", "", "application/json; x"]))
        length = rng.choice([len(body)] * 6 + [0, len(body) + 10, max(0, len(body) - 1), -1, 10 ** 12])
        headers.append("Content-Length: %d" % length)
    if rng.random() < 0.1:
        headers.append(rng.choice(["Origin: http://evil.example", "Transfer-Encoding: chunked",
                                   "Connection: Upgrade", "Upgrade: websocket", "X-" + "h" * 9000 + ": 1",
                                   "no colon here", ": empty name", "Cookie: " + "c" * 5000]))
    head = "%s %s %s\r\n%s\r\n\r\n" % (method, path, version, "".join(h + "\r\n" for h in headers))
    return head.encode("utf-8", "surrogateescape") + body


def exchange(port, data, timeout=5):
    """Sends data; returns the response bytes (b"" when the router closed without one)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        try:
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        chunks = []
        while True:
            try:
                b = s.recv(65536)
            except ConnectionResetError:
                break
            if not b:
                break
            chunks.append(b)
        return b"".join(chunks)
    finally:
        s.close()


def post(path, body, host="127.0.0.1"):
    """A raw HTTP/1.1 POST of `body` (bytes) with its Content-Length, nothing else."""
    return (b"POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (path.encode(), host.encode(), len(body), body))


def pipelined(port, parts, gap_s=0.0, ssl_context=None, timeout=5):
    """Writes each of `parts` (bytes) on ONE connection to 127.0.0.1:port, `gap_s` apart, without
    reading in between; then reads until the server closes or `timeout` passes. Returns
    (answer bytes, closed: whether the server closed the connection)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    if ssl_context is not None:
        s = ssl_context.wrap_socket(s, server_hostname="127.0.0.1")
    chunks, closed = [], False
    try:
        for i, part in enumerate(parts):
            if i and gap_s:
                time.sleep(gap_s)
            s.sendall(part)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                b = s.recv(65536)
            except (ConnectionResetError, socket.timeout):
                closed = True
                break
            except OSError:  # an SSL error on an abrupt close
                closed = True
                break
            if not b:
                closed = True
                break
            chunks.append(b)
        return b"".join(chunks), closed
    finally:
        s.close()


def trickle(port, head, byte=b"x", every_s=0.2, for_s=8.0):
    """Sends `head` (bytes), then one `byte` every `every_s` seconds for at most `for_s` seconds
    (every_s=None: nothing more, silence). Returns the seconds after which the server closed the
    connection (None: still open when we stopped). Bounded in time and bytes."""
    s = socket.create_connection(("127.0.0.1", port), timeout=1)
    t0 = time.monotonic()
    try:
        s.sendall(head)
        while time.monotonic() - t0 < for_s:
            try:
                if every_s is not None:
                    s.sendall(byte)
                s.settimeout(every_s or 0.2)
                if s.recv(65536) == b"":
                    return time.monotonic() - t0
            except socket.timeout:
                continue
            except OSError:        # reset, broken pipe: closed
                return time.monotonic() - t0
        return None
    finally:
        s.close()
