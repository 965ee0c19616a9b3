#!/usr/bin/python3
"""Real-client test: consumer groups with kafka-python (Debian python3-kafka, 2.0.2) against a
running sentryd.

Usage: groups_kafka_python_test.py BOOTSTRAP TMPDIR     e.g. groups_kafka_python_test.py 127.0.0.1:29092 /tmp/x
Exit 0 = pass; on failure prints what was expected and what was found, exits 1.

Covers Kafka's classic group protocol as kafka-python speaks it (it takes the
broker for >= 0.11 and sends FindCoordinator v0, JoinGroup v2, SyncGroup v1,
Heartbeat v1, LeaveGroup v1, OffsetCommit v2, OffsetFetch v1; its admin client
sends ListGroups v2, DescribeGroups v3 and OffsetFetch v3):

- two KafkaConsumers of one fresh group subscribe() to a 6-partition topic;
  the group settles with disjoint assignments that together cover all 6
  partitions (range assignor: 0-2 and 3-5);
- the admin client lists the group (protocol type "consumer") and describes
  it: Stable, protocol "range", two members whose decoded assignments are the
  ones the consumers hold;
- 300 keyed records (acks=all, every future checked) are consumed, each
  consumer only from its own partitions, and every poll batch is committed
  with explicit offsets (commit(offsets={tp: OffsetAndMetadata(next, None)}))
  before it counts as processed;
- 300 more records; consumer A processes some of its share, then close()s
  (LeaveGroup); B must revoke and get all 6 partitions within the session
  timeout + 3 s (LeaveGroup makes it much faster), starting A's partitions at
  A's committed offsets; B processes the rest;
- across both consumers every one of the 600 records was processed (and
  committed) exactly once, with the content it was produced with; the admin's
  list_consumer_group_offsets equals the last commits (null metadata reads
  back as "", as in Kafka);
- B closes: the group is Empty with no members; 10 new records are produced
  and a third consumer of the group reads exactly those 10 (it starts at the
  committed offsets, not at auto_offset_reset='earliest').

kafka-python's poll() blocks in JoinGroup until the rebalance completes, so
two consumers polled alternately from one thread would deadlock a rebalance
(the second's JoinGroup waits for the first to rejoin, which it cannot do
while the thread is blocked) until the rebalance timeout. Each consumer is
therefore used by exactly one thread of its own (a KafkaConsumer must not be
shared between threads; one per thread is fine). The main thread only reads
what the consumer threads publish under a lock.

Needs Debian's /usr/bin/python3 (python3-kafka).
"""

import threading
import time
import traceback
import uuid

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import KafkaAdminClient, NewTopic
from kafka.consumer.subscription_state import ConsumerRebalanceListener
from kafka.errors import CommitFailedError
from kafka.structs import OffsetAndMetadata
from ktest import CheckFailed, expect, fmt, require, run, bootstrap_arg, step, wait_for, T0

PARTITIONS = 6
ALL = set(range(PARTITIONS))
PHASE = 300  # records per produce phase; two phases
SESSION_MS = 6000
HEARTBEAT_MS = 1000
A_SHARE = 30  # phase-2 records A processes before it closes (a poll batch may take it a little further)

LOCK = threading.Lock()


class Listener(ConsumerRebalanceListener):
    """Records the rebalance callbacks of one consumer (called on its own thread)."""

    def __init__(self, owner):
        self.owner = owner

    def on_partitions_revoked(self, revoked):
        with LOCK:
            self.owner.events.append((time.monotonic(), "revoked", sorted(tp.partition for tp in revoked)))

    def on_partitions_assigned(self, assigned):
        with LOCK:
            self.owner.events.append((time.monotonic(), "assigned", sorted(tp.partition for tp in assigned)))


