#!/usr/bin/env python3
"""What native SASL costs per connection (issue 19): N connections one after
another, each connect + API_VERSIONS + close, against a broker without
native.sasl, then each connect + a SCRAM-SHA-512 AUTHENTICATE exchange +
API_VERSIONS + close against one with native.sasl=required; alternating
rounds. The client computes its SaltedPassword (PBKDF2) once and reuses it,
so what is left is the round trips and the broker's work. Prints the median
milliseconds per connection of each side and sentryd's CPU milliseconds per
connection (from /proc).

usage: bench/auth_connect.py --sentryd PATH --sentryctl PATH [--connections N] [--rounds R]
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "security"))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "cluster"))
from cluster_harness import Broker  # noqa: E402
from native_sasl_test import Native  # noqa: E402
from scram_messages import ScramClient  # noqa: E402

USER, PASSWORD, MECHANISM = "bench", "bench-password", "SCRAM-SHA-512"


def cpu_ms(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def one_round(broker, n, sasl, cache):
    """(ms per connection, broker CPU ms per connection)."""
    before_cpu, started = cpu_ms(broker.proc.pid), time.perf_counter()
    for _ in range(n):
        c = Native(broker.port)
        if sasl:
            scram = ScramClient(USER, PASSWORD, MECHANISM, cache)
            first = c.authenticate(MECHANISM, scram.first())
            last = c.authenticate(MECHANISM, scram.final(first[1]))
            if last is None or last[0] != 0 or not scram.verify(last[1]):
                raise RuntimeError(f"authentication failed: {last}")
        answer = c.request(0)
        if answer is None or answer[0] != 0:
            raise RuntimeError(f"API_VERSIONS failed: {answer}")
        c.close()
    elapsed_ms = (time.perf_counter() - started) * 1000
    return elapsed_ms / n, (cpu_ms(broker.proc.pid) - before_cpu) / n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sentryd", required=True)
    ap.add_argument("--sentryctl", required=True)
    ap.add_argument("--connections", type=int, default=500)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    workdir = tempfile.mkdtemp(prefix="sentry-auth-connect-")
    off = Broker(args.sentryd, workdir, 0, None, [])
    on = Broker(args.sentryd, workdir, 1, None, ["--native.sasl", "required"])
    os.makedirs(on.data_dir, exist_ok=True)
    subprocess.run([args.sentryctl, "user", "create", USER, "--mechanism", MECHANISM,
                    "--password", PASSWORD, "--data-dir", on.data_dir], check=True,
                   capture_output=True)
    results = {"off": [], "on": []}
    cache = {}
    try:
        for b in (off, on):
            b.start(wait=False)
        for b in (off, on):
            b.wait_listening()
        for _ in range(args.rounds):
            results["off"].append(one_round(off, args.connections, False, cache))
            results["on"].append(one_round(on, args.connections, True, cache))
    finally:
        off.stop()
        on.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    for side, label in (("off", "native.sasl none    "), ("on", "native.sasl required")):
        ms = statistics.median(r[0] for r in results[side])
        cpu = statistics.median(r[1] for r in results[side])
        runs = [round(r[0], 3) for r in results[side]]
        print(f"{label}: median {ms:.3f} ms per connection  runs {runs}  "
              f"sentryd {cpu:.3f} CPU ms per connection")
    print(f"on / off: {statistics.median(r[0] for r in results['on']) / statistics.median(r[0] for r in results['off']):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
