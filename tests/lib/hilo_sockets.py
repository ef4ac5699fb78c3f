"""hilo_sockets — the TCP sockets a process listens on, read from /proc (no connection made).

    listening(pid)  -> [(family, address, port)], e.g. [("ipv4", "127.0.0.1", 8080)]
"""

import ipaddress
import os
import socket
import struct


def _inodes(pid):
    out = set()
    fd_dir = "/proc/%d/fd" % pid
    for fd in os.listdir(fd_dir):
        try:
            target = os.readlink(os.path.join(fd_dir, fd))
        except OSError:
            continue
        if target.startswith("socket:["):
            out.add(target[8:-1])
    return out


def _address(hex_addr, family):
    raw = bytes.fromhex(hex_addr)
    if family == "ipv4":
        return str(ipaddress.IPv4Address(struct.pack("<I", struct.unpack(">I", raw)[0])))
    # /proc/net/tcp6: four 32-bit words, each in host (little-endian) order
    words = [raw[i:i + 4][::-1] for i in range(0, 16, 4)]
    return socket.inet_ntop(socket.AF_INET6, b"".join(words))


def listening(pid):
    """The (family, address, port) of every TCP socket of process `pid` in LISTEN state."""
    mine = _inodes(pid)
    out = []
    for family, path in (("ipv4", "/proc/net/tcp"), ("ipv6", "/proc/net/tcp6")):
        try:
            with open(path) as f:
                lines = f.read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            cols = line.split()
            local, state, inode = cols[1], cols[3], cols[9]
            if state != "0A" or inode not in mine:   # 0A: TCP_LISTEN
                continue
            addr, port = local.split(":")
            out.append((family, _address(addr, family), int(port, 16)))
    return sorted(out)
