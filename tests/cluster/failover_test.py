"""Failover under load (issue 17): three sentryd on one etcd, a 3-replica
topic with min.insync.replicas=2, two acks=all producers (confluent-kafka,
i.e. librdkafka, idempotent; and Sentry's native C++ client) and two
consumers (one of each) running while the partition's leader is killed with
SIGKILL and later restarted, CYCLES times. The native client starts from
broker 1's address and must follow the leader on its own (it is killed too).

Checked at the end, on the files of every broker after a clean stop:
  - every acknowledged record is in the log exactly once, at the offset its
    acknowledgement named (both producers are idempotent: the native one
    through INIT_PRODUCER_ID); offsets are dense from 0;
  - the three replicas' logs are byte-identical;
  - every record the consumer saw is in the final log at the offset it saw
    it at (a consumer never reads a record that a failover later removes);
  - after each restart the broker is back in the ISR within 60 s.
Prints each kill's failover time (until the metadata names a new leader,
and until the producer's next acknowledgement).

usage: failover_test.py --sentryd PATH --native-load PATH [--cycles N] [--workdir DIR]
(SENTRY_FAILOVER_CYCLES overrides the default of 10 cycles.)
"""

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cluster_harness as ch  # noqa: E402

from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402

TOPIC = "failover"
SESSION_MS = 3000
EXTRA = ["--broker.session.timeout.ms", str(SESSION_MS), "--cluster.poll.ms", "100",
         "--replica.lag.time.max.ms", "5000", "--replica.fetch.wait.max.ms", "200",
         "--log.level", "info"]


class Load:
    """The producer and the consumer, each on its own thread."""

    def __init__(self, bootstrap):
        self.acked = {}  # offset -> value
        self.errors = []
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.seen = {}  # offset -> value, as the consumers read them
        self.read = {"kafka": 0, "native": 0}  # records each consumer read
        self.native_state = "none yet"  # the native producer's last "state" line
        self.bootstrap = bootstrap
        self.sent = 0

    def acks(self, prefix=b""):
        """Acknowledged records (of one producer: values starting with prefix)."""
        with self.lock:
            if not prefix:
                return len(self.acked)
            return sum(1 for v in self.acked.values() if v.startswith(prefix))

    def record_ack(self, offset, value):
        with self.lock:
            prev = self.acked.setdefault(offset, value)
            if prev != value:
                self.errors.append(f"offset {offset} acknowledged twice: {prev!r} and {value!r}")

    def native(self, cmd, what):
        """Runs tests/cluster/native_load.cc until stop; its lines feed acked/seen."""
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        stopper = threading.Thread(target=lambda: (self.stop.wait(), proc.send_signal(signal.SIGTERM)))
        stopper.start()
        for line in proc.stdout:
            kind, _, rest = line.decode().rstrip("\n").partition(" ")
            if kind == "ack":
                offset, value = rest.split(" ", 1)
                self.record_ack(int(offset), value.encode())
            elif kind == "seen":
                offset, value = rest.split(" ", 1)
                with self.lock:
                    self.seen[int(offset)] = value.encode()
                    self.read["native"] += 1
            elif kind == "state":
                with self.lock:
                    self.native_state = rest
            elif kind == "fail":
                with self.lock:
                    self.errors.append(f"native {what}: {rest}")
        rc = proc.wait(180)
        stopper.join()
        if rc != 0:
            with self.lock:
                self.errors.append(f"native {what} exited {rc}: {proc.stderr.read().decode()[-2000:]}")

    def produce(self):
        p = Producer({"bootstrap.servers": self.bootstrap, "enable.idempotence": True,
                      "acks": "all", "compression.type": "none", "linger.ms": 5,
                      "message.timeout.ms": 120000, "topic.metadata.refresh.interval.ms": 1000,
                      "retry.backoff.ms": 100})

        def on_delivery(err, msg):
            if err is not None:
                with self.lock:
                    self.errors.append(str(err))
            else:
                self.record_ack(msg.offset(), msg.value())

        while not self.stop.is_set():
            try:
                p.produce(TOPIC, value=b"v-%08d" % self.sent, partition=0, on_delivery=on_delivery)
                self.sent += 1
            except BufferError:
                p.poll(0.05)
                continue
            if self.sent % 50 == 0:
                p.poll(0.01)
        left = p.flush(120)
        if left:
            with self.lock:
                self.errors.append(f"{left} message(s) never acknowledged or failed")

    def consume(self):
        c = Consumer({"bootstrap.servers": self.bootstrap, "group.id": "failover-reader",
                      "enable.auto.commit": False, "topic.metadata.refresh.interval.ms": 1000})
        c.assign([TopicPartition(TOPIC, 0, 0)])
        while not self.stop.is_set():
            m = c.poll(0.2)
            if m is None or (m.error() and m.error().code() == KafkaError._PARTITION_EOF):
                continue
            if m.error():
                continue  # leader moves: librdkafka retries by itself
            with self.lock:
                self.seen[m.offset()] = m.value()
                self.read["kafka"] += 1
        c.close()


