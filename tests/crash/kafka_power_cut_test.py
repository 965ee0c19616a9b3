"""Power cuts under a Kafka client's idempotent producer (issue 18).

sentryd's data dir lives on cutfs (tests/cutfs), which keeps only what
fsync/msync reached and forgets the rest on a cut. One confluent-kafka
(librdkafka) producer with enable.idempotence=true and acks=all writes to a
3-partition topic through all the cuts: at a random moment sentryd is killed
and the power cut, then sentryd restarts on what the disk held, on the same
ports, and the same producer carries on, resending whatever was not
acknowledged (same producer id, same sequence numbers). At the end the
producer flushes, and then:
  - every record the broker acknowledged is in the log at the offset it was
    acknowledged at;
  - no value appears twice (the resends after each cut were deduplicated, or
    had been lost with the cut and were written once);
  - every value the producer was ever given was acknowledged in the end.

SENTRY_POWER_CUTS sets the number of cuts (half of it, 10, by default, as the
native loop in power_cut_test.cc takes the full number). Needs /dev/fuse and
root, like the native loop; fails, saying so, without them.

usage: kafka_power_cut_test.py --sentryd PATH --cutfs PATH [--workdir DIR]
"""

import argparse
import os
import random
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "cluster"))
from cluster_harness import free_port, wait_for  # noqa: E402

from confluent_kafka import Consumer, Producer, TopicPartition  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402

TOPIC = "kp"
PARTITIONS = 3


class CutFs:
    """cutfs at `mount`: SIGUSR1/SIGUSR2 cut power, it prints "mounted N"."""

    def __init__(self, path, mount):
        os.makedirs(mount, exist_ok=True)
        self.proc = subprocess.Popen([path, mount, "--seed", "77"], stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT)
        self.out = b""
        self.generation = 1
        if not self.wait_line(b"mounted 1", 20):
            raise RuntimeError("cutfs did not mount (it needs /dev/fuse, fuse3 and root): "
                               + self.out.decode(errors="replace"))

    def wait_line(self, line, timeout_s):
        deadline = time.monotonic() + timeout_s
        while line + b"\n" not in self.out:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            r, _, _ = select.select([self.proc.stdout], [], [], left)
            if r:
                chunk = os.read(self.proc.stdout.fileno(), 4096)
                if not chunk:
                    return False
                self.out += chunk
        return True

    def cut(self, random_subset):
        self.generation += 1
        self.proc.send_signal(signal.SIGUSR2 if random_subset else signal.SIGUSR1)
        if not self.wait_line(b"mounted %d" % self.generation, 30):
            raise RuntimeError("cutfs did not come back: " + self.out.decode(errors="replace"))
        last = self.out.decode(errors="replace").strip().splitlines()
        return next((x for x in reversed(last) if x.startswith("cut ")), "")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(30)


