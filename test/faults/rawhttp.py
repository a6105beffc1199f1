#!/usr/bin/env python3
"""Send raw bytes to an HTTP server and print what comes back, for abuse tests.

    rawhttp.py PORT < request        one connection: send stdin, print every response byte
    rawhttp.py PORT --slowloris N S  hold N connections for S seconds, each sending one header
                                     byte per second and never finishing its request; prints
                                     how many the server closed early

Connects to 127.0.0.1 only. Reads until the server closes or 3 s pass without data.
"""
import socket
import sys
import time

port = int(sys.argv[1])

if len(sys.argv) > 2 and sys.argv[2] == "--slowloris":
    n, secs = int(sys.argv[3]), float(sys.argv[4])
    socks = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(b"POST /v1/logs/audit/events HTTP/1.1\r\nHost: x\r\n")
        socks.append(s)
    end = time.time() + secs
    closed = set()
    while time.time() < end:
        for i, s in enumerate(socks):
            if i in closed:
                continue
            try:
                s.sendall(b"X")
            except OSError:
                closed.add(i)
        time.sleep(1)
    for s in socks:
        s.close()
    print("closed_early=%d" % len(closed))
    sys.exit(0)

data = sys.stdin.buffer.read()
s = socket.create_connection(("127.0.0.1", port))
s.settimeout(3)
try:
    s.sendall(data)
except OSError:
    pass
out = b""
try:
    while True:
        b = s.recv(65536)
        if not b:
            break
        out += b
except (socket.timeout, OSError):
    pass
sys.stdout.buffer.write(out)
