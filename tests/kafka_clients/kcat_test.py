#!/usr/bin/python3
"""Real-client test: drive /usr/bin/kcat (librdkafka) against a running sentryd.

Usage: kcat_test.py BOOTSTRAP TMPDIR     e.g. kcat_test.py 127.0.0.1:29092 /tmp/x
Exit 0 = pass; on failure prints what was expected and what was found, exits 1.

Covers: metadata listing (-L text and -J JSON); producing keyed messages with
headers (-K, -H) to a given partition (-p) and by key (murmur2 partitioner),
with and without compression; consuming from the beginning, from an absolute
offset, from a negative (relative to end) offset, from a timestamp (s@) and up
to a timestamp (e@), with a count (-c), from the end; JSON envelopes (-J) for
null/empty keys; and offset-by-timestamp queries (-Q).

The topic is created with kafka-python's admin client (kcat cannot create
topics). It needs Debian's /usr/bin/python3 (python3-kafka) and /usr/bin/kcat.
"""

import json
import subprocess
import time
import uuid
from ktest import CheckFailed, check, run, bootstrap_arg, step

KCAT = "/usr/bin/kcat"
PARTITIONS = 3
SEP = "\x1f"
# partition, offset, key length, key, value length, value, headers, timestamp
FMT = "%p\\x1f%o\\x1f%K\\x1f%k\\x1f%S\\x1f%s\\x1f%h\\x1f%T\\n"
CMD_TIMEOUT_S = 20
# kcat -e exits on the first empty fetch at the high watermark, which the broker holds for
# fetch.wait.max.ms (librdkafka default 500): shorten it so the many consumes stay quick.
FAST_EOF = "fetch.wait.max.ms=50"


def kcat(args, stdin=None, what=""):
    cmd = [KCAT, "-b", BOOT] + args
    try:
        p = subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=CMD_TIMEOUT_S)
    except subprocess.TimeoutExpired as e:
        raise CheckFailed(f"{what}: kcat did not finish within {CMD_TIMEOUT_S}s\n  command: {cmd}\n"
                          f"  stdout so far: {e.stdout!r}\n  stderr so far: {e.stderr!r}")
    if p.returncode != 0:
        raise CheckFailed(f"{what}: kcat exited {p.returncode}\n  command: {cmd}\n"
                          f"  stdout: {p.stdout!r}\n  stderr: {p.stderr!r}")
    return p


def produce(args, lines, what):
    p = kcat(["-P", "-t", TOPIC, "-K", ":"] + args, stdin="".join(l + "\n" for l in lines), what=what)
    # kcat reports delivery failures on stderr ("% Delivery failed ...", "% ERROR: ...").
    check("fail" not in p.stderr.lower() and "error" not in p.stderr.lower(),
          f"{what}: kcat producer stderr has no errors", "", p.stderr)


def parse_fmt(out, what):
    recs = []
    for line in out.splitlines():
        if not line:
            continue
        f = line.split(SEP)
        check(len(f) == 8, f"{what}: formatted line has 8 fields", 8, line)
        p, o, klen, k, vlen, v, h, ts = f
        key = None if int(klen) == -1 else k
        val = None if int(vlen) == -1 else v
        check(key is None or len(key) == int(klen), f"{what}: %K matches %k", len(key or ""), klen)
        headers = [tuple(x.split("=", 1)) for x in h.split(",")] if h else []
        recs.append({"p": int(p), "o": int(o), "k": key, "v": val, "h": headers, "ts": int(ts)})
    return recs


def consume(args, what):
    p = kcat(["-C", "-t", TOPIC, "-q", "-e", "-X", FAST_EOF, "-f", FMT] + args, what=what)
    return parse_fmt(p.stdout, what)


def by_partition(recs):
    out = {}
    for r in recs:
        out.setdefault(r["p"], []).append(r)
    return out


def check_records(found, expected_by_part, first_offsets, what):
    """found: records from kcat. expected_by_part: {partition: [(key, value, headers)]} in order.
    first_offsets: {partition: offset of the first expected record}. Checks exact content,
    order within each partition, contiguous offsets, nothing duplicated or missing."""
    got = by_partition(found)
    parts_expected = {p for p, l in expected_by_part.items() if l}
    check(set(got) == parts_expected, f"{what}: partitions that returned records",
          sorted(parts_expected), sorted(got))
    for p, exp in expected_by_part.items():
        recs = got.get(p, [])
        offsets = [r["o"] for r in recs]
        want_offsets = list(range(first_offsets.get(p, 0), first_offsets.get(p, 0) + len(exp)))
        check(offsets == want_offsets, f"{what}: partition {p} offsets (in order, no gaps or duplicates)",
              want_offsets, offsets)
        content = [(r["k"], r["v"], r["h"]) for r in recs]
        check(content == exp, f"{what}: partition {p} records (key, value, headers) in order", exp, content)


