#!/usr/bin/python3
"""Real-client test: a compacted topic (cleanup.policy=compact) read by Kafka clients.

kafka-python's admin client creates the topic (16 KiB segments, dirty ratio 0.01) so
the broker's cleaner (run by the test with a 50 ms backoff) compacts it while this
runs; confluent-kafka (librdkafka) produces keyed records with tombstones and one
record without a key (refused: INVALID_RECORD, as Kafka). Once a read from the
beginning shows the log compacted, kcat (librdkafka) and kafka-python's consumer each
read it from offset 0: both must see, at its original offset, only records that were
produced there, in increasing offsets, and applying them in order must give the
latest value of every key (tombstones deleting). Last, kafka-python's AlterConfigs
(API 33) changes the topic's settings and DescribeConfigs shows them.

usage: compacted_topic_test.py BOOTSTRAP [TMPDIR]
Needs Debian's /usr/bin/python3 (python3-kafka, python3-confluent-kafka), /usr/bin/kcat.
"""

import random
import subprocess
import sys
import uuid

from confluent_kafka import KafkaError, Producer
from kafka import KafkaConsumer, TopicPartition
from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient, NewTopic
from ktest import CheckFailed, bootstrap_arg, expect, require, run, step, wait_for

BOOT = bootstrap_arg("compacted_topic_test.py")
TOPIC = f"compacted-{uuid.uuid4().hex[:8]}"
SEP = "\x1f"
RECORDS = 2000
KEYS = 50


def kcat_read():
    """Everything from the beginning of partition 0, as (offset, key, value)."""
    cmd = ["/usr/bin/kcat", "-b", BOOT, "-C", "-t", TOPIC, "-p", "0", "-o", "beginning", "-e",
           "-q", "-X", "fetch.wait.max.ms=50", "-f", "%o\\x1f%K\\x1f%k\\x1f%S\\x1f%s\\n"]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=20)
    require(p.returncode == 0, "kcat -C exits 0", 0, f"{p.returncode}: {p.stderr}")
    out = []
    for line in p.stdout.splitlines():
        o, klen, k, vlen, v = line.split(SEP)
        out.append((int(o), None if int(klen) == -1 else k, None if int(vlen) == -1 else v))
    return out


def kafka_python_read(end):
    c = KafkaConsumer(bootstrap_servers=BOOT, enable_auto_commit=False, consumer_timeout_ms=3000)
    tp = TopicPartition(TOPIC, 0)
    c.assign([tp])
    c.seek_to_beginning(tp)
    out = []
    while c.position(tp) < end:
        batch = c.poll(timeout_ms=1000)
        for m in batch.get(tp, []):
            out.append((m.offset, m.key.decode() if m.key is not None else None,
                        m.value.decode() if m.value is not None else None))
    c.close()
    return out


def apply(recs):
    state = {}
    for _, k, v in recs:
        if v is None:
            state.pop(k, None)
        else:
            state[k] = v
    return state


def check_read(found, produced, who):
    expect(apply(found) == apply(produced), f"{who}: latest value per key equals the model",
           len(apply(produced)), len(apply(found)))
    by_offset = {o: (k, v) for o, k, v in produced}
    offsets = [o for o, _, _ in found]
    expect(offsets == sorted(set(offsets)), f"{who}: offsets increase, none repeated", "increasing",
           offsets[:20])
    bad = [(o, k, v) for o, k, v in found if by_offset.get(o) != (k, v)]
    expect(not bad, f"{who}: every record is the one produced at its offset", [], bad[:5])


