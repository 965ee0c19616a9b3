"""A follower that was away while its leader's log start moved past
everything it has (issue 17), three sentryd on one etcd:

1. A 3-replica topic (min.insync.replicas=2); acks=all records reach all
   three replicas. One follower is stopped cleanly.
2. More acks=all records go to the two replicas left, then the leader's log
   start is moved past the stopped follower's log end with `sentryctl topic
   trim` (Kafka's DeleteRecords), to an offset inside a batch of several
   records, as retention and DeleteRecords may leave it.
3. The follower comes back. Its fetch is out of the leader's range, so it
   drops its log and starts over at the leader's log start; the first batch
   it is sent starts below that offset, so it starts over once more at that
   batch's base (Kafka's follower does both). Both steps are logged. It
   catches up and is back in the ISR within 60 s.
4. After more acks=all records and a clean stop: every acknowledged record
   at or past the trim offset is on all three replicas at its offset; the
   follower holds nothing below that batch, and its batches are the
   leader's from there on, byte for byte (decoded field by field); its
   persisted log start is the leader's.

Before this was built the follower retried the out-of-range fetch forever
and never rejoined the ISR.

usage: log_start_test.py --sentryd PATH --sentryctl PATH [--workdir DIR]
"""

import argparse
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cluster_harness as ch  # noqa: E402

from confluent_kafka import Producer  # noqa: E402
from confluent_kafka.admin import AdminClient  # noqa: E402

TOPIC = "trimmed"
EXTRA = ["--broker.session.timeout.ms", "3000", "--cluster.poll.ms", "100",
         "--replica.lag.time.max.ms", "5000", "--replica.fetch.wait.max.ms", "200"]


def produce(bootstrap, first, n, acked, linger_ms=5):
    """n acks=all records numbered from `first`; returns when all are
    answered. `acked`: offset -> value of the acknowledged ones."""
    errors = []

    def on_delivery(err, msg):
        if err is None:
            acked[msg.offset()] = msg.value()
        else:
            errors.append(str(err))

    p = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "acks": "all",
                  "linger.ms": linger_ms, "compression.type": "none",
                  "message.timeout.ms": 60000})
    for i in range(first, first + n):
        p.produce(TOPIC, value=b"%08d-" % i + b"v" * 100, partition=0, on_delivery=on_delivery)
        p.poll(0)
    left = p.flush(90)
    if errors or left:
        raise AssertionError(f"producer: {left} unanswered, errors {errors[:3]}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sentryd", required=True)
    ap.add_argument("--sentryctl", required=True)
    ap.add_argument("--workdir")
    args = ap.parse_args()
    workdir = args.workdir or tempfile.mkdtemp(prefix="sentry-logstart-")
    cluster = ch.Cluster(args.sentryd, workdir, 3, EXTRA)
    ok = False
    try:
        cluster.start()
        admin = AdminClient({"bootstrap.servers": cluster.bootstrap()})
        leader_id = ch.create_replicated_topic(admin, TOPIC)
        leader = cluster.broker(leader_id)
        follower = cluster.broker(next(i for i in (1, 2, 3) if i != leader_id))
        acked = {}
        produce(cluster.bootstrap(), 0, 300, acked)
        ch.wait_for(lambda: (s := ch.leader_and_isr(admin, TOPIC)) and len(s[1]) == 3,
                    "a full ISR after the first records", 30)
        if follower.stop() != 0:
            raise RuntimeError(f"broker {follower.id} did not stop cleanly")
        old_end = max(o for _, _, rs in ch.decode_batches(
            follower.partition_log_bytes(TOPIC, 0)) for o, _ in rs) + 1
        # Each call's records go out in batches of many (long lingers); the
        # trim cuts one of the second call's, well past the follower's end.
        produce(cluster.bootstrap(), 300, 1000, acked, linger_ms=50)
        produce(cluster.bootstrap(), 1300, 2000, acked, linger_ms=50)
        batches = ch.decode_batches(leader.partition_log_bytes(TOPIC, 0))
        cut = next(b for b in reversed(batches) if len(b[2]) >= 3 and b[0] >= 1300)
        base = cut[0]
        trim_at = base + 1
        r = subprocess.run([args.sentryctl, "--broker", f"127.0.0.1:{leader.port}", "topic",
                            "trim", TOPIC, "--partition", "0", "--before", str(trim_at)],
                           capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            raise AssertionError(f"sentryctl topic trim: rc {r.returncode}\n{r.stdout}{r.stderr}")
        print(f"leader {leader_id}; broker {follower.id} stopped at offset {old_end}; leader's "
              f"log start moved to {trim_at}, inside the batch at {base}", flush=True)
        produce(cluster.bootstrap(), 3300, 300, acked)

        follower.start()
        ch.wait_for(lambda: (s := ch.leader_and_isr(admin, TOPIC)) and follower.id in s[1],
                    f"broker {follower.id} back in the ISR", 60)
        print(f"broker {follower.id} back in the ISR", flush=True)
        produce(cluster.bootstrap(), 3600, 300, acked)
        ch.wait_for(lambda: (s := ch.leader_and_isr(admin, TOPIC)) and len(s[1]) == 3,
                    "a full ISR at the end", 60)
        out = follower.output()
        cluster.stop_cleanly()

        failures = []
        for offset in (trim_at, base):
            if f"starts over at offset {offset}" not in out:
                failures.append(f"broker {follower.id} did not log starting over at {offset}")
        logs = {b.id: ch.decode_batches(b.partition_log_bytes(TOPIC, 0))
                for b in cluster.brokers}
        for bid, bs in logs.items():
            records = dict(r for _, _, rs in bs for r in rs)
            missing = [o for o, v in acked.items() if o >= trim_at and records.get(o) != v]
            if missing:
                failures.append(f"broker {bid} lacks {len(missing)} acknowledged record(s) past "
                                f"the trim, first at {sorted(missing)[:5]}")
        mine = logs[follower.id]
        if not mine or mine[0][0] != base:
            failures.append(f"broker {follower.id}'s log starts at "
                            f"{mine[0][0] if mine else None}, not at {base}")
        theirs = [b for b in logs[leader_id] if b[0] >= base]
        if mine != theirs:
            failures.append(f"broker {follower.id}'s batches differ from the leader's from {base} "
                            f"({len(mine)} against {len(theirs)})")
        with open(os.path.join(follower.data_dir, f"{TOPIC}-0", "log-start-offset")) as f:
            start = int(f.read().strip())
        if start != trim_at:
            failures.append(f"broker {follower.id}'s persisted log start is {start}, not {trim_at}")
        print(f"{len(acked)} acknowledged; batches per replica "
              f"{ {bid: len(bs) for bid, bs in logs.items()} }", flush=True)
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
