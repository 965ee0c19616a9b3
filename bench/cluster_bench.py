"""Replication's cost (issue 17): acks=-1 throughput and latency of one
3-replica partition on a three-broker cluster (etcd, all on this machine)
against one single-node broker, with sentry-bench on the leader's native
port; CPU per record summed over every broker process.

usage: bench/cluster_bench.py --bin BUILD_DIR [--records N] [--rate R] [--rounds K]
Prints one line per run and a summary (medians of K alternating rounds).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "cluster"))
import cluster_harness as ch  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids):
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / TICKS


def bench(binary, port, topic, records, rate):
    args = [os.path.join(binary, "sentry-bench"), "produce", "--broker", f"127.0.0.1:{port}",
            "--topic", topic, "--records", str(records), "--acks", "-1", "--json",
            "--batch", "100", "--record-size", "100"]
    if rate:
        args += ["--rate", str(rate)]
    out = subprocess.run(args, capture_output=True, text=True, timeout=600, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def leader_port(binary, b, topic):
    out = subprocess.run([os.path.join(binary, "sentryctl"), "--broker", f"127.0.0.1:{b.port}",
                          "topic", "describe", topic], capture_output=True, text=True).stdout
    for line in out.splitlines():
        f = line.split()
        if len(f) == 5 and f[0] == "0" and f[1].isdigit():
            return int(f[1])
    return None


def run_cluster(binary, workdir, records, rate):
    c = ch.Cluster(os.path.join(binary, "sentryd"), workdir, 3,
                   [])
    try:
        c.start()
        ctl = os.path.join(binary, "sentryctl")
        subprocess.run([ctl, "--broker", f"127.0.0.1:{c.brokers[0].port}", "topic", "create", "t",
                        "--replication-factor", "3"], check=True, capture_output=True)
        leader = ch.wait_for(lambda: leader_port(binary, c.brokers[0], "t"), "a leader", 30)
        # The leader itself may see the topic a poll (cluster.poll.ms) later
        # than the broker that created it.
        ch.wait_for(lambda: leader_port(binary, c.broker(leader), "t") == leader,
                    "the leader to know it leads", 30)
        port = c.broker(leader).port
        pids = [b.proc.pid for b in c.brokers]
        cpu0 = cpu_seconds(pids)
        r = bench(binary, port, "t", records, 0)
        cpu = cpu_seconds(pids) - cpu0
        lat = bench(binary, port, "t", max(records // 5, 10000), rate)
        return r, lat, cpu
    finally:
        c.kill_all()
        ch.rmtree(workdir)


def run_single(binary, workdir, records, rate):
    os.makedirs(workdir, exist_ok=True)
    p = subprocess.Popen([os.path.join(binary, "sentryd"), "--data-dir", workdir, "--port", "0",
                          "--kafka.port", "-1", "--http.port", "-1", "--log.level", "info"],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        port = None
        for line in p.stdout:
            if "Listening for producer connections on" in line:
                port = int(line.rsplit(":", 1)[1])
                break
        ctl = os.path.join(binary, "sentryctl")
        subprocess.run([ctl, "--broker", f"127.0.0.1:{port}", "topic", "create", "t"], check=True,
                       capture_output=True)
        cpu0 = cpu_seconds([p.pid])
        r = bench(binary, port, "t", records, 0)
        cpu = cpu_seconds([p.pid]) - cpu0
        lat = bench(binary, port, "t", max(records // 5, 10000), rate)
        return r, lat, cpu
    finally:
        p.kill()
        p.wait()
        ch.rmtree(workdir)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--records", type=int, default=300000)
    ap.add_argument("--rate", type=float, default=5000)
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    rows = {"single": [], "cluster": []}
    for i in range(a.rounds):
        for kind, fn in (("single", run_single), ("cluster", run_cluster)):
            r, lat, cpu = fn(a.bin, tempfile.mkdtemp(prefix=f"sentry-{kind}-"), a.records, a.rate)
            p50 = lat["latency_ms"]["p50"] * 1000
            p99 = lat["latency_ms"]["p99"] * 1000
            rows[kind].append((r["records_per_sec"], p50, p99, cpu / a.records * 1e6))
            print(f"round {i + 1} {kind:8}: {r['records_per_sec']:>10.0f} records/s acks=-1; "
                  f"at {a.rate:.0f}/s p50 {p50:.0f} us p99 {p99:.0f} us; "
                  f"broker CPU {cpu / a.records * 1e6:.2f} us/record", flush=True)
    med = {k: [statistics.median(x[j] for x in v) for j in range(4)] for k, v in rows.items()}
    s, c = med["single"], med["cluster"]
    print(f"median single : {s[0]:.0f} records/s, p50 {s[1]:.0f} us, p99 {s[2]:.0f} us, "
          f"{s[3]:.2f} CPU-us/record")
    print(f"median cluster: {c[0]:.0f} records/s, p50 {c[1]:.0f} us, p99 {c[2]:.0f} us, "
          f"{c[3]:.2f} CPU-us/record (all three brokers)")
    print(f"ratio cluster/single: throughput {c[0] / s[0]:.2f}, p50 {c[1] / s[1]:.2f}, "
          f"p99 {c[2] / s[2]:.2f}, CPU per record {c[3] / s[3]:.2f}")


if __name__ == "__main__":
    main()