class GroupConsumer(threading.Thread):
    """One KafkaConsumer of the group, used only by this thread. Each poll batch is processed
    and then committed with explicit offsets; only batches whose commit succeeded count as
    processed (a batch whose commit fails will be delivered again to the partition's next
    owner, from the committed offset)."""

    def __init__(self, name, topic, group):
        super().__init__(name=name, daemon=True)
        self.cname = name
        self.topic = topic
        self.group = group
        self.stop_evt = threading.Event()
        self.limit = None  # stop polling once this many records were processed
        # published under LOCK:
        self.assignment = None  # partitions held after the last poll
        self.generation = None
        self.events = []  # (time, "assigned"/"revoked", [partitions])
        self.processed = []  # (partition, offset, key, value), committed
        self.commits = []  # (time, {partition: offset})
        self.failed_commits = []
        self.error = None
        self.close_started = None
        self.closed_at = None

    def n_processed(self):
        with LOCK:
            return len(self.processed)

    def run(self):
        try:
            c = KafkaConsumer(bootstrap_servers=BOOT, group_id=self.group, client_id=self.cname,
                              enable_auto_commit=False, auto_offset_reset="earliest",
                              session_timeout_ms=SESSION_MS, heartbeat_interval_ms=HEARTBEAT_MS,
                              max_poll_interval_ms=10000, request_timeout_ms=15000, fetch_max_wait_ms=100,
                              max_poll_records=20)
            c.subscribe([self.topic], listener=Listener(self))
            while not self.stop_evt.is_set():
                if self.limit is not None and self.n_processed() >= self.limit:
                    # paused: the heartbeat thread keeps the membership alive
                    self.stop_evt.wait(0.02)
                    continue
                batch = c.poll(timeout_ms=100)
                gen = c._coordinator.generation()  # private; for diagnostics and the stability check
                with LOCK:
                    self.assignment = {tp.partition for tp in c.assignment()}
                    self.generation = gen.generation_id if gen is not None else None
                if not batch:
                    continue
                offsets = {tp: OffsetAndMetadata(recs[-1].offset + 1, None) for tp, recs in batch.items()}
                try:
                    c.commit(offsets)
                except CommitFailedError as e:
                    with LOCK:
                        self.failed_commits.append(
                            (round(time.monotonic() - T0, 2), {tp.partition: o.offset for tp, o in offsets.items()},
                             repr(e)))
                    continue
                with LOCK:
                    for tp, recs in batch.items():
                        require(tp.topic == self.topic, f"{self.cname}: records of the subscribed topic",
                                self.topic, tp.topic)
                        for r in recs:
                            self.processed.append((tp.partition, r.offset, r.key, r.value))
                    self.commits.append((time.monotonic(), {tp.partition: o.offset for tp, o in offsets.items()}))
            self.close_started = time.monotonic()
            c.close(autocommit=False)
            self.closed_at = time.monotonic()
        except Exception:  # noqa: BLE001 - reported by the main thread
            self.error = traceback.format_exc()

    def snapshot(self):
        with LOCK:
            return (None if self.assignment is None else set(self.assignment), self.generation)


def diag(*consumers):
    """What the consumers have done so far, for a timeout message."""
    out = []
    with LOCK:
        for c in consumers:
            out.append(f"{c.cname}: holds {None if c.assignment is None else sorted(c.assignment)} "
                       f"(generation {c.generation}), processed {len(c.processed)}, "
                       f"commits {len(c.commits)}, failed commits {c.failed_commits[:3]}, "
                       f"callbacks {[(round(t - T0, 2), k, p) for t, k, p in c.events][-6:]}")
    return "; ".join(out)


def wait_consumers(consumers, cond, what, timeout_s):
    """wait_for(cond) while checking the consumer threads; a timeout says what they did."""
    try:
        return wait_for(lambda: (check_threads(consumers) or True) and cond(), what, timeout_s)
    except CheckFailed as e:
        raise CheckFailed(f"{e}\n  consumers: {diag(*consumers)}")


def check_threads(consumers):
    for c in consumers:
        if c.error:
            raise CheckFailed(f"consumer {c.cname} raised:\n{c.error}")


def stop_and_join(c, what, timeout_s=10):
    c.stop_evt.set()
    c.join(timeout_s)
    require(not c.is_alive(), f"{what}: {c.cname} closes within {timeout_s}s", "closed", "still running")
    check_threads([c])


def describe(admin, group):
    """describe_consumer_groups([group])[0]. kafka-python cannot decode a member without an
    assignment (a group that is not Stable): that raises, and the caller retries."""
    return admin.describe_consumer_groups([group])[0]


def describe_when(admin, group, state, n_members, what, timeout_s=5):
    last = [None]

    def attempt():
        try:
            d = describe(admin, group)
        except Exception as e:  # noqa: BLE001 - not Stable yet (see describe); try again
            last[0] = repr(e)
            return None
        last[0] = d
        return d if d.state == state and len(d.members) == n_members else None

    try:
        return wait_for(attempt, what, timeout_s=timeout_s, interval_s=0.1)
    except CheckFailed:
        raise CheckFailed(fmt(f"{what}: describe_consumer_groups within {timeout_s}s",
                              f"state {state}, {n_members} member(s)", last[0]))


def member_partitions(m, topic):
    a = m.member_assignment
    return sorted(tp.partition for tp in a.partitions() if tp.topic == topic) if a else None