def murmur2_partition(key, n):
    from kafka.partitioner.default import murmur2
    return (murmur2(key.encode()) & 0x7FFFFFFF) % n


def create_topic():
    from kafka.admin import KafkaAdminClient, NewTopic
    admin = KafkaAdminClient(bootstrap_servers=BOOT, client_id="kcat-test-admin", request_timeout_ms=10000)
    try:
        resp = admin.create_topics([NewTopic(TOPIC, PARTITIONS, 1)], timeout_ms=10000)
        errs = [(t[0], t[1]) for t in resp.topic_errors]
        check(errs == [(TOPIC, 0)], "CreateTopics result", [(TOPIC, 0)], errs)
    finally:
        admin.close()


def wait_metadata():
    """Poll kcat -L -J until the topic shows all partitions with a leader (deadline 10s)."""
    deadline = time.monotonic() + 10
    last = None
    while True:
        p = kcat(["-L", "-J", "-t", TOPIC], what="metadata -L -J")
        md = json.loads(p.stdout)
        topics = [t for t in md.get("topics", []) if t.get("topic") == TOPIC]
        last = md
        if topics and not topics[0].get("error") and len(topics[0].get("partitions", [])) == PARTITIONS:
            return md
        if time.monotonic() > deadline:
            raise CheckFailed(f"topic {TOPIC} did not appear with {PARTITIONS} partitions in metadata; last: {last}")
        time.sleep(0.05)


