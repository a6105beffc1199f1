#!/usr/bin/env python3
"""TCP proxy between eventlogd and PostgreSQL that can cut, stall, slow and disturb the network.

    netproxy.py LISTEN_PORT UPSTREAM MODE_FILE

Listens on 127.0.0.1:LISTEN_PORT and forwards each connection to UPSTREAM (a Unix socket
path, e.g. PostgreSQL's /dir/.s.PGSQL.5432, or host:port). MODE_FILE holds the mode, re-read
every 0.1 s:
    pass     forward as is
    cut      close every connection at once (RST) and refuse new ones: a cable pulled
    stall    forward nothing, keep the connections open: a blackhole without RST
    slow     delay every chunk by 150 ms and cap each direction near 256 kB/s
    drop     what packet loss does to TCP as the ends see it: random stalls of 0.2-2 s
             (retransmissions) on 10% of chunks, and a reset on 2% of them
Standard library only; for tests on 127.0.0.1. Stop it with SIGTERM.
"""
import random
import select
import socket
import sys
import threading
import time

listen_port, upstream, mode_file = int(sys.argv[1]), sys.argv[2], sys.argv[3]
mode = "pass"
conns = set()
lock = threading.Lock()


def close_all():
    with lock:
        for s in list(conns):
            try:
                # linger 0: close with a RST, as a cut cable looks to the peer once it writes
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                s.close()
            except OSError:
                pass
        conns.clear()


def read_mode():
    global mode
    while True:
        try:
            with open(mode_file) as f:
                m = f.read().strip() or "pass"
        except OSError:
            m = "pass"
        if m != mode:
            mode = m
            if m == "cut":
                close_all()
        time.sleep(0.1)


def dial():
    if not upstream.startswith("/"):
        host, port = upstream.rsplit(":", 1)
        return socket.create_connection((host, int(port)))
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(upstream)
    return s


def pump(src, dst):
    try:
        while True:
            r, _, _ = select.select([src], [], [], 0.2)
            if mode == "cut":
                break
            if not r:
                continue
            while mode == "stall":
                time.sleep(0.05)
            data = src.recv(65536)
            if not data:
                break
            m = mode
            if m == "slow":
                time.sleep(0.15 + len(data) / (256 * 1024))
            elif m == "drop":
                x = random.random()
                if x < 0.02:
                    break
                if x < 0.12:
                    time.sleep(random.uniform(0.2, 2.0))
            if mode == "cut":
                break
            dst.sendall(data)
    except OSError:
        pass
    for s in (src, dst):
        with lock:
            conns.discard(s)
        try:
            s.close()
        except OSError:
            pass


def main():
    threading.Thread(target=read_mode, daemon=True).start()
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", listen_port))
    ls.listen(64)
    while True:
        c, _ = ls.accept()
        if mode == "cut":
            c.close()
            continue
        try:
            u = dial()
        except OSError:
            c.close()
            continue
        with lock:
            conns.update((c, u))
        threading.Thread(target=pump, args=(c, u), daemon=True).start()
        threading.Thread(target=pump, args=(u, c), daemon=True).start()


main()