def main():
    admin = KafkaAdminClient(bootstrap_servers=BOOT, client_id="compaction-test")
    admin.create_topics([NewTopic(TOPIC, 1, 1, topic_configs={
        "cleanup.policy": "compact", "segment.bytes": "16384", "min.cleanable.dirty.ratio": "0.01"})])
    admin.close()
    step(f"created {TOPIC} with cleanup.policy=compact, 16 KiB segments")

    produced = []
    errors = []
    rng = random.Random(7)

    def on_delivery(err, msg):
        if err is not None:
            errors.append(err)
        else:
            produced.append((msg.offset(), msg.key().decode(),
                             msg.value().decode() if msg.value() is not None else None))

    # Batches well under a segment (one that can never fit is MESSAGE_TOO_LARGE).
    p = Producer({"bootstrap.servers": BOOT, "linger.ms": 5, "acks": "all", "batch.size": 4000})
    for i in range(RECORDS):
        key = f"key-{rng.randrange(KEYS)}"
        value = None if rng.randrange(10) == 0 else f"value-{i}"
        p.produce(TOPIC, key=key, value=value, partition=0, on_delivery=on_delivery)
        p.poll(0)
    require(p.flush(20) == 0, "producer flushed", 0, "messages left")
    require(not errors and len(produced) == RECORDS, "every keyed record acknowledged",
            RECORDS, f"{len(produced)} ({errors[:3]})")
    produced.sort()
    step(f"confluent-kafka produced {RECORDS} records over {KEYS} keys, ~10% tombstones")

    refused = []
    p.produce(TOPIC, key=None, value="no key", partition=0,
              on_delivery=lambda err, msg: refused.append(err))
    p.flush(20)
    require(len(refused) == 1 and refused[0] is not None, "a record without a key is refused",
            "an error", refused)
    expect(refused[0].code() == KafkaError.INVALID_RECORD, "the refusal is INVALID_RECORD",
           KafkaError.INVALID_RECORD, refused[0].code())
    step("a record without a key: INVALID_RECORD")

    end = produced[-1][0] + 1
    # The active segment (at most 16 KiB) is never compacted; the sealed ones
    # shrink to about one record per key.
    found = wait_for(lambda: (lambda r: r if len(r) < RECORDS // 2 else None)(kcat_read()),
                     "the cleaner to compact the topic (a read from 0 far shorter than the log)",
                     timeout_s=30, interval_s=0.2)
    check_read(found, produced, "kcat")
    step(f"kcat read {len(found)} of {RECORDS} records from offset 0 after compaction: "
         "state, offsets and contents as produced")
    got = kafka_python_read(end)
    check_read(got, produced, "kafka-python")
    expect(len(got) <= len(found), "kafka-python reads no more than kcat did before",
           f"<= {len(found)}", len(got))
    step(f"kafka-python read {len(got)} records from offset 0 across the offset gaps")

    # AlterConfigs (the legacy API kafka-python speaks): the topic's changeable
    # settings become exactly those given; a bad value changes nothing.
    admin = KafkaAdminClient(bootstrap_servers=BOOT, client_id="compaction-test-alter")

    def settings():
        r = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, TOPIC)])
        return {e[0]: e[1] for e in r[0].resources[0][4]}

    def alter(configs):
        r = admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, TOPIC, configs=configs)])
        return r.resources[0][0]

    expect(alter({"cleanup.policy": "compact", "retention.ms": "3600000"}) == 0,
           "AlterConfigs accepted", 0, "an error")
    got = settings()
    expect(got.get("retention.ms") == "3600000" and got.get("cleanup.policy") == "compact",
           "DescribeConfigs shows the altered settings", "3600000 compact",
           (got.get("retention.ms"), got.get("cleanup.policy")))
    expect(alter({"cleanup.policy": "compact", "retention.ms": "soon"}) == 40,
           "a bad value is INVALID_CONFIG", 40, "another answer")
    expect(settings().get("retention.ms") == "3600000", "a refused AlterConfigs changes nothing",
           "3600000", settings().get("retention.ms"))
    expect(alter({"cleanup.policy": "compact"}) == 0, "AlterConfigs without retention.ms", 0,
           "an error")
    expect(settings().get("retention.ms") == "604800000",
           "a setting left out goes back to the default", "604800000",
           settings().get("retention.ms"))
    admin.close()
    step("kafka-python AlterConfigs (v0): set, refused, left out = default; DescribeConfigs agrees")


if __name__ == "__main__":
    run("compacted_topic_test.py", main, TOPIC)
