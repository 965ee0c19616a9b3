#!/usr/bin/env python3
"""Drives real Kafka clients through capture_proxy.py (see README.md).

    /usr/bin/python3 drive_clients.py SCENARIO [--bootstrap 127.0.0.1:39092]

SCENARIO is the --client name the proxy runs with:
  librdkafka             kcat -L / -P / -C, confluent-kafka AdminClient,
                         idempotent Producer, Consumer assign/commit/committed,
                         offsets_for_times (creates topic "golden")
  librdkafka-idempotent  confluent-kafka idempotent Producer (PID in the batch)
  librdkafka-zstd        confluent-kafka Producer with compression.type=zstd
  kafka-python           KafkaAdminClient, KafkaProducer, KafkaConsumer
                         assign/seek/poll, offsets_for_times, group commit and
                         committed (creates topic "golden-kp")
  kafka-python-gzip      KafkaProducer with compression_type=gzip

Run against a fresh broker, in that order (the later ones write to the topics
the earlier ones create). Needs Debian's /usr/bin/python3 with kafka-python
2.0.2 and confluent-kafka 1.7.0 (librdkafka 2.0.2), and /usr/bin/kcat.
Exits non-zero when a client step fails.
"""

import argparse
import subprocess
import sys
import time

TOPIC = "golden"
TOPIC_KP = "golden-kp"


def check(cond, what):
    if not cond:
        sys.exit("drive_clients: " + what)


def kcat(bootstrap, *args, stdin=None):
    r = subprocess.run(["/usr/bin/kcat", "-b", bootstrap, *args], input=stdin,
                       capture_output=True, timeout=60)
    check(r.returncode == 0, "kcat %s failed: %s" % (" ".join(args), r.stderr.decode()))
    return r.stdout.decode()


def confluent_producer(bootstrap, **extra):
    from confluent_kafka import Producer
    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 200, **extra})
    for i in range(3):
        p.produce(TOPIC, key=b"key-%d" % i, value=(b"value %d " % i) * 8, partition=0,
                  headers=[("seq", str(i).encode())])
    check(p.flush(15) == 0, "confluent-kafka producer did not deliver")


def librdkafka(bootstrap):
    from confluent_kafka import Consumer, TopicPartition
    from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic

    # Metadata
    kcat(bootstrap, "-L")

    # CreateTopics, DescribeConfigs, DeleteTopics
    a = AdminClient({"bootstrap.servers": bootstrap})
    fs = a.create_topics(
        [NewTopic(TOPIC, num_partitions=1, replication_factor=1),
         NewTopic("golden-rdk-tmp", num_partitions=2, replication_factor=1,
                  config={"retention.ms": "3600000"})],
        operation_timeout=10, request_timeout=15)
    for f in fs.values():
        f.result()
    for f in a.describe_configs([ConfigResource("topic", "golden-rdk-tmp")],
                                request_timeout=15).values():
        f.result()
    for f in a.delete_topics(["golden-rdk-tmp"], operation_timeout=10,
                             request_timeout=15).values():
        f.result()

    # Produce with a key and headers; then ListOffsets (beginning) + Fetch
    kcat(bootstrap, "-P", "-t", TOPIC, "-p", "0", "-K:", "-H", "trace=abc", "-H", "h2=v2",
         stdin=b"k1:hello golden\n")
    out = kcat(bootstrap, "-C", "-t", TOPIC, "-o", "beginning", "-e", "-f", "%k=%s\n")
    check("k1=hello golden" in out, "kcat -C did not read back the record")

    # InitProducerId (+ Produce with a producer id, a version already kept)
    confluent_producer(bootstrap, **{"enable.idempotence": True})

    # FindCoordinator, OffsetCommit, OffsetFetch, ListOffsets by time
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "golden-group",
                  "enable.auto.commit": False, "auto.offset.reset": "earliest"})
    c.assign([TopicPartition(TOPIC, 0, 0)])
    n, t0 = 0, time.time()
    while n < 4 and time.time() - t0 < 15:
        m = c.poll(1.0)
        if m is not None and not m.error():
            n += 1
    check(n == 4, "confluent-kafka consumer read %d records, not 4" % n)
    c.commit(offsets=[TopicPartition(TOPIC, 0, n)], asynchronous=False)
    got = c.committed([TopicPartition(TOPIC, 0)], timeout=10)
    check(got[0].offset == n, "committed() gave %s" % got)
    c.offsets_for_times([TopicPartition(TOPIC, 0, int(time.time() * 1000) - 60000)], timeout=10)
    c.close()


