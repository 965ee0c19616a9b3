"""A follower's disk fills (issue 17), three sentryd on one etcd:

1. A 3-replica topic (min.insync.replicas=2) is created; one follower is
   restarted with its data directory on a small tmpfs (32 MiB; it starts
   empty and catches up from the leader).
2. An acks=all producer (confluent-kafka) writes until that follower's
   appends fail for lack of space: its log says so, the leader drops it
   from the ISR after replica.lag.time.max.ms, and acknowledgements go on
   with the two replicas left (the producer sees no error at all).
3. The tmpfs is grown (mount -o remount,size=...): the follower's fetcher
   retries, catches up and is back in the ISR within 60 s.
4. After a clean stop every acknowledged record is in every replica's log
   at its offset, and the three logs are byte-identical.

Needs root (mount); without it the test fails and says why.

usage: disk_full_test.py --sentryd PATH [--workdir DIR]
"""

import argparse
import os
import subprocess
import sys
import tempfile
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cluster_harness as ch  # noqa: E402

from confluent_kafka import Producer  # noqa: E402
from confluent_kafka.admin import AdminClient  # noqa: E402

TOPIC = "diskfull"
EXTRA = ["--broker.session.timeout.ms", "3000", "--cluster.poll.ms", "100",
         "--replica.lag.time.max.ms", "3000", "--replica.fetch.wait.max.ms", "200",
         "--segment.bytes", "4194304", "--storage.min.free.bytes", "0"]
SMALL, LARGE = "32m", "512m"


def mount(args):
    r = subprocess.run(["mount"] + args, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"mount {' '.join(args)} failed (this test needs root): "
                           f"{r.stderr.strip()}")


class Load:
    """An acks=all producer on its own thread: 1 KiB values, numbered."""

    def __init__(self, bootstrap):
        self.acked = {}
        self.errors = []
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.bootstrap = bootstrap

    def acks(self):
        with self.lock:
            return len(self.acked)

    def run(self):
        p = Producer({"bootstrap.servers": self.bootstrap, "enable.idempotence": True,
                      "acks": "all", "linger.ms": 5, "compression.type": "none",
                      "message.timeout.ms": 120000, "queue.buffering.max.messages": 20000})

        def on_delivery(err, msg):
            with self.lock:
                if err is not None:
                    self.errors.append(str(err))
                else:
                    self.acked[msg.offset()] = msg.value()

        pad = b"x" * 1000
        n = 0
        while not self.stop.is_set():
            try:
                p.produce(TOPIC, value=b"%08d-" % n + pad, partition=0, on_delivery=on_delivery)
                n += 1
            except BufferError:
                p.poll(0.05)
                continue
            if n % 100 == 0:
                p.poll(0)
        left = p.flush(120)
        if left:
            with self.lock:
                self.errors.append(f"{left} record(s) neither acknowledged nor failed")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sentryd", required=True)
    ap.add_argument("--workdir")
    args = ap.parse_args()
    workdir = args.workdir or tempfile.mkdtemp(prefix="sentry-diskfull-")
    cluster = ch.Cluster(args.sentryd, workdir, 3, EXTRA)
    mounted = None
    ok = False
    try:
        cluster.start()
        admin = AdminClient({"bootstrap.servers": cluster.bootstrap()})
        leader = ch.create_replicated_topic(admin, TOPIC)
        follower = cluster.broker(next(i for i in (1, 2, 3) if i != leader))
        # The follower comes back on an empty 32 MiB tmpfs.
        if follower.stop() != 0:
            raise RuntimeError(f"broker {follower.id} did not stop cleanly")
        mount(["-t", "tmpfs", "-o", f"size={SMALL}", "tmpfs", follower.data_dir])
        mounted = follower.data_dir
        follower.start()
        ch.wait_for(lambda: (s := ch.leader_and_isr(admin, TOPIC)) and follower.id in s[1],
                    f"broker {follower.id} (on the tmpfs) in the ISR", 60)
        print(f"leader {leader}; broker {follower.id} follows on a {SMALL} tmpfs", flush=True)

        load = Load(cluster.bootstrap())
        producer = threading.Thread(target=load.run)
        producer.start()
        ch.wait_for(lambda: "failed: " in follower.output() and "appending to" in
                    follower.output(), f"broker {follower.id} to run out of space", 120)
        full_at = load.acks()
        ch.wait_for(lambda: (s := ch.leader_and_isr(admin, TOPIC)) and follower.id not in s[1],
                    f"broker {follower.id} to leave the ISR", 60)
        left_at = load.acks()
        print(f"disk full after {full_at} acknowledged records; out of the ISR at {left_at}",
              flush=True)
        ch.wait_for(lambda: load.acks() >= left_at + 2000,
                    "2000 more acknowledgements with two replicas in sync", 60)

        mount(["-o", f"remount,size={LARGE}", mounted])
        ch.wait_for(lambda: (s := ch.leader_and_isr(admin, TOPIC)) and follower.id in s[1],
                    f"broker {follower.id} back in the ISR after the disk grew", 60)
        print(f"broker {follower.id} back in the ISR at {load.acks()} acknowledged records",
              flush=True)
        back_at = load.acks()
        ch.wait_for(lambda: load.acks() >= back_at + 1000, "1000 more acknowledgements", 60)
        load.stop.set()
        producer.join(180)
        ch.wait_for(lambda: (s := ch.leader_and_isr(admin, TOPIC)) and len(s[1]) == 3,
                    "a full ISR at the end", 60)
        cluster.stop_cleanly()

        failures = []
        if load.errors:
            failures.append(f"producer errors: {load.errors[:5]}")
        logs = [b.partition_log_bytes(TOPIC, 0) for b in cluster.brokers]
        for b, data in zip(cluster.brokers, logs):
            records = dict(r for _, _, rs in ch.decode_batches(data) for r in rs)
            missing = [o for o, v in load.acked.items() if records.get(o) != v]
            if missing:
                failures.append(f"broker {b.id} lacks {len(missing)} acknowledged record(s), "
                                f"first at {sorted(missing)[:5]}")
        shortest = min(len(d) for d in logs)
        if any(d[:shortest] != logs[0][:shortest] for d in logs):
            failures.append("the replicas' logs differ")
        print(f"{len(load.acked)} acknowledged; log bytes per replica {[len(d) for d in logs]}",
              flush=True)
        ok = not failures
        return ch.verdict(failures, cluster)
    except Exception as e:  # noqa: BLE001
        return ch.fail_with_logs(cluster, e)
    finally:
        cluster.kill_all()
        if mounted:
            subprocess.run(["umount", "-l", mounted], check=False)
        if ok and not args.workdir:
            ch.rmtree(workdir)


if __name__ == "__main__":
    sys.exit(main())
