#!/usr/bin/python3
"""Real-client test: kafka-python (Debian python3-kafka, 2.0.2) against a running sentryd.

Usage: kafka_python_test.py BOOTSTRAP TMPDIR     e.g. kafka_python_test.py 127.0.0.1:29092 /tmp/x
Exit 0 = pass; on failure prints what was expected and what was found, exits 1.

Covers: admin create (with and without topic configs), list, describe_topics,
describe_configs, delete, and their errors (TopicAlreadyExists,
UnknownTopicOrPartition, InvalidConfiguration); a producer with acks='all'
whose every future is checked (offsets contiguous and increasing per
partition, keys partitioned consistently by murmur2, explicit partitions,
headers, gzip); a consumer with assign() + seek_to_beginning() reading
everything back (content, order per partition, nothing duplicated or
missing), also with tiny fetch sizes; beginning_offsets, end_offsets,
offsets_for_times; commit()/committed() for a group id on an assigned
consumer (kafka-python commits with generation -1 and member "" when the
partitions are assigned by hand, so no group membership is needed), a new
consumer of the group starting at the committed offset, and the admin's
list_consumer_group_offsets.

Needs Debian's /usr/bin/python3 (python3-kafka).
"""

import time
import uuid

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient, NewTopic
from kafka.errors import InvalidConfigurationError, TopicAlreadyExistsError, UnknownTopicOrPartitionError
from kafka.partitioner.default import murmur2
from kafka.structs import OffsetAndMetadata
from ktest import CheckFailed, expect, require, run, bootstrap_arg, step, wait_for

PARTITIONS = 3
KEYS = [f"key-{c}" for c in "abcdefghij"]  # murmur2 % 3 covers partitions 0, 1 and 2
ROUNDS = 20


def key_partition(key):
    return (murmur2(key.encode()) & 0x7FFFFFFF) % PARTITIONS


def read_all(consumer, tps, end, what, timeout_s=20):
    """Poll an assigned consumer until each partition's position reaches end[tp]; return
    {tp: [ConsumerRecord]}. Fails on a record past the end or a timeout."""
    got = {tp: [] for tp in tps}
    deadline = time.monotonic() + timeout_s
    while any((got[tp][-1].offset + 1 if got[tp] else -1) < end[tp] for tp in tps if end[tp] > 0):
        if time.monotonic() > deadline:
            counts = {f"{tp.topic}[{tp.partition}]": len(got[tp]) for tp in tps}
            raise CheckFailed(f"{what}: timed out after {timeout_s}s; records so far {counts}, "
                              f"end offsets {dict((f'{t.topic}[{t.partition}]', e) for t, e in end.items())}")
        for tp, recs in consumer.poll(timeout_ms=200).items():
            got[tp].extend(recs)
    # nothing more may arrive
    extra = consumer.poll(timeout_ms=100)
    require(not any(extra.values()), f"{what}: no records beyond the end offsets", {},
            {f"{tp.partition}": [r.offset for r in rs] for tp, rs in extra.items()})
    return got


def check_partition(recs, expected, first_offset, what):
    """recs: ConsumerRecords of one partition; expected: [(key bytes|None, value bytes, headers)]."""
    offs = [r.offset for r in recs]
    want_offs = list(range(first_offset, first_offset + len(expected)))
    require(offs == want_offs, f"{what}: offsets in order, none missing or duplicated", want_offs, offs)
    content = [(r.key, r.value, list(r.headers)) for r in recs]
    if content != expected:
        bad = next(i for i, (a, b) in enumerate(zip(content, expected)) if a != b) if len(content) == len(
            expected) else None
        require(False, f"{what}: records (key, value, headers) in order"
                + (f" (first difference at offset {first_offset + bad})" if bad is not None else ""),
                expected if bad is None else expected[bad], content if bad is None else content[bad])