def kafka_python(bootstrap):
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition
    from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient, NewTopic
    from kafka.structs import OffsetAndMetadata

    # Metadata, CreateTopics, DescribeConfigs, DeleteTopics
    a = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="golden-kp-admin",
                         request_timeout_ms=10000)
    r = a.create_topics([NewTopic(TOPIC_KP, 1, 1),
                         NewTopic("golden-kp-tmp", 2, 1, topic_configs={"retention.ms": "3600000"})],
                        timeout_ms=10000)
    check(all(e[1] == 0 for e in r.topic_errors), "create_topics: %s" % (r,))
    a.describe_configs([ConfigResource(ConfigResourceType.TOPIC, "golden-kp-tmp")])
    a.delete_topics(["golden-kp-tmp"], timeout_ms=10000)
    a.close()

    # Produce
    p = KafkaProducer(bootstrap_servers=bootstrap, client_id="golden-kp-producer",
                      linger_ms=50, acks="all")
    fs = [p.send(TOPIC_KP, key=b"kp-%d" % i, value=b"kafka-python value %d" % i, partition=0,
                 headers=[("seq", str(i).encode())]) for i in range(3)]
    p.flush(10)
    for f in fs:
        f.get(timeout=10)
    p.close()

    # ListOffsets (seek_to_beginning, offsets_for_times), Fetch
    tp = TopicPartition(TOPIC_KP, 0)
    c = KafkaConsumer(bootstrap_servers=bootstrap, client_id="golden-kp-consumer",
                      enable_auto_commit=False, auto_offset_reset="earliest")
    c.assign([tp])
    c.seek_to_beginning(tp)
    got = c.poll(timeout_ms=5000, max_records=10)
    check(sum(len(v) for v in got.values()) == 3, "kafka-python consumer: %s" % (got,))
    c.offsets_for_times({tp: int(time.time() * 1000) - 60000})
    c.close()

    # FindCoordinator, OffsetCommit (no group membership: assign() only)
    g = KafkaConsumer(bootstrap_servers=bootstrap, client_id="golden-kp-group",
                      group_id="golden-kp-group", enable_auto_commit=False)
    g.assign([tp])
    g.commit({tp: OffsetAndMetadata(2, "golden meta")})
    g.close(autocommit=False)
    # OffsetFetch: a fresh consumer, since commit() caches what it committed
    g = KafkaConsumer(bootstrap_servers=bootstrap, client_id="golden-kp-group",
                      group_id="golden-kp-group", enable_auto_commit=False)
    g.assign([tp])
    check(g.committed(tp) == 2, "kafka-python committed() != 2")
    g.close(autocommit=False)


def kafka_python_gzip(bootstrap):
    from kafka import KafkaProducer
    p = KafkaProducer(bootstrap_servers=bootstrap, client_id="golden-kp-producer",
                      linger_ms=50, acks="all", compression_type="gzip")
    fs = [p.send(TOPIC_KP, key=b"kp-%d" % i, value=(b"gzip value %d " % i) * 6, partition=0,
                 headers=[("seq", str(i).encode())]) for i in range(3)]
    p.flush(10)
    for f in fs:
        f.get(timeout=10)
    p.close()


SCENARIOS = {
    "librdkafka": librdkafka,
    "librdkafka-idempotent": lambda b: confluent_producer(b, **{"enable.idempotence": True}),
    "librdkafka-zstd": lambda b: confluent_producer(b, **{"compression.type": "zstd"}),
    "kafka-python": kafka_python,
    "kafka-python-gzip": kafka_python_gzip,
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("scenario", choices=sorted(SCENARIOS))
    ap.add_argument("--bootstrap", default="127.0.0.1:39092")
    args = ap.parse_args()
    SCENARIOS[args.scenario](args.bootstrap)
    print("drive_clients: %s done" % args.scenario)


if __name__ == "__main__":
    main()
