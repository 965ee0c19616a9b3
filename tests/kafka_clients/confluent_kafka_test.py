#!/usr/bin/python3
"""Real-client test: confluent-kafka (Debian python3-confluent-kafka 1.7.0, librdkafka 2.0.2)
against a running sentryd.

Usage: confluent_kafka_test.py BOOTSTRAP TMPDIR     e.g. confluent_kafka_test.py 127.0.0.1:29092 /tmp/x
Exit 0 = pass; on failure prints what was expected and what was found, exits 1.
Set KTEST_DEBUG=protocol,broker (any librdkafka debug contexts) to get librdkafka's debug log.

Covers: AdminClient create_topics (also validate_only, and an existing topic:
TOPIC_ALREADY_EXISTS) and delete_topics with every future checked;
list_topics() metadata; an idempotent producer (enable.idempotence, acks=all)
sending N keyed messages with headers per compression codec (none, gzip,
snappy, lz4, zstd), every delivery report checked; a Consumer (group.id set,
auto commit off, assign() with explicit offsets) reading everything back:
each codec's messages complete, in order per partition, no duplicates, also
starting in the middle of a compressed batch; get_watermark_offsets,
offsets_for_times; commit(asynchronous=False) + committed() round trip and a
consumer assigned at OFFSET_STORED resuming at the commit; a parked fetch
(long poll) woken by new records; a fetch at an out-of-range offset
(auto.offset.reset earliest and error).
"""

import logging
import os
import time
import uuid

from confluent_kafka import (OFFSET_BEGINNING, OFFSET_END, OFFSET_INVALID, OFFSET_STORED, TIMESTAMP_CREATE_TIME,
                             Consumer, KafkaError, KafkaException, Producer, TopicPartition)
from confluent_kafka.admin import AdminClient, NewTopic
from ktest import CheckFailed, expect, require, run, bootstrap_arg, step, wait_for

PARTITIONS = 3
CODECS = ["none", "gzip", "snappy", "lz4", "zstd"]
N_PER_CODEC = 150
DEBUG = os.environ.get("KTEST_DEBUG", "")

client_errors = []


def conf(**kw):
    c = {"bootstrap.servers": BOOT, "error_cb": lambda e: client_errors.append(str(e))}
    if DEBUG:
        c["debug"] = DEBUG
    c.update({k.replace("_", "."): v for k, v in kw.items()})
    return c


class CapturedLog(logging.Handler):
    """Keeps librdkafka's log lines for a failure message: a count and the first few."""

    def __init__(self):
        super().__init__()
        self.count = 0
        self.first = []

    def emit(self, record):
        self.count += 1
        if len(self.first) < 4:
            self.first.append(record.getMessage()[:200])

    def logger(self):
        lg = logging.getLogger(f"rdkafka-{id(self)}")
        lg.propagate = False
        lg.setLevel(logging.DEBUG)
        lg.addHandler(self)
        return lg


def future_results(futs, what):
    out = {}
    for name, f in futs.items():
        try:
            f.result(timeout=15)
            out[name] = None
        except KafkaException as e:
            out[name] = e.args[0].code()
    return out


def consume_until(consumer, end, what, timeout_s=20):
    """Consume until, for every (topic, partition) in end, the last offset seen is end-1.
    Returns {partition: [Message]}. Fails on client errors, past-the-end records, timeouts."""
    got = {p: [] for p in end}

    def done():
        return all((got[p][-1].offset() + 1 if got[p] else None) == e or (e == 0) for p, e in end.items())

    deadline = time.monotonic() + timeout_s
    while not done():
        if time.monotonic() > deadline:
            raise CheckFailed(f"{what}: timed out after {timeout_s}s; records so far "
                              f"{ {p: len(v) for p, v in got.items()} }, want up to end offsets {end}")
        for m in consumer.consume(num_messages=500, timeout=0.2):
            if m.error():
                if m.error().code() == KafkaError._PARTITION_EOF:
                    continue
                raise CheckFailed(f"{what}: consumer error {m.error()} on partition {m.partition()}")
            require(m.partition() in got, f"{what}: record from an assigned partition", sorted(got), m.partition())
            got[m.partition()].append(m)
    # nothing more may arrive
    extra = [m for m in consumer.consume(num_messages=100, timeout=0.2)
             if not m.error() or m.error().code() != KafkaError._PARTITION_EOF]
    require(not extra, f"{what}: nothing beyond the end offsets", [],
            [(m.partition(), m.offset(), m.error()) for m in extra])
    return got