def partition_state(admin):
    return ch.leader_and_isr(admin, TOPIC)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sentryd", required=True)
    ap.add_argument("--native-load", required=True)
    ap.add_argument("--cycles", type=int,
                    default=int(os.environ.get("SENTRY_FAILOVER_CYCLES", "10")))
    ap.add_argument("--workdir")
    args = ap.parse_args()
    workdir = args.workdir or tempfile.mkdtemp(prefix="sentry-failover-")
    cluster = ch.Cluster(args.sentryd, workdir, 3, EXTRA)
    ok = False
    load = None
    try:
        cluster.start()
        print(f"cluster up: etcd {cluster.etcd.endpoint}, brokers {cluster.bootstrap()}", flush=True)
        admin = AdminClient({"bootstrap.servers": cluster.bootstrap()})
        fs = admin.create_topics([NewTopic(TOPIC, 1, 3, config={"min.insync.replicas": "2"})])
        fs[TOPIC].result(30)
        ch.wait_for(lambda: (s := partition_state(admin)) and s[0] >= 0 and len(s[1]) == 3,
                    "the topic's leader and a full ISR", 30)
        load = Load(cluster.bootstrap())
        native_at = f"127.0.0.1:{cluster.broker(1).port}"
        threads = [threading.Thread(target=load.produce, daemon=True),
                   threading.Thread(target=load.consume, daemon=True),
                   threading.Thread(target=load.native, daemon=True, args=(
                       [args.native_load, "produce", native_at, TOPIC, "n-"], "producer")),
                   threading.Thread(target=load.native, daemon=True, args=(
                       [args.native_load, "consume", native_at, TOPIC], "consumer"))]
        for t in threads:
            t.start()
        failovers = []
        for cycle in range(args.cycles):
            # Both producers running (each acknowledged again since the last
            # kill) before the next one.
            base_kafka, base_native = load.acks(b"v-"), load.acks(b"n-")
            ch.wait_for(lambda: load.acks(b"v-") >= base_kafka + 200 and
                        load.acks(b"n-") >= base_native + 200,
                        "200 more acknowledged records from each producer", 60)
            leader, isr = ch.wait_for(lambda: partition_state(admin), "metadata")
            victim = cluster.broker(leader)
            before = load.acks()
            t0 = time.monotonic()
            victim.kill()
            survivor = AdminClient({"bootstrap.servers": ",".join(
                b.bootstrap for b in cluster.brokers if b.running())})
            ch.wait_for(lambda: (s := partition_state(survivor)) and s[0] >= 0 and s[0] != leader,
                        "a new leader", 60)
            t_meta = time.monotonic() - t0
            ch.wait_for(lambda: load.acks() > before + 10, "acknowledgements again", 60)
            t_ack = time.monotonic() - t0
            failovers.append(t_meta)
            victim.start()
            t1 = time.monotonic()
            ch.wait_for(lambda: (s := partition_state(survivor)) and leader in s[1],
                        f"broker {leader} back in the ISR", 60)
            print(f"cycle {cycle + 1}: killed leader {leader}; new leader after {t_meta:.2f} s, "
                  f"producer acknowledged again after {t_ack:.2f} s; broker {leader} back in "
                  f"the ISR {time.monotonic() - t1:.2f} s after its restart "
                  f"({load.acks()} acknowledged so far; read by the consumers {load.read})",
                  flush=True)
        load.stop.set()
        for t in threads:
            t.join(180)
        failovers.sort()
        print(f"failover times (s): median {failovers[len(failovers) // 2]:.2f}, "
              f"max {failovers[-1]:.2f} (session timeout {SESSION_MS / 1000:.1f} s)", flush=True)
        # Everyone caught up, then a clean stop: the files are the proof.
        ch.wait_for(lambda: (s := partition_state(admin)) and len(s[1]) == 3, "a full ISR", 60)
        cluster.stop_cleanly()
        logs = [b.partition_log_bytes(TOPIC, 0) for b in cluster.brokers]
        failures = []
        if load.errors:
            failures.append(f"producer errors: {load.errors[:5]}")
        # Followers may lag the last leader by a fetch when it stopped:
        # compare the common prefix, and require every acknowledged record
        # on every broker.
        decoded = []
        for b, data in zip(cluster.brokers, logs):
            records = [r for _, _, rs in ch.decode_batches(data) for r in rs]
            offsets = [o for o, _ in records]
            if offsets != list(range(len(offsets))):
                failures.append(f"broker {b.id}: offsets not dense from 0")
            by_offset = dict(records)
            values = [v for _, v in records]
            copies = {}
            for v in values:
                copies[v] = copies.get(v, 0) + 1
            dup_kafka = sum(n - 1 for v, n in copies.items() if n > 1 and not v.startswith(b"n-"))
            dup_native = sum(n - 1 for v, n in copies.items() if n > 1 and v.startswith(b"n-"))
            if dup_kafka:
                failures.append(f"broker {b.id}: {dup_kafka} duplicate librdkafka values")
            if dup_native:
                failures.append(f"broker {b.id}: {dup_native} duplicate native values")
            missing = [o for o, v in load.acked.items() if by_offset.get(o) != v]
            if missing:
                failures.append(f"broker {b.id}: {len(missing)} acknowledged record(s) missing or "
                                f"different, first at offsets {sorted(missing)[:5]}")
            wrong = [o for o, v in load.seen.items() if by_offset.get(o) != v]
            if wrong:
                failures.append(f"broker {b.id}: the consumer read {len(wrong)} record(s) not in "
                                f"the final log, first at {sorted(wrong)[:5]}")
            decoded.append(len(records))
        shortest = min(len(d) for d in logs)
        if any(d[:shortest] != logs[0][:shortest] for d in logs):
            failures.append("the replicas' logs differ")
        native_acked = sum(1 for v in load.acked.values() if v.startswith(b"n-"))
        native_seen = sum(1 for v in load.seen.values() if v.startswith(b"n-"))
        print(f"{len(load.acked)} acknowledged ({native_acked} by the native client), "
              f"{load.sent} sent by librdkafka, {len(load.seen)} consumed ({native_seen} native "
              f"records); records per replica {decoded}", flush=True)
        if native_acked == 0:
            failures.append("the native producer had no record acknowledged")
        ok = not failures
        return ch.verdict(failures, cluster)
    except Exception as e:  # noqa: BLE001
        if load is not None:
            load.stop.set()  # the load threads end (daemon threads besides)
            print(f"load errors: {load.errors[:5]}; read {load.read}; native producer: "
                  f"{load.native_state}", flush=True)
        return ch.fail_with_logs(cluster, e)
    finally:
        cluster.kill_all()
        if ok and not args.workdir:
            ch.rmtree(workdir)


if __name__ == "__main__":
    sys.exit(main())