def main():
    create_topic()
    step(f"created topic {TOPIC} with {PARTITIONS} partitions via kafka-python admin")

    # --- metadata, JSON ---
    md = wait_metadata()
    brokers = md["brokers"]
    check(len(brokers) == 1 and brokers[0]["name"] == BOOT, "metadata -J: one broker, advertised as the bootstrap",
          [{"id": "<any>", "name": BOOT}], brokers)
    bid = brokers[0]["id"]
    check(md.get("controllerid") == bid, "metadata -J: controller is the one broker", bid, md.get("controllerid"))
    t = [t for t in md["topics"] if t["topic"] == TOPIC][0]
    parts = sorted(t["partitions"], key=lambda x: x["partition"])
    check([x["partition"] for x in parts] == list(range(PARTITIONS)), "metadata -J: partition ids",
          list(range(PARTITIONS)), [x["partition"] for x in parts])
    for x in parts:
        check(x["leader"] == bid and x["replicas"] == [{"id": bid}] and x["isrs"] == [{"id": bid}],
              f"metadata -J: partition {x['partition']} leader/replicas/isrs",
              {"leader": bid, "replicas": [{"id": bid}], "isrs": [{"id": bid}]}, x)
    step("metadata -L -J shows the topic, its 3 partitions, leader/replicas/isr = the broker")

    # --- metadata, text, all topics ---
    out = kcat(["-L"], what="metadata -L").stdout
    check(f'topic "{TOPIC}" with {PARTITIONS} partitions:' in out, "metadata -L (all topics) lists the topic",
          f'topic "{TOPIC}" with {PARTITIONS} partitions:', out)
    check(f"broker {bid} at {BOOT}" in out, "metadata -L lists the broker", f"broker {bid} at {BOOT}", out)
    lines = out.splitlines()
    i = [n for n, l in enumerate(lines) if f'topic "{TOPIC}"' in l][0]
    plines = [l.strip() for l in lines[i + 1:i + 1 + PARTITIONS]]
    want = [f"partition {p}, leader {bid}, replicas: {bid}, isrs: {bid}" for p in range(PARTITIONS)]
    check(plines == want, "metadata -L partition lines", want, plines)
    step("metadata -L (text, all topics) shows the topic and its partitions")

    expected = {p: [] for p in range(PARTITIONS)}

    # --- A: partition 0, keyed, two headers; null key, empty key, empty value, ':' in value ---
    hdr_a = [("trace", "alpha"), ("origin", "kcat-test")]
    a_lines = ["k0:v0", "k1:value with spaces", "k2:a:b:c", "no-delimiter-line", ":empty-key", "k5:"]
    a_recs = [("k0", "v0"), ("k1", "value with spaces"), ("k2", "a:b:c"), (None, "no-delimiter-line"),
              ("", "empty-key"), ("k5", "")]
    produce(["-p", "0", "-H", "trace=alpha", "-H", "origin=kcat-test"], a_lines, "produce A (partition 0)")
    expected[0] += [(k, v, hdr_a) for k, v in a_recs]
    step("produced A: 6 keyed messages with 2 headers to partition 0")

    # --- B: partition 1, a repeated header name (order must be kept), snappy ---
    b_lines = [f"b{i}:val-{i}" for i in range(4)]
    produce(["-p", "1", "-z", "snappy", "-H", "multi=1", "-H", "multi=2"], b_lines, "produce B (partition 1)")
    expected[1] += [(f"b{i}", f"val-{i}", [("multi", "1"), ("multi", "2")]) for i in range(4)]
    step("produced B: 4 messages with a repeated header name to partition 1 (snappy)")

    # --- C: by key with the murmur2 partitioner (Java client compatible), gzip ---
    keys = ["apple", "banana", "cherry", "date", "elderberry", "fig", "grape", "honeydew"]
    c_lines, c_exp = [], []
    for rnd in range(3):
        for k in keys:
            c_lines.append(f"{k}:{k}-{rnd}")
            c_exp.append((murmur2_partition(k, PARTITIONS), k, f"{k}-{rnd}"))
    check(len({p for p, _, _ in c_exp}) == PARTITIONS, "test setup: keys cover every partition",
          PARTITIONS, len({p for p, _, _ in c_exp}))
    produce(["-z", "gzip", "-X", "partitioner=murmur2_random", "-H", "src=bykey"], c_lines, "produce C (by key)")
    for p, k, v in c_exp:
        expected[p].append((k, v, [("src", "bykey")]))
    step(f"produced C: {len(c_lines)} messages by key (murmur2), gzip")

    # --- everything so far, from the beginning ---
    recs = consume(["-o", "beginning"], "consume -o beginning (after A, B, C)")
    check_records(recs, expected, {}, "consume -o beginning (after A, B, C)")
    for r in recs:
        check(r["ts"] > 0, "record timestamps are set (CreateTime)", "> 0", r)
    max_ts_before = max(r["ts"] for r in recs)
    step(f"consume -o beginning -e: {len(recs)} records, exact content, keys, headers and order per partition")

    # --- D: partition 0 after a timestamp boundary, lz4 ---
    # Wait (bounded) until the wall clock is past every timestamp so far, so D's timestamps
    # are strictly greater than everything before.
    deadline = time.monotonic() + 5
    while time.time() * 1000 <= max_ts_before + 1:
        check(time.monotonic() < deadline, "wall clock passes the last record timestamp", f"> {max_ts_before}",
              int(time.time() * 1000))
        time.sleep(0.001)
    boundary = max_ts_before + 1
    d_lines = [f"late{i}:L{i}" for i in range(3)]
    produce(["-p", "0", "-z", "lz4", "-H", "phase=late"], d_lines, "produce D (partition 0, after boundary)")
    d_first = len(expected[0])
    d_exp = [(f"late{i}", f"L{i}", [("phase", "late")]) for i in range(3)]
    expected[0] += d_exp
    step("produced D: 3 messages to partition 0 after a timestamp boundary (lz4)")

    recs = consume(["-o", "beginning"], "consume -o beginning (after D)")
    check_records(recs, expected, {}, "consume -o beginning (after D)")
    d_ts = [r["ts"] for r in recs if r["p"] == 0 and r["o"] >= d_first]
    check(min(d_ts) >= boundary, "D's timestamps are after the boundary", f">= {boundary}", d_ts)
    step(f"consume -o beginning -e again: all {len(recs)} records")

    # --- JSON envelopes: null vs empty key, headers as a list, timestamp type ---
    out = kcat(["-C", "-t", TOPIC, "-p", "0", "-o", "beginning", "-e", "-q", "-X", FAST_EOF, "-J"],
               what="consume -J").stdout
    js = [json.loads(l) for l in out.splitlines() if l.strip()]
    check([j["offset"] for j in js] == list(range(len(expected[0]))), "consume -J partition 0 offsets",
          list(range(len(expected[0]))), [j["offset"] for j in js])
    for j, (k, v, h) in zip(js, expected[0]):
        flat = [x for kv in h for x in kv]
        got = (j.get("key"), j.get("payload"), j.get("headers"), j.get("tstype"), j.get("topic"), j.get("partition"))
        check(got == (k, v, flat, "create", TOPIC, 0), f"consume -J record at offset {j['offset']}",
              (k, v, flat, "create", TOPIC, 0), got)
    step("consume -J: null key is null, empty key is \"\", headers and CreateTime as sent")

    # --- absolute offset ---
    recs = consume(["-p", "0", "-o", "2"], "consume -p 0 -o 2")
    check_records(recs, {0: expected[0][2:]}, {0: 2}, "consume -p 0 -o 2 (absolute)")
    recs = consume(["-p", "1", "-o", "3"], "consume -p 1 -o 3")
    check_records(recs, {1: expected[1][3:]}, {1: 3}, "consume -p 1 -o 3 (absolute)")
    step("consume from an absolute offset returns exactly the tail from that offset")

    # --- negative offset, relative to the end ---
    for p, n in ((0, 2), (1, 3), (2, 1)):
        recs = consume(["-p", str(p), "-o", f"-{n}"], f"consume -p {p} -o -{n}")
        first = len(expected[p]) - n
        check_records(recs, {p: expected[p][first:]}, {p: first}, f"consume -p {p} -o -{n} (relative to end)")
    # all partitions at once: the last 2 of each
    recs = consume(["-o", "-2"], "consume -o -2 (all partitions)")
    check_records(recs, {p: expected[p][-2:] for p in expected}, {p: len(expected[p]) - 2 for p in expected},
                  "consume -o -2 (all partitions)")
    step("consume from a negative offset returns exactly the last N per partition")

    # --- count limit, end ---
    p = kcat(["-C", "-t", TOPIC, "-p", "1", "-o", "beginning", "-c", "2", "-q", "-f", FMT], what="consume -c 2")
    check_records(parse_fmt(p.stdout, "consume -c 2"), {1: expected[1][:2]}, {1: 0}, "consume -p 1 -c 2")
    recs = consume(["-o", "end"], "consume -o end")
    check(recs == [], "consume -o end -e returns nothing", [], recs)
    step("consume -c 2 returns the first two; -o end returns nothing")

    # --- timestamps ---
    recs = consume(["-p", "0", "-o", f"s@{boundary}"], f"consume -p 0 -o s@{boundary}")
    check_records(recs, {0: d_exp}, {0: d_first}, f"consume -p 0 -o s@{boundary} (timestamp between A..C and D)")
    recs = consume(["-o", f"s@{boundary}"], f"consume -o s@{boundary} (all partitions)")
    check_records(recs, {0: d_exp, 1: [], 2: []}, {0: d_first},
                  f"consume -o s@{boundary} (all partitions; only partition 0 has records after it)")
    recs = consume(["-p", "0", "-o", f"s@{min(d_ts)}"], f"consume -p 0 -o s@{min(d_ts)}")
    check_records(recs, {0: d_exp}, {0: d_first}, "consume -p 0 -o s@<first D timestamp> (exact match)")
    recs = consume(["-p", "0", "-o", "beginning", "-o", f"e@{boundary}"], f"consume -p 0 -o e@{boundary}")
    check_records(recs, {0: expected[0][:d_first]}, {0: 0}, f"consume -p 0 -o beginning -o e@{boundary}")
    recs = consume(["-p", "0", "-o", "s@0"], "consume -p 0 -o s@0")
    check_records(recs, {0: expected[0]}, {0: 0}, "consume -p 0 -o s@0 (before everything)")
    step("consume from a timestamp (s@) and up to a timestamp (e@) returns exactly the right records")

    # -Q: offsets for times. A timestamp with no record at or after it gives -1 (as Kafka).
    q = kcat(["-Q", "-t", f"{TOPIC}:0:{boundary}", "-t", f"{TOPIC}:1:0", "-t", f"{TOPIC}:2:{boundary}"],
             what="query -Q").stdout
    got = sorted(l.strip() for l in q.splitlines() if l.strip())
    want = sorted([f"{TOPIC} [0] offset {d_first}", f"{TOPIC} [1] offset 0", f"{TOPIC} [2] offset -1"])
    check(got == want, "query -Q offsets for times (partition 2 has no record at or after the timestamp: -1)",
          want, got)
    step("query -Q offsets for times")


if __name__ == "__main__":
    BOOT = bootstrap_arg("kcat_test.py")
    TOPIC = f"kcat-test-{uuid.uuid4().hex[:12]}"
    run("kcat_test.py", main, f"topic {TOPIC}")