class Sentryd:
    def __init__(self, path, data, workdir):
        self.path, self.data = path, data
        self.kafka_port, self.native_port, self.http_port = free_port(), free_port(), free_port()
        self.log_path = os.path.join(workdir, "sentryd.log")
        self.proc = None

    def start(self):
        log = open(self.log_path, "ab")
        log.write(b"==== start ====\n")
        log.flush()
        self.proc = subprocess.Popen(
            [self.path, "--data-dir", self.data, "--host", "127.0.0.1",
             "--port", str(self.native_port), "--kafka.port", str(self.kafka_port),
             "--http.port", str(self.http_port), "--stats.interval.ms", "0",
             "--segment.bytes", "262144", "--log.flush.offset.checkpoint.interval.ms", "200"],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        log.close()

        def listening():
            if self.proc.poll() is not None:
                raise RuntimeError(f"sentryd exited with {self.proc.returncode}:\n{self.log()}")
            with socket.socket() as s:
                return s.connect_ex(("127.0.0.1", self.kafka_port)) == 0
        wait_for(listening, "sentryd's Kafka listener", 60)

    def kill(self):
        self.proc.kill()
        self.proc.wait()

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()[-6000:]


def read_all(bootstrap):
    """{(partition, offset): value} of the whole topic, up to each end."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "verify",
                  "enable.auto.commit": False, "auto.offset.reset": "earliest"})
    found = {}
    try:
        ends = {p: c.get_watermark_offsets(TopicPartition(TOPIC, p), timeout=30)[1]
                for p in range(PARTITIONS)}
        c.assign([TopicPartition(TOPIC, p, 0) for p in range(PARTITIONS)])
        deadline = time.monotonic() + 120
        errors = []
        below_end = 0
        while below_end < sum(ends.values()):
            if time.monotonic() > deadline:
                got = {p: sum(1 for k in found if k[0] == p) for p in range(PARTITIONS)}
                raise RuntimeError(f"read {got} of {ends} records; errors: {errors[:5]}")
            for m in c.consume(num_messages=10000, timeout=1.0):
                if m.error():
                    errors.append(str(m.error()))
                    continue
                key = (m.partition(), m.offset())
                if key not in found and key[1] < ends[key[0]]:
                    below_end += 1
                found[key] = m.value().decode()
    finally:
        c.close()
    return found


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sentryd", required=True)
    ap.add_argument("--cutfs", required=True)
    ap.add_argument("--workdir")
    args = ap.parse_args()
    cuts = max(1, int(os.environ.get("SENTRY_POWER_CUTS", "20")) // 2)
    workdir = args.workdir or tempfile.mkdtemp(prefix="sentry-kafka-cut-")
    disk = CutFs(args.cutfs, os.path.join(workdir, "disk"))
    broker = Sentryd(args.sentryd, os.path.join(workdir, "disk", "data"), workdir)
    ok = False
    try:
        broker.start()
        bootstrap = f"127.0.0.1:{broker.kafka_port}"
        admin = AdminClient({"bootstrap.servers": bootstrap})
        admin.create_topics([NewTopic(TOPIC, PARTITIONS, 1)])[TOPIC].result(30)
        acked = {}       # value -> (partition, offset)
        failed = []      # delivery errors
        sent = 0

        def on_delivery(err, msg):
            if err is not None:
                failed.append(str(err))
            else:
                acked[msg.value().decode()] = (msg.partition(), msg.offset())

        producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True,
                             "acks": "all", "linger.ms": 5, "message.timeout.ms": 120000,
                             "reconnect.backoff.ms": 50, "reconnect.backoff.max.ms": 500})
        rng = random.Random(1848)
        for cycle in range(cuts):
            end = time.monotonic() + 0.3 + rng.random() * 0.7
            while time.monotonic() < end:
                for _ in range(50):
                    producer.produce(TOPIC, value=f"c{cycle}-{sent}".encode(),
                                     partition=sent % PARTITIONS, on_delivery=on_delivery)
                    sent += 1
                producer.poll(0.005)
            broker.kill()
            producer.poll(0.2)  # acknowledgements that arrived before the kill
            report = disk.cut(random_subset=cycle % 2 == 1)
            broker.start()
            print(f"cycle {cycle}: {report}; {len(acked)} of {sent} acknowledged so far",
                  flush=True)
        left = producer.flush(120)
        if left:
            raise RuntimeError(f"{left} records still unacknowledged after flush(120)")
        if failed:
            raise RuntimeError(f"{len(failed)} deliveries failed, first: {failed[0]}")
        found = read_all(bootstrap)
        problems = []
        for value, where in acked.items():
            if found.get(where) != value:
                problems.append(f"{value} acknowledged at {where}, the log has {found.get(where)}")
        values = list(found.values())
        dupes = len(values) - len(set(values))
        if dupes:
            problems.append(f"{dupes} values stored twice")
        if len(acked) != sent:
            problems.append(f"{sent} produced, {len(acked)} acknowledged")
        for p in problems[:10]:
            print("FAIL:", p)
        if problems:
            print(broker.log())
            return 1
        print(f"PASS: {cuts} power cuts, {sent} records from one idempotent producer, all "
              f"acknowledged and each stored once at its acknowledged offset")
        ok = True
        return 0
    except Exception as e:  # noqa: BLE001
        print(f"FAIL: {type(e).__name__}: {e}")
        print(broker.log())
        return 1
    finally:
        if not ok and os.environ.get("SENTRY_PAUSE_ON_FAILURE"):
            print(f"paused: sentryd on native port {broker.native_port}, kafka {broker.kafka_port}",
                  flush=True)
            time.sleep(int(os.environ["SENTRY_PAUSE_ON_FAILURE"]))
        if broker.proc and broker.proc.poll() is None:
            broker.kill()
        if not ok:  # what the disk held, for a post-mortem (sentryctl verify)
            shutil.copytree(broker.data, os.path.join(workdir, "data-at-failure"),
                            dirs_exist_ok=True)
            print(f"the data dir is copied to {workdir}/data-at-failure")
        disk.stop()
        if ok and not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