def main(suffix):
    topic = f"kp-test-{suffix}"
    ts_topic = f"kp-ts-{suffix}"
    cfg_topic = f"kp-cfg-{suffix}"
    group = f"kp-group-{suffix}"
    tps = [TopicPartition(topic, p) for p in range(PARTITIONS)]

    admin = KafkaAdminClient(bootstrap_servers=BOOT, client_id="kp-test-admin", request_timeout_ms=10000)

    # ---------------- admin: create, list, describe, errors ----------------
    resp = admin.create_topics([NewTopic(topic, PARTITIONS, 1), NewTopic(ts_topic, 1, 1),
                                NewTopic(cfg_topic, 2, 1, topic_configs={"retention.ms": "3600000"})],
                               timeout_ms=10000)
    errs = sorted((t[0], t[1]) for t in resp.topic_errors)
    require(errs == sorted([(topic, 0), (ts_topic, 0), (cfg_topic, 0)]), "CreateTopics results",
            sorted([(topic, 0), (ts_topic, 0), (cfg_topic, 0)]), errs)
    wait_for(lambda: {topic, ts_topic, cfg_topic} <= set(admin.list_topics()), "list_topics shows the created topics")
    step(f"created {topic} (3 partitions), {ts_topic} (1), {cfg_topic} (2, retention.ms set); listed")

    desc = {d["topic"]: d for d in admin.describe_topics([topic, cfg_topic])}
    for name, n in ((topic, PARTITIONS), (cfg_topic, 2)):
        d = desc.get(name)
        require(d is not None and d["error_code"] == 0, f"describe_topics {name}", "error_code 0", d)
        parts = sorted((p["partition"], p["error_code"], p["leader"], p["replicas"], p["isr"]) for p in d["partitions"])
        want = [(p, 0, 0, [0], [0]) for p in range(n)]
        expect(parts == want, f"describe_topics {name}: (partition, error, leader, replicas, isr)", want, parts)
    step("describe_topics: partitions, leader, replicas, isr")

    # DescribeConfigs (kafka-python 2.0.2 supports it; configs= must be a dict of names).
    r = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, cfg_topic)])
    res = r[0].resources[0]
    require(res[0] == 0 and res[3] == cfg_topic, f"describe_configs {cfg_topic}: no error",
            (0, cfg_topic), (res[0], res[1], res[3]))
    entries = {e[0]: e for e in res[4]}
    ret = entries.get("retention.ms")
    expect(ret is not None and ret[1] == "3600000" and ret[3] == 1,
           f"describe_configs {cfg_topic}: retention.ms set at creation (value, source DYNAMIC_TOPIC_CONFIG=1)",
           ("retention.ms", "3600000", False, 1), ret)
    r = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic, configs={"retention.ms": None})])
    res = r[0].resources[0]
    names = [e[0] for e in res[4]]
    expect(res[0] == 0 and names == ["retention.ms"], f"describe_configs {topic} for one key",
           (0, ["retention.ms"]), (res[0], names))
    expect(res[4] and res[4][0][3] == 5, f"describe_configs {topic}: retention.ms is the default (source 5)", 5,
           res[4][0][3] if res[4] else None)
    step("describe_configs: topic config set at creation, one key asked, defaults")

    try:
        admin.create_topics([NewTopic(topic, PARTITIONS, 1)], timeout_ms=10000)
        require(False, "create_topics of an existing topic", "TopicAlreadyExistsError", "no error")
    except TopicAlreadyExistsError:
        pass
    try:
        admin.create_topics([NewTopic(f"kp-bad-{suffix}", 1, 1, topic_configs={"no.such.config": "1"})],
                            timeout_ms=10000)
        expect(False, "create_topics with an unknown config", "InvalidConfigurationError", "no error")
    except InvalidConfigurationError:
        pass
    expect(f"kp-bad-{suffix}" not in admin.list_topics(), "a topic refused for its config does not exist",
           "absent", "present")
    step("create of an existing topic: TopicAlreadyExistsError; unknown config: InvalidConfigurationError")

    # ---------------- produce with acks=all, every future checked ----------------
    producer = KafkaProducer(bootstrap_servers=BOOT, acks="all", client_id="kp-test-producer", linger_ms=5,
                             request_timeout_ms=10000, max_block_ms=10000)
    expected = {p: [] for p in range(PARTITIONS)}
    sent = []  # (future, partition expected, (key, value, headers))
    for rnd in range(ROUNDS):
        for k in KEYS:
            v = f"{k}-{rnd}".encode()
            h = [("round", str(rnd).encode()), ("k", k.encode())]
            f = producer.send(topic, key=k.encode(), value=v, headers=h)
            sent.append((f, key_partition(k), (k.encode(), v, h)))
    # explicit partition, no key, no headers
    for i in range(5):
        v = f"explicit-{i}".encode()
        sent.append((producer.send(topic, value=v, partition=1), 1, (None, v, [])))
    metas = []
    for f, want_p, rec in sent:
        try:
            md = f.get(timeout=10)
        except Exception as e:  # noqa: BLE001 - report any client error
            raise CheckFailed(f"produce future for {rec[:2]} failed: {e!r}")
        require(md.topic == topic and md.partition == want_p,
                f"produce {rec[0]!r}: lands on the key's murmur2 partition (or the one asked)", want_p,
                (md.topic, md.partition))
        expected[md.partition].append(rec)
        metas.append((md, rec))
    # gzip producer: 10 more to partition 2
    gz = KafkaProducer(bootstrap_servers=BOOT, acks="all", compression_type="gzip", linger_ms=50,
                       request_timeout_ms=10000, max_block_ms=10000)
    gz_futs = [(gz.send(topic, key=f"gz-{i}".encode(), value=(f"gzip-{i}-" + "x" * 200).encode(), partition=2),
                (f"gz-{i}".encode(), (f"gzip-{i}-" + "x" * 200).encode(), [])) for i in range(10)]
    for f, rec in gz_futs:
        try:
            md = f.get(timeout=10)
        except Exception as e:  # noqa: BLE001
            raise CheckFailed(f"gzip produce future for {rec[0]!r} failed: {e!r}")
        require(md.partition == 2, "gzip produce lands on partition 2", 2, md.partition)
        expected[2].append(rec)
        metas.append((md, rec))
    gz.close()
    # offsets: per partition, in send order, exactly 0..n-1
    for p in range(PARTITIONS):
        offs = [md.offset for md, _ in metas if md.partition == p]
        require(offs == list(range(len(offs))), f"produce acks: partition {p} offsets increase by one from 0",
                list(range(len(offs))), offs)
    # a key always lands on one partition
    seen = {}
    for md, rec in metas:
        if rec[0] is not None and not rec[0].startswith(b"gz-"):
            seen.setdefault(rec[0], set()).add(md.partition)
    require(all(len(s) == 1 for s in seen.values()), "each key lands on exactly one partition", "1 each", seen)
    require(len({next(iter(s)) for s in seen.values()}) == PARTITIONS, "test setup: keys cover all partitions",
            PARTITIONS, seen)
    step(f"produced {len(metas)} records with acks=all; every future ok; offsets contiguous per partition; "
         f"keys stick to their murmur2 partition")

    # ---------------- offsets ----------------
    consumer = KafkaConsumer(bootstrap_servers=BOOT, group_id=None, enable_auto_commit=False,
                             client_id="kp-test-consumer", request_timeout_ms=11000, fetch_max_wait_ms=100)
    consumer.assign(tps)
    bo = consumer.beginning_offsets(tps)
    eo = consumer.end_offsets(tps)
    require(bo == {tp: 0 for tp in tps}, "beginning_offsets", {tp: 0 for tp in tps}, bo)
    want_eo = {tp: len(expected[tp.partition]) for tp in tps}
    require(eo == want_eo, "end_offsets = records produced per partition", want_eo, eo)
    step(f"beginning_offsets all 0; end_offsets {[eo[tp] for tp in tps]}")

    # ---------------- consume everything back ----------------
    consumer.seek_to_beginning()
    got = read_all(consumer, tps, eo, "consume all (assign + seek_to_beginning)")
    ts_by_off = {(md.partition, md.offset): md.timestamp for md, _ in metas}
    for tp in tps:
        check_partition(got[tp], expected[tp.partition], 0, f"consume partition {tp.partition}")
        for r in got[tp]:
            require(r.timestamp_type == 0 and r.timestamp == ts_by_off[(tp.partition, r.offset)],
                    f"consume partition {tp.partition} offset {r.offset}: CreateTime as the producer reported",
                    (0, ts_by_off[(tp.partition, r.offset)]), (r.timestamp_type, r.timestamp))
    consumer.close()
    step(f"consumed all {sum(len(v) for v in got.values())} records back: content, keys, headers, order, "
         f"timestamps; nothing missing or duplicated")

    # the same with tiny fetch sizes (many partial fetches)
    small = KafkaConsumer(bootstrap_servers=BOOT, group_id=None, enable_auto_commit=False, fetch_max_wait_ms=100,
                          max_partition_fetch_bytes=256, fetch_max_bytes=512, request_timeout_ms=11000)
    small.assign(tps)
    small.seek_to_beginning()
    got = read_all(small, tps, eo, "consume all with max_partition_fetch_bytes=256")
    for tp in tps:
        check_partition(got[tp], expected[tp.partition], 0, f"small-fetch consume partition {tp.partition}")
    # and from an offset in the middle
    small.seek(tps[0], 7)
    mid = read_all(small, [tps[0]], {tps[0]: eo[tps[0]]}, "consume partition 0 from offset 7")
    check_partition(mid[tps[0]], expected[0][7:], 7, "consume partition 0 from offset 7")
    small.close()
    step("consumed again with 256-byte partition fetches, and from a middle offset: identical")

    # ---------------- offsets_for_times ----------------
    # Explicit CreateTime timestamps make the expectations exact. Offsets 0, 1, 2 are three
    # separate sends (three batches); offsets 3, 4, 5 are sent together in one batch.
    tsp = TopicPartition(ts_topic, 0)
    base = (int(time.time() * 1000) // 1000) * 1000 - 60_000
    single = [base, base + 10, base + 20]
    for t in single:
        md = producer.send(ts_topic, key=b"t", value=str(t).encode(), timestamp_ms=t).get(timeout=10)
        require(md.partition == 0, "timestamped send", 0, md.partition)
        producer.flush(timeout=10)
    batcher = KafkaProducer(bootstrap_servers=BOOT, acks="all", linger_ms=10_000, batch_size=1 << 20,
                            request_timeout_ms=10000, max_block_ms=10000)
    together = [base + 100, base + 110, base + 120]
    futs = [batcher.send(ts_topic, key=b"t", value=str(t).encode(), timestamp_ms=t) for t in together]
    batcher.flush(timeout=10)
    offs = [f.get(timeout=10).offset for f in futs]
    require(offs == [3, 4, 5], "batched timestamped sends get offsets 3, 4, 5", [3, 4, 5], offs)
    batcher.close()
    consumer = KafkaConsumer(bootstrap_servers=BOOT, group_id=None, enable_auto_commit=False,
                             request_timeout_ms=11000, fetch_max_wait_ms=100)
    consumer.assign([tsp])
    consumer.seek_to_beginning()
    recs = read_all(consumer, [tsp], {tsp: 6}, "consume the timestamp topic")[tsp]
    got_ts = [r.timestamp for r in recs]
    require(got_ts == single + together, "timestamps stored as sent", single + together, got_ts)

    def oft(ts):
        r = consumer.offsets_for_times({tsp: ts})[tsp]
        return None if r is None else (r.offset, r.timestamp)

    cases = [
        (base, (0, base), "exactly the first record's timestamp"),
        (base - 1000, (0, base), "before every record"),
        (base + 5, (1, base + 10), "between two separate sends"),
        (base + 10, (1, base + 10), "exactly a later record's timestamp"),
        (base + 15, (2, base + 20), "between two separate sends"),
        (base + 21, (3, base + 100), "between the single sends and the batch"),
        (base + 120, (5, base + 120), "the last record's timestamp"),
        (base + 121, None, "after the last record's timestamp (Kafka: no offset, so None)"),
        (int(time.time() * 1000) + 3_600_000, None, "an hour in the future (Kafka: None)"),
        # Kafka answers with the first *record* at or after the timestamp, even inside a batch,
        # and with that record's own timestamp.
        (base + 100, (3, base + 100), "the first record of a 3-record batch (its own timestamp)"),
        (base + 105, (4, base + 110), "inside a 3-record batch"),
        (base + 110, (4, base + 110), "the middle record of a 3-record batch"),
    ]
    for ts, want, why in cases:
        found = oft(ts)
        expect(found == want, f"offsets_for_times({ts} = base+{ts - base}; base={base}): {why}", want, found)
    step("offsets_for_times: first offset at or after the timestamp, with that record's timestamp; "
         "None after the last record")
    consumer.close()
    producer.close()

    # ---------------- commit / committed with a group id, assigned partitions ----------------
    # kafka-python sends OffsetCommit with generation -1 / member "" for hand-assigned
    # partitions, so this needs FindCoordinator + OffsetCommit + OffsetFetch, no JoinGroup.
    c = KafkaConsumer(bootstrap_servers=BOOT, group_id=group, enable_auto_commit=False, request_timeout_ms=11000,
                      fetch_max_wait_ms=100)
    c.assign(tps)
    before = {tp: c.committed(tp) for tp in tps}
    require(before == {tp: None for tp in tps}, "committed() before any commit", {tp: None for tp in tps}, before)
    c.commit({tps[0]: OffsetAndMetadata(3, "meta-zero"), tps[1]: OffsetAndMetadata(eo[tps[1]], "")})
    after = {tp: c.committed(tp) for tp in tps}
    want = {tps[0]: 3, tps[1]: eo[tps[1]], tps[2]: None}
    require(after == want, "committed() after commit(offsets)", want, after)
    # the admin's view of the group (OffsetFetch with all topics)
    lo = admin.list_consumer_group_offsets(group)
    lo_view = {tp: (om.offset, om.metadata) for tp, om in lo.items()}
    want_lo = {tps[0]: (3, "meta-zero"), tps[1]: (eo[tps[1]], "")}
    expect(lo_view == want_lo, "admin list_consumer_group_offsets (offset, metadata)", want_lo, lo_view)
    c.close(autocommit=False)

    # a new consumer of the group starts where the group committed
    c2 = KafkaConsumer(bootstrap_servers=BOOT, group_id=group, enable_auto_commit=False, request_timeout_ms=11000,
                       fetch_max_wait_ms=100, auto_offset_reset="earliest")
    c2.assign([tps[0]])
    pos = c2.position(tps[0])
    require(pos == 3, "a new consumer of the group starts at the committed offset", 3, pos)
    rest = read_all(c2, [tps[0]], {tps[0]: eo[tps[0]]}, "consume partition 0 from the committed offset")
    check_partition(rest[tps[0]], expected[0][3:], 3, "consume partition 0 from the committed offset")
    c2.commit()  # commit the consumed position
    got_c = c2.committed(tps[0])
    require(got_c == eo[tps[0]], "commit() with no arguments commits the consumed position", eo[tps[0]], got_c)
    c2.close(autocommit=False)
    step("commit/committed for a group on assigned partitions; a new group consumer resumes at the commit")

    # ---------------- delete ----------------
    resp = admin.delete_topics([topic, ts_topic, cfg_topic], timeout_ms=10000)
    errs = sorted((t[0], t[1]) for t in resp.topic_error_codes)
    require(errs == sorted([(topic, 0), (ts_topic, 0), (cfg_topic, 0)]), "DeleteTopics results",
            sorted([(topic, 0), (ts_topic, 0), (cfg_topic, 0)]), errs)
    wait_for(lambda: not ({topic, ts_topic, cfg_topic} & set(admin.list_topics())),
             "deleted topics vanish from list_topics")
    try:
        admin.delete_topics([topic], timeout_ms=10000)
        expect(False, "delete_topics of a deleted topic", "UnknownTopicOrPartitionError", "no error")
    except UnknownTopicOrPartitionError:
        pass
    # the name can be used again, and the new topic is empty
    admin.create_topics([NewTopic(topic, 1, 1)], timeout_ms=10000)
    c = KafkaConsumer(bootstrap_servers=BOOT, group_id=None, request_timeout_ms=11000)
    tp = TopicPartition(topic, 0)
    wait_for(lambda: c.partitions_for_topic(topic) == {0}, "re-created topic has 1 partition in metadata")
    eo2 = c.end_offsets([tp])
    expect(eo2 == {tp: 0}, "a re-created topic starts empty", {tp: 0}, eo2)
    c.close()
    admin.delete_topics([topic], timeout_ms=10000)
    admin.close()
    step("delete_topics: gone from list_topics; deleting again: UnknownTopicOrPartitionError; "
         "name reusable, re-created topic empty")


if __name__ == "__main__":
    BOOT = bootstrap_arg("kafka_python_test.py")
    suffix = uuid.uuid4().hex[:12]
    run("kafka_python_test.py", lambda: main(suffix), f"suffix {suffix}")
