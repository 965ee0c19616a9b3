#!/usr/bin/env python3
"""Opens N connections to sentryd's native port, sends one API_VERSIONS
request on each (so every connection has been read from and answered, as a
consumer that went quiet), checks every answer, then holds them open until
stdin closes or a line is read. Prints one JSON line once all are open.

usage: idle_connections.py HOST PORT N

Single-threaded and non-blocking: it costs nothing while the connections
idle, so it does not compete with the active producers measured beside it.
"""
import json
import resource
import selectors
import socket
import struct
import sys
import time

host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
if hard < n + 16:
    sys.exit(f"open files hard limit {hard} is below {n} connections")

# length 8, api_key 0 (API_VERSIONS), api_version 1, correlation id 1
REQUEST = struct.pack(">IhhI", 8, 0, 1, 1)
def feed(s, chunk):
    """Adds bytes read from s; True once its whole answer is in and checked."""
    pending[s] += chunk
    data = pending[s]
    if len(data) < 4 or len(data) < 4 + struct.unpack(">I", data[:4])[0]:
        return False
    api_key, _, corr, err = struct.unpack(">hhIh", data[4:14])
    if api_key != 0 or corr != 1 or err != 0:
        sys.exit(f"bad API_VERSIONS answer: key {api_key} correlation {corr} error {err}")
    sel.unregister(s)
    del pending[s]
    return True


t0 = time.time()
sel = selectors.DefaultSelector()
socks = []
pending = {}
for i in range(n):
    s = socket.create_connection((host, port))
    s.setblocking(False)
    s.sendall(REQUEST)
    socks.append(s)
    pending[s] = b""
    sel.register(s, selectors.EVENT_READ)
    # Take answers as they come so the broker's output never waits on us.
    for key, _ in sel.select(timeout=0):
        feed(key.fileobj, key.fileobj.recv(4096))
deadline = time.time() + 60
while pending and time.time() < deadline:
    for key, _ in sel.select(timeout=1):
        chunk = key.fileobj.recv(4096)
        if not chunk:
            sys.exit("a connection was closed by the broker")
        feed(key.fileobj, chunk)
if pending:
    sys.exit(f"{len(pending)} connections got no API_VERSIONS answer")
print(json.dumps({"connections": n, "open_seconds": round(time.time() - t0, 2)}), flush=True)
sys.stdin.readline()
for s in socks:
    s.close()