def main(suffix):
    topic = f"kpg-test-{suffix}"
    group = f"kpg-group-{suffix}"
    admin = KafkaAdminClient(bootstrap_servers=BOOT, client_id="kpg-test-admin", request_timeout_ms=10000)

    resp = admin.create_topics([NewTopic(topic, PARTITIONS, 1)], timeout_ms=10000)
    errs = [(t[0], t[1]) for t in resp.topic_errors]
    require(errs == [(topic, 0)], "CreateTopics result", [(topic, 0)], errs)
    wait_for(lambda: topic in admin.list_topics(), "list_topics shows the created topic")
    producer = KafkaProducer(bootstrap_servers=BOOT, acks="all", client_id="kpg-test-producer", linger_ms=5,
                             request_timeout_ms=10000, max_block_ms=10000)
    wait_for(lambda: producer.partitions_for(topic) == ALL, "producer sees the topic's 6 partitions")
    step(f"created {topic} ({PARTITIONS} partitions)")

    expected = {}  # (partition, offset) -> (key, value)
    end = {p: 0 for p in ALL}

    def produce(first, n, what):
        futs = []
        for i in range(first, first + n):
            k = f"k{i % 60:02d}".encode()
            v = f"value-{i:04d}-{suffix}".encode()
            futs.append((producer.send(topic, key=k, value=v), k, v))
        got = {p: [] for p in ALL}
        for f, k, v in futs:
            try:
                md = f.get(timeout=10)
            except Exception as e:  # noqa: BLE001 - any client error is a failure
                raise CheckFailed(f"{what}: produce future for key {k!r} failed: {e!r}")
            got[md.partition].append(md.offset)
            expected[(md.partition, md.offset)] = (k, v)
        for p in ALL:
            want = list(range(end[p], end[p] + len(got[p])))
            require(got[p] == want, f"{what}: partition {p} offsets contiguous after the previous end", want, got[p])
            end[p] += len(got[p])
        return {p: len(got[p]) for p in ALL}

    # ---------------- two members settle ----------------
    a = GroupConsumer("kpg-a", topic, group)
    b = GroupConsumer("kpg-b", topic, group)
    a.start()
    b.start()

    def settled():
        (sa, ga), (sb, gb) = a.snapshot(), b.snapshot()
        return (sa, sb) if sa and sb and not (sa & sb) and sa | sb == ALL and ga == gb else None

    sa, sb = wait_consumers([a, b], settled, "both consumers hold disjoint assignments covering all partitions "
                            "(in one generation)", 20)
    gen = a.snapshot()[1]
    expect(sorted(map(sorted, (sa, sb))) == [[0, 1, 2], [3, 4, 5]],
           "range assignor over 6 partitions and 2 members (both members' subscriptions reached the leader)",
           [[0, 1, 2], [3, 4, 5]], sorted(map(sorted, (sa, sb))))
    step(f"two members settled in generation {gen}: a {sorted(sa)}, b {sorted(sb)}")

    listed = admin.list_consumer_groups()
    expect((group, "consumer") in listed, "list_consumer_groups has the group with protocol type 'consumer'",
           (group, "consumer"), [g for g in listed if g[0] == group])
    d = describe_when(admin, group, "Stable", 2, "the group with both members")
    expect(d.error_code == 0 and d.group == group and d.protocol_type == "consumer" and d.protocol == "range",
           "describe: (error, group, protocol type, protocol)", (0, group, "consumer", "range"),
           (d.error_code, d.group, d.protocol_type, d.protocol))
    by_client = {m.client_id: m for m in d.members}
    expect(sorted(by_client) == ["kpg-a", "kpg-b"], "describe: the members' client ids", ["kpg-a", "kpg-b"],
           sorted(by_client))
    for name, held in (("kpg-a", sa), ("kpg-b", sb)):
        m = by_client.get(name)
        if m is None:
            continue
        expect(member_partitions(m, topic) == sorted(held), f"describe: member {name}'s assignment",
               sorted(held), member_partitions(m, topic))
        md = m.member_metadata
        expect(md is not None and list(md.subscription) == [topic], f"describe: member {name}'s subscription",
               [topic], md and md.subscription)
    expect(len({m.member_id for m in d.members}) == 2 and all(m.member_id for m in d.members),
           "describe: two distinct non-empty member ids", 2, [m.member_id for m in d.members])
    step("list_consumer_groups: the group, type 'consumer'; describe_consumer_groups: Stable, 'range', both "
         "members with the assignments they hold")

    # ---------------- phase 1: both consume their own partitions ----------------
    counts = produce(0, PHASE, "phase 1")
    require(all(counts.values()), "test setup: phase 1 records on every partition", "all > 0", counts)
    wait_consumers([a, b], lambda: a.n_processed() + b.n_processed() >= PHASE,
                   f"the two consumers process and commit all {PHASE} phase-1 records", 15)
    with LOCK:
        pa, pb = list(a.processed), list(b.processed)
    expect({r[0] for r in pa} <= sa and {r[0] for r in pb} <= sb,
           "phase 1: each consumer read only its own partitions",
           (sorted(sa), sorted(sb)), (sorted({r[0] for r in pa}), sorted({r[0] for r in pb})))
    expect(len(pa) + len(pb) == PHASE, "phase 1: records processed (nothing twice)", PHASE, len(pa) + len(pb))
    expect(a.snapshot() == (sa, gen) and b.snapshot() == (sb, gen), "phase 1: no rebalance while consuming",
           ((sa, gen), (sb, gen)), (a.snapshot(), b.snapshot()))
    step(f"phase 1: {PHASE} records produced; a processed {len(pa)}, b {len(pb)}, each only from its own "
         f"partitions, every batch committed")

    # ---------------- phase 2: A takes a little, leaves; B takes over ----------------
    a.limit = len(pa) + A_SHARE
    produce(PHASE, PHASE, "phase 2")
    wait_consumers([a, b], lambda: a.n_processed() >= a.limit, f"consumer a processes {A_SHARE} phase-2 records",
                   15)
    with LOCK:
        n_b_events = len(b.events)
    stop_and_join(a, "a.close() (LeaveGroup)")
    a_closed = a.close_started
    a_next = {}  # a's last commit per partition
    for _, offs in a.commits:
        a_next.update(offs)
    a_mid = {p: o for p, o in a_next.items() if p in sa and o < end[p]}
    expect(a_mid, "test setup: a leaves with some partition not read to its end", "some partition",
           {p: (a_next.get(p), end[p]) for p in sa})

    def b_has_all():
        with LOCK:
            ev = b.events[n_b_events:]
        return ev if ev and ev[-1][1] == "assigned" and set(ev[-1][2]) == ALL and b.snapshot()[0] == ALL \
            else None

    limit_s = SESSION_MS / 1000 + 3
    ev = wait_consumers([b], b_has_all, f"b holds all {PARTITIONS} partitions (within the session timeout + 3 s "
                        f"after a's close began)", limit_s - (time.monotonic() - a_closed))
    took = ev[-1][0] - a_closed
    kinds = [(k, p) for _, k, p in ev]
    expect(kinds == [("revoked", sorted(sb)), ("assigned", sorted(ALL))],
           "b's callbacks after a left: its partitions revoked, then all assigned (eager protocol)",
           [("revoked", sorted(sb)), ("assigned", sorted(ALL))], kinds)
    expect(took < SESSION_MS / 1000 - 1, "LeaveGroup rebalances at once, not after a's session timeout",
           f"< {SESSION_MS / 1000 - 1} s", round(took, 2))
    step(f"a processed {a.n_processed() - len(pa)} phase-2 records, committed, closed (LeaveGroup); b revoked "
         f"and got all {PARTITIONS} partitions {took:.2f}s after a's close began; a left partitions mid-way: "
         f"{ {p: f'{o}/{end[p]}' for p, o in a_mid.items()} }")

    total = 2 * PHASE
    wait_consumers([b], lambda: a.n_processed() + b.n_processed() >= total,
                   f"b processes the rest of the {total} records", 15)
    # a little longer: anything read twice would show up now
    deadline = time.monotonic() + 0.5
    while time.monotonic() < deadline:
        check_threads([b])
        time.sleep(0.05)
    with LOCK:
        b_processed = list(b.processed)
        recs = [("kpg-a",) + r for r in a.processed] + [("kpg-b",) + r for r in b_processed]
        failed = list(a.failed_commits) + list(b.failed_commits)
        last_commit = {}
        for c in (a, b):
            for t, offs in c.commits:
                for p, o in offs.items():
                    last_commit.setdefault(p, []).append((t, o))
    seen = {}
    for who, p, off, k, v in recs:
        seen.setdefault((p, off), []).append(who)
    dups = {po: w for po, w in seen.items() if len(w) > 1}
    missing = sorted(po for po in expected if po not in seen)
    extra = sorted(po for po in seen if po not in expected)
    require(not dups and not missing and not extra and len(recs) == total,
            "every record processed (and committed) exactly once across both consumers",
            f"{total} records, none twice", {"processed": len(recs), "duplicated": dict(list(dups.items())[:10]),
                                             "missing": missing[:10], "unknown": extra[:10]})
    bad = [(who, p, off, (k, v), expected[(p, off)]) for who, p, off, k, v in recs if (k, v) != expected[(p, off)]]
    require(not bad, "processed records have the produced key and value", [], bad[:5])
    expect(not failed, "no commit failed (Kafka accepts commits of the current generation while a rebalance is "
           "being prepared)", [], failed)
    # B resumed A's partitions exactly at A's commits
    b_first = {}
    for p, off, _, _ in b_processed:
        if p in sa and p not in b_first:
            b_first[p] = off
    want_first = {p: a_next.get(p, 0) for p in sa if a_next.get(p, 0) < end[p]}
    expect(b_first == want_first, "b starts a's former partitions at a's committed offsets", want_first, b_first)
    step(f"all {total} records processed exactly once (a {sum(1 for r in recs if r[0] == 'kpg-a')}, "
         f"b {sum(1 for r in recs if r[0] == 'kpg-b')}), content as produced; b resumed a's partitions at a's "
         f"commits")

    final = {p: max(last_commit[p])[1] for p in last_commit}
    require(final == end, "test setup: the last commit of every partition is its end offset", end, final)
    lo = admin.list_consumer_group_offsets(group)
    lo_view = {tp.partition: (om.offset, om.metadata) for tp, om in lo.items() if tp.topic == topic}
    want = {p: (end[p], "") for p in ALL}
    expect(lo_view == want, "list_consumer_group_offsets: the last commits (null metadata is stored as '')",
           want, lo_view)
    d = describe_when(admin, group, "Stable", 1, "the group with b alone")
    m = d.members[0]
    expect((m.client_id, member_partitions(m, topic)) == ("kpg-b", sorted(ALL)),
           "describe: b alone holds all partitions", ("kpg-b", sorted(ALL)), (m.client_id, member_partitions(m, topic)))
    step("list_consumer_group_offsets equals the last commits; describe: Stable, b alone with all partitions")

    stop_and_join(b, "b.close()")
    d = describe_when(admin, group, "Empty", 0, "the group after both left")
    expect(d.error_code == 0 and d.members == [], "describe: Empty, no members", (0, []), (d.error_code, d.members))
    step("b closed: the group is Empty with no members")

    # ---------------- a third member resumes at the committed offsets ----------------
    before = dict(end)
    produce(total, 10, "10 more records")
    new = sorted(po for po in expected if po[1] >= before[po[0]])
    require(len(new) == 10, "test setup: 10 new records", 10, len(new))
    c3 = GroupConsumer("kpg-c", topic, group)
    c3.start()
    wait_consumers([c3], lambda: c3.n_processed() >= 10, "a new consumer of the group gets the 10 new records", 15)
    deadline = time.monotonic() + 1.5
    while time.monotonic() < deadline:  # nothing else may arrive
        check_threads([c3])
        time.sleep(0.05)
    with LOCK:
        got = sorted((p, off) for p, off, _, _ in c3.processed)
        content = {(p, off): (k, v) for p, off, k, v in c3.processed}
    require(got == new, "the new consumer reads exactly the 10 records after the committed offsets "
            "(auto_offset_reset='earliest' would give everything)", new, got[:20])
    expect(all(content[po] == expected[po] for po in new), "the 10 records' content", [expected[po] for po in new],
           [content[po] for po in new])
    expect(c3.snapshot()[0] == ALL, "the new consumer alone holds all partitions", ALL, c3.snapshot()[0])
    stop_and_join(c3, "c.close()")
    lo = admin.list_consumer_group_offsets(group)
    lo_view = {tp.partition: om.offset for tp, om in lo.items() if tp.topic == topic}
    expect(lo_view == end, "list_consumer_group_offsets after the third consumer", end, lo_view)
    step("10 new records: a third consumer of the group reads exactly those, from the committed offsets")

    producer.close()
    resp = admin.delete_topics([topic], timeout_ms=10000)
    errs = [(t[0], t[1]) for t in resp.topic_error_codes]
    expect(errs == [(topic, 0)], "DeleteTopics result", [(topic, 0)], errs)
    admin.close()
    step("deleted the topic")


if __name__ == "__main__":
    BOOT = bootstrap_arg("groups_kafka_python_test.py")
    suffix = uuid.uuid4().hex[:12]
    # the consumer threads are daemons; a failure leaves without waiting for their clients
    run("groups_kafka_python_test.py", lambda: main(suffix), f"suffix {suffix}", hard_exit=True)
