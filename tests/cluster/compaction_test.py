"""Compacted topics in a cluster (issue 17): a follower takes its leader's
compacted batches, offset gaps included, and can lead with them.

1. Three sentryd on one etcd; a 1-partition, 3-replica topic with
   cleanup.policy=compact and 32 KiB segments. One follower is stopped.
2. An acks=all producer (confluent-kafka) writes 3,000 keyed records over
   20 keys. The leader's cleaner compacts the sealed segments: a reader from
   offset 0 sees far fewer records than were written, with offset gaps.
3. The stopped follower comes back with its old, short log, fetches
   through the gaps and is back in the ISR within 60 s.
4. The two other brokers are killed; the returned follower, in the ISR, is
   elected. Reading the whole partition from it: every record is the one
   acknowledged at its offset, and every key's latest acknowledged value is
   there. More records produced to it are acknowledged and read back.

usage: compaction_test.py --sentryd PATH [--workdir DIR]
"""

import argparse
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cluster_harness as ch  # noqa: E402

from confluent_kafka import Consumer, Producer, TopicPartition  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402

TOPIC = "compacted"
KEYS = 20
RECORDS = 3000
EXTRA = ["--broker.session.timeout.ms", "3000", "--cluster.poll.ms", "100",
         "--replica.lag.time.max.ms", "5000", "--replica.fetch.wait.max.ms", "200",
         "--log.cleaner.backoff.ms", "100"]


def produce(bootstrap, first, count):
    """acks=all records first..first+count-1; {offset: (key, value)} acknowledged."""
    acked = {}
    errors = []

    def report(err, msg):
        if err is not None:
            errors.append(str(err))
        else:
            acked[msg.offset()] = (msg.key().decode(), msg.value().decode())

    p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5,
                  "batch.size": 8192,
                  "enable.idempotence": True})
    for i in range(first, first + count):
        p.produce(TOPIC, key=f"k{i % KEYS}", value=f"v{i}-" + "x" * 80, on_delivery=report)
        p.poll(0)
    if p.flush(60) != 0 or errors:
        raise RuntimeError(f"records not acknowledged: {len(errors)} errors, e.g. {errors[:3]}")
    return acked


def read_all(bootstrap):
    """[(offset, key, value)] of the whole partition, read up to its end."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "reader",
                  "enable.auto.commit": False, "enable.partition.eof": True})
    try:
        c.assign([TopicPartition(TOPIC, 0, 0)])
        out = []
        for _ in range(20000):
            m = c.poll(1.0)
            if m is None:
                continue
            if m.error():
                if m.error().code() == -191:  # _PARTITION_EOF
                    return out
                raise RuntimeError(f"read: {m.error()}")
            out.append((m.offset(), m.key().decode(), m.value().decode()))
        raise RuntimeError("the partition's end was never reached")
    finally:
        c.close()


def check(records, acked, failures, where):
    """Each record is the acknowledged one at its offset; each key's latest
    acknowledged value is there."""
    wrong = [(o, k, v) for o, k, v in records if acked.get(o) != (k, v)]
    if wrong:
        failures.append(f"{where}: {len(wrong)} records differ from what was acknowledged at "
                        f"their offsets, e.g. {wrong[:3]}")
    latest = {}
    for o in sorted(acked):
        latest[acked[o][0]] = (o, acked[o][1])
    have = {(o, k, v) for o, k, v in records}
    missing = [(k, o) for k, (o, v) in latest.items() if (o, k, v) not in have]
    if missing:
        failures.append(f"{where}: the latest record of {len(missing)} keys is missing, "
                        f"e.g. {missing[:3]}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sentryd", required=True)
    ap.add_argument("--workdir")
    args = ap.parse_args()
    workdir = args.workdir or tempfile.mkdtemp(prefix="sentry-compaction-")
    cluster = ch.Cluster(args.sentryd, workdir, 3, EXTRA)
    ok = False
    failures = []
    try:
        cluster.start()
        admin = AdminClient({"bootstrap.servers": cluster.bootstrap()})
        admin.create_topics([NewTopic(TOPIC, 1, 3, config={
            "cleanup.policy": "compact", "segment.bytes": "32768"})])[TOPIC].result(30)
        leader, _ = ch.wait_for(lambda: (s := ch.leader_and_isr(admin, TOPIC)) and s[0] >= 0
                                and len(s[1]) == 3 and s, "a leader and a full ISR", 30)
        acked = produce(cluster.bootstrap(), 0, 10)
        behind = next(b for b in cluster.brokers if b.id != leader)
        behind.kill()
        print(f"leader {leader}; follower {behind.id} stopped at {len(acked)} records",
              flush=True)

        acked.update(produce(cluster.bootstrap(), 10, RECORDS - 10))
        end = max(acked) + 1
        # The leader's cleaner runs on the sealed segments.
        seen = ch.wait_for(lambda: (r := read_all(cluster.bootstrap())) and len(r) < end // 4
                           and r, "the leader's cleaner to compact the log", 60, 0.5)
        print(f"{end} records written, {len(seen)} left after compaction", flush=True)
        check(seen, acked, failures, f"leader {leader}")

        behind.start()
        ch.wait_for(lambda: (s := ch.leader_and_isr(admin, TOPIC)) and behind.id in s[1],
                    f"broker {behind.id} back in the ISR", 60, 0.2)
        print(f"broker {behind.id} caught up through the gaps and is in the ISR", flush=True)
        if "replica batches start at offset" in behind.output():
            failures.append(f"broker {behind.id} refused its leader's batches on the way")

        for b in cluster.brokers:
            if b is not behind:
                b.kill()
        only = AdminClient({"bootstrap.servers": behind.bootstrap})
        ch.wait_for(lambda: (s := ch.leader_and_isr(only, TOPIC)) and s[0] == behind.id,
                    f"broker {behind.id} to lead", 60, 0.2)
        records = read_all(behind.bootstrap)
        check(records, acked, failures, f"broker {behind.id} leading")
        more = produce(behind.bootstrap, RECORDS, 100)
        if min(more) < end:
            failures.append(f"offsets given again: {min(more)} < {end}")
        acked.update(more)
        check(read_all(behind.bootstrap), acked, failures, f"broker {behind.id} after more load")
        print(f"broker {behind.id} leads with {len(records)} records; 100 more acknowledged "
              f"from offset {min(more)}", flush=True)
        ok = not failures
        return ch.verdict(failures, cluster)
    except Exception as e:  # noqa: BLE001
        return ch.fail_with_logs(cluster, e)
    finally:
        cluster.kill_all()
        if ok and not args.workdir:
            ch.rmtree(workdir)


if __name__ == "__main__":
    sys.exit(main())