def check_partition(msgs, expected, first, what):
    """msgs: consumed Messages of one partition; expected: {offset: (key, value, headers, ts)}."""
    offs = [m.offset() for m in msgs]
    want_offs = list(range(first, first + len(msgs))) if msgs else []
    require(offs == want_offs and len(offs) == len([o for o in expected if o >= first]),
            f"{what}: offsets contiguous from {first}, nothing missing or duplicated",
            sorted(o for o in expected if o >= first), offs)
    for m in msgs:
        want = expected[m.offset()]
        found = (m.key(), m.value(), m.headers() or [], m.timestamp())
        require(found == (want[0], want[1], want[2], (TIMESTAMP_CREATE_TIME, want[3])),
                f"{what}: record at offset {m.offset()} (key, value, headers, timestamp)",
                (want[0], want[1], want[2], (TIMESTAMP_CREATE_TIME, want[3])), found)


def main(suffix):
    topic = f"ck-test-{suffix}"
    group = f"ck-group-{suffix}"
    admin = AdminClient(conf())

    # ---------------- admin ----------------
    r = future_results(admin.create_topics([NewTopic(f"ck-validate-{suffix}", 2, 1)], validate_only=True,
                                           request_timeout=10), "validate_only")
    expect(r == {f"ck-validate-{suffix}": None}, "create_topics validate_only succeeds",
           {f"ck-validate-{suffix}": None}, r)
    r = future_results(admin.create_topics([NewTopic(topic, PARTITIONS, 1)], request_timeout=10), "create")
    require(r == {topic: None}, "create_topics result", {topic: None}, r)
    md = wait_for(lambda: (lambda m: m if topic in m.topics and len(m.topics[topic].partitions) == PARTITIONS
                           else None)(admin.list_topics(timeout=10)), "topic in metadata with all partitions")
    expect(f"ck-validate-{suffix}" not in md.topics, "a validate_only create creates nothing", "absent",
           sorted(md.topics))
    r = future_results(admin.create_topics([NewTopic(topic, PARTITIONS, 1)], request_timeout=10), "create again")
    require(r == {topic: KafkaError.TOPIC_ALREADY_EXISTS}, "create_topics of an existing topic",
            {topic: KafkaError.TOPIC_ALREADY_EXISTS}, r)
    step(f"AdminClient: validate_only create, create {topic}, create again -> TOPIC_ALREADY_EXISTS")

    # ---------------- metadata ----------------
    require(len(md.brokers) == 1, "list_topics: one broker", 1, md.brokers)
    b = next(iter(md.brokers.values()))
    host, port = BOOT.rsplit(":", 1)
    expect((b.host, b.port) == (host, int(port)), "list_topics: broker address", (host, int(port)),
           (b.host, b.port))
    expect(md.controller_id == b.id, "list_topics: controller id", b.id, md.controller_id)
    t = md.topics[topic]
    require(t.error is None, "list_topics: topic error", None, t.error)
    parts = sorted((p.id, p.leader, list(p.replicas), list(p.isrs), p.error) for p in t.partitions.values())
    want = [(p, b.id, [b.id], [b.id], None) for p in range(PARTITIONS)]
    require(parts == want, "list_topics: (partition, leader, replicas, isrs, error)", want, parts)
    one = Consumer(conf(group_id=group)).list_topics(topic, timeout=10)
    expect(list(one.topics) == [topic] and len(one.topics[topic].partitions) == PARTITIONS,
           "list_topics(topic) from a consumer", [topic], list(one.topics))
    step("list_topics: broker, controller, topic with 3 partitions led by the broker")

    # ---------------- produce: idempotent, acks=all, each codec ----------------
    expected = {p: {} for p in range(PARTITIONS)}  # partition -> offset -> (key, value, headers, ts)
    codec_of = {}  # (partition, offset) -> codec
    first_ts = {}  # codec -> the wall-clock boundary before its first send
    prev_max_ts = 0
    for codec in CODECS:
        # A timestamp boundary between codecs (for offsets_for_times): wait, bounded, until the
        # wall clock has passed every timestamp so far.
        deadline = time.monotonic() + 5
        while time.time() * 1000 <= prev_max_ts + 1:
            require(time.monotonic() < deadline, "wall clock passes the previous timestamps", prev_max_ts,
                    time.time() * 1000)
            time.sleep(0.001)
        first_ts[codec] = prev_max_ts + 1
        reports = []
        prod = Producer(conf(enable_idempotence=True, acks="all", compression_type=codec, linger_ms=5,
                             partitioner="murmur2_random", message_timeout_ms=15000,
                             batch_num_messages=16))  # several in-flight batches per partition
        # Learn the topic's partitions first: otherwise librdkafka may wait for its 1 s topic scan
        # before it asks (a client timing detail, the same against Kafka).
        prod.list_topics(topic, timeout=10)
        sent = []
        for i in range(N_PER_CODEC):
            key = f"{codec}-k{i % 7}".encode()
            value = f"{codec}|{i:05d}|".encode() + b"compressible payload " * (1 + i % 5)
            headers = [("codec", codec.encode()), ("i", str(i).encode())]
            sent.append((key, value, headers))
            prod.produce(topic, value=value, key=key, headers=headers,
                         on_delivery=lambda err, msg, i=i: reports.append((i, err, msg)))
            prod.poll(0)
        left = prod.flush(15)
        require(left == 0, f"{codec}: all messages delivered within 15s", 0, left)
        require(len(reports) == N_PER_CODEC, f"{codec}: one delivery report per message", N_PER_CODEC,
                len(reports))
        errs = [(i, str(err)) for i, err, _ in reports if err is not None]
        require(not errs, f"{codec}: delivery reports without error", [], errs[:5])
        last = {}
        for i, _, msg in sorted(reports, key=lambda x: x[0]):
            p, o = msg.partition(), msg.offset()
            require(o > last.get(p, -1), f"{codec}: offsets increase in send order on partition {p}",
                    f"> {last.get(p, -1)}", o)
            require(o not in expected[p], f"{codec}: offset {o} on partition {p} given once", "new", "reused")
            last[p] = o
            tstype, ts = msg.timestamp()
            require(tstype == TIMESTAMP_CREATE_TIME, f"{codec}: delivery report timestamp type", "CreateTime", tstype)
            expected[p][o] = sent[i] + (ts,)
            codec_of[(p, o)] = codec
            prev_max_ts = max(prev_max_ts, ts)
        # same key, same partition
        kp = {}
        for i, _, msg in reports:
            kp.setdefault(sent[i][0], set()).add(msg.partition())
        require(all(len(v) == 1 for v in kp.values()), f"{codec}: each key on one partition", "1 each", kp)
    require(not client_errors, "no client errors (error_cb) while producing", [], client_errors)
    for p in range(PARTITIONS):
        offs = sorted(expected[p])
        require(offs == list(range(len(offs))), f"partition {p}: delivered offsets are exactly 0..n-1",
                f"0..{len(offs) - 1}", offs)
    step(f"idempotent acks=all producer: {N_PER_CODEC} messages per codec {CODECS}, every delivery report ok, "
         f"offsets {[len(expected[p]) for p in range(PARTITIONS)]} per partition")

    # ---------------- consume everything back ----------------
    consumer = Consumer(conf(group_id=group, enable_auto_commit=False, enable_partition_eof=True,
                             fetch_wait_max_ms=100, auto_offset_reset="error"))
    end = {p: len(expected[p]) for p in range(PARTITIONS)}
    consumer.assign([TopicPartition(topic, p, 0) for p in range(PARTITIONS)])
    got = consume_until(consumer, end, "consume all from offset 0")
    for p in range(PARTITIONS):
        check_partition(got[p], expected[p], 0, f"consume partition {p}")
    per_codec = {c: 0 for c in CODECS}
    for p in range(PARTITIONS):
        for m in got[p]:
            per_codec[codec_of[(p, m.offset())]] += 1
    require(per_codec == {c: N_PER_CODEC for c in CODECS}, "records per codec", {c: N_PER_CODEC for c in CODECS},
            per_codec)
    step(f"consumed all {sum(end.values())} records: every codec complete, in order per partition, no duplicates")

    # start in the middle of compressed batches (the client skips the records before the offset)
    starts = {p: len(expected[p]) // 2 + 1 for p in range(PARTITIONS)}
    consumer.assign([TopicPartition(topic, p, starts[p]) for p in range(PARTITIONS)])
    got = consume_until(consumer, end, "consume from the middle")
    for p in range(PARTITIONS):
        check_partition(got[p], expected[p], starts[p], f"consume partition {p} from offset {starts[p]}")
    # OFFSET_BEGINNING on one partition
    consumer.assign([TopicPartition(topic, 1, OFFSET_BEGINNING)])
    got = consume_until(consumer, {1: end[1]}, "consume partition 1 from OFFSET_BEGINNING")
    check_partition(got[1], expected[1], 0, "consume partition 1 from OFFSET_BEGINNING")
    step("consume from the middle of compressed batches and from OFFSET_BEGINNING: exact")

    # ---------------- watermarks, offsets_for_times ----------------
    for p in range(PARTITIONS):
        wm = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
        expect(wm == (0, end[p]), f"get_watermark_offsets partition {p}", (0, end[p]), wm)
        wm = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10, cached=True)
        expect(wm == (0, end[p]), f"get_watermark_offsets(cached) partition {p} after consuming", (0, end[p]), wm)
    for codec in CODECS:
        q = [TopicPartition(topic, p, first_ts[codec]) for p in range(PARTITIONS)]
        res = consumer.offsets_for_times(q, timeout=10)
        found = {r.partition: (r.offset, r.error) for r in res}
        want = {}
        for p in range(PARTITIONS):
            later = [o for o in sorted(expected[p]) if expected[p][o][3] >= first_ts[codec]]
            want[p] = (later[0] if later else -1, None)
            if later:  # the first record at/after the boundary is the codec's first on that partition
                require(codec_of[(p, later[0])] == codec, "test setup: boundary precedes the codec", codec,
                        codec_of[(p, later[0])])
        expect(found == want, f"offsets_for_times(first timestamp of codec {codec} = {first_ts[codec]})", want, found)
    future = int(time.time() * 1000) + 3_600_000
    res = consumer.offsets_for_times([TopicPartition(topic, p, future) for p in range(PARTITIONS)], timeout=10)
    found = {r.partition: (r.offset, r.error) for r in res}
    want = {p: (OFFSET_END, None) for p in range(PARTITIONS)}
    expect(found == want, "offsets_for_times(an hour in the future): OFFSET_END (-1), as Kafka answers", want, found)
    step("get_watermark_offsets; offsets_for_times at each codec's boundary and in the future")

    # ---------------- commit / committed ----------------
    before = consumer.committed([TopicPartition(topic, p) for p in range(PARTITIONS)], timeout=10)
    found = {t.partition: (t.offset, t.error) for t in before}
    want = {p: (OFFSET_INVALID, None) for p in range(PARTITIONS)}
    require(found == want, "committed() before any commit: OFFSET_INVALID", want, found)
    to_commit = [TopicPartition(topic, 0, 5), TopicPartition(topic, 1, end[1]), TopicPartition(topic, 2, 0)]
    res = consumer.commit(offsets=to_commit, asynchronous=False)
    found = sorted((t.partition, t.offset, t.error) for t in res)
    want = [(0, 5, None), (1, end[1], None), (2, 0, None)]
    require(found == want, "commit(offsets, asynchronous=False) result", want, found)
    after = consumer.committed([TopicPartition(topic, p) for p in range(PARTITIONS)], timeout=10)
    found = {t.partition: (t.offset, t.error) for t in after}
    want = {0: (5, None), 1: (end[1], None), 2: (0, None)}
    require(found == want, "committed() after commit", want, found)
    # commit() without offsets commits the consumed positions
    consumer.assign([TopicPartition(topic, 2, 10)])
    got = consume_until(consumer, {2: end[2]}, "consume partition 2 from 10")
    check_partition(got[2], expected[2], 10, "consume partition 2 from 10")
    res = consumer.commit(asynchronous=False)
    found = sorted((t.partition, t.offset, t.error) for t in res)
    require(found == [(2, end[2], None)], "commit(asynchronous=False) of the consumed position",
            [(2, end[2], None)], found)
    after = consumer.committed([TopicPartition(topic, 2)], timeout=10)
    require([(t.offset, t.error) for t in after] == [(end[2], None)], "committed() of partition 2",
            [(end[2], None)], [(t.offset, t.error) for t in after])
    consumer.close()
    # a new consumer of the group, assigned at OFFSET_STORED, resumes at the commit
    c2 = Consumer(conf(group_id=group, enable_auto_commit=False, enable_partition_eof=True, fetch_wait_max_ms=100,
                       auto_offset_reset="error"))
    c2.assign([TopicPartition(topic, 0, OFFSET_STORED)])
    got = consume_until(c2, {0: end[0]}, "consume partition 0 from OFFSET_STORED")
    check_partition(got[0], expected[0], 5, "consume partition 0 from OFFSET_STORED (committed 5)")
    c2.close()
    step("commit(asynchronous=False) + committed() round trip; OFFSET_STORED resumes at the commit")

    # ---------------- a parked fetch wakes up when records arrive ----------------
    # fetch.wait.max.ms=5000: the broker holds an empty fetch that long unless data comes; a
    # record produced meanwhile must reach the consumer long before the wait ends. A first
    # "primer" record per partition gets the consumer fetching; once all three arrived, its
    # next fetch (for all three partitions) is parked at the broker.
    waiter = Consumer(conf(group_id=group, enable_auto_commit=False, fetch_wait_max_ms=5000,
                           enable_partition_eof=False))
    waiter.assign([TopicPartition(topic, p, end[p]) for p in range(PARTITIONS)])
    prod = Producer(conf(acks="all", linger_ms=0))
    prod.list_topics(topic, timeout=10)

    def produce_and_receive(values, what):
        t = time.monotonic()
        for p, v in values.items():
            prod.produce(topic, value=v, key=b"wake", partition=p)
        require(prod.flush(10) == 0, f"{what}: records delivered", 0, "undelivered")
        got = {}
        while len(got) < len(values) and time.monotonic() - t < 10:
            for x in waiter.consume(num_messages=1, timeout=0.1):
                require(not x.error(), f"{what}: no consumer error", None, x.error())
                got[x.partition()] = (x.offset(), x.value())
        want = {p: (end[p], v) for p, v in values.items()}
        require(got == want, f"{what}: the records reach the consumer", want, got)
        for p in values:
            end[p] += 1
        return time.monotonic() - t

    produce_and_receive({p: f"primer-{p}".encode() for p in range(PARTITIONS)}, "primer records")
    latencies = {}
    for p in (2, 0, 1):
        latencies[p] = produce_and_receive({p: f"wake-{p}".encode()}, f"wake-up record on partition {p}")
    waiter.close()
    expect(all(v < 2.0 for v in latencies.values()),
           "records reach a consumer whose fetch is parked (fetch.wait.max.ms=5000) within 2 s",
           "< 2.0 s each", {p: round(v, 3) for p, v in latencies.items()})
    step(f"parked fetches wake up on new records: latencies {dict((p, round(v, 3)) for p, v in latencies.items())}")

    # ---------------- fetching an out-of-range offset ----------------
    # The broker answers OFFSET_OUT_OF_RANGE; librdkafka then applies auto.offset.reset.
    # (Kafka sends an empty, not a null, record set with a partition error: librdkafka
    # refuses a null one, "invalid MessageSetSize -1", and retries at once, forever.)
    for policy in ("earliest", "error"):
        logs = CapturedLog()
        c = Consumer(conf(group_id=group, enable_auto_commit=False, fetch_wait_max_ms=100,
                          auto_offset_reset=policy, logger=logs.logger()))
        c.assign([TopicPartition(topic, 1, end[1] + 50)])
        outcome = None
        deadline = time.monotonic() + 5
        while outcome is None and time.monotonic() < deadline:
            for m in c.consume(num_messages=500, timeout=0.2):
                if m.error():
                    outcome = ("error", m.error().code())
                    break
                if m.offset() == 0:
                    outcome = ("reset to", 0)
                    break
        c.close()
        want = ("reset to", 0) if policy == "earliest" else ("error", KafkaError._AUTO_OFFSET_RESET)
        expect(outcome == want, f"consume at offset {end[1] + 50} (beyond the end {end[1]}) with "
               f"auto.offset.reset={policy}", want,
               f"{outcome} after 5 s; librdkafka logged {logs.count} lines, first: {logs.first[:2]}")
    step("an out-of-range fetch offset: reset to earliest, or _AUTO_OFFSET_RESET with auto.offset.reset=error")

    # ---------------- delete ----------------
    r = future_results(admin.delete_topics([topic], request_timeout=10), "delete")
    require(r == {topic: None}, "delete_topics result", {topic: None}, r)
    wait_for(lambda: topic not in admin.list_topics(timeout=10).topics, "deleted topic leaves the metadata")
    r = future_results(admin.delete_topics([topic], request_timeout=10), "delete again")
    expect(r == {topic: KafkaError.UNKNOWN_TOPIC_OR_PART}, "delete_topics of a deleted topic",
           {topic: KafkaError.UNKNOWN_TOPIC_OR_PART}, r)
    expect(not client_errors, "no client errors (error_cb)", [], client_errors)
    step("delete_topics: gone from metadata; deleting again: UNKNOWN_TOPIC_OR_PART")


def report_client_errors():
    if client_errors:
        print(f"client errors reported by error_cb: {client_errors}", flush=True)


if __name__ == "__main__":
    BOOT = bootstrap_arg("confluent_kafka_test.py")
    suffix = uuid.uuid4().hex[:12]
    run("confluent_kafka_test.py", lambda: main(suffix), f"suffix {suffix}", report=report_client_errors)
