#!/usr/bin/python3
"""Real-client test: consumer groups with confluent-kafka (Debian python3-confluent-kafka 1.7.0,
librdkafka 2.0.2) against a running sentryd.

Usage: groups_confluent_test.py BOOTSTRAP TMPDIR     e.g. groups_confluent_test.py 127.0.0.1:29092 /tmp/x
Exit 0 = pass; on failure prints what was expected and what was found, exits 1.
Set KTEST_DEBUG=cgrp,protocol (any librdkafka debug contexts) to get librdkafka's debug log.

Covers Kafka's classic group protocol as librdkafka 2.0.2 speaks it (FindCoordinator
v0-2, JoinGroup v0-5 with MEMBER_ID_REQUIRED from v4, SyncGroup v0-3, Heartbeat v0-3,
LeaveGroup v0-1, OffsetCommit v0-7, OffsetFetch v0-7; AdminClient.list_groups()
sends ListGroups v0 and DescribeGroups v0):

(a) eager rebalancing (librdkafka's default "range,roundrobin"): two consumers of
    a group settle with disjoint assignments covering all 6 partitions (range:
    0-2 and 3-5), each reported by on_assign; one closes (LeaveGroup) and the
    other gets on_revoke, then on_assign with all 6, within the session timeout
    + 3 s (much sooner: LeaveGroup starts the rebalance at once);
(b) cooperative-sticky: a consumer holds all 6; a second joins: the first only
    loses (incremental on_revoke) the partitions the second then gets
    (incremental on_assign), keeps the rest, gets nothing new; 3 and 3; the
    second closes and the first gets exactly its partitions added, nothing
    revoked;
(c) committed offsets: a consumer (enable.auto.commit=false) processes 40 of 90
    records, commit(offsets, asynchronous=False), closes; a new consumer of the
    group resumes exactly after each partition's commit (and at the beginning
    of a partition with no commit: auto.offset.reset=earliest); together every
    record exactly once; commit() of the consumed positions;
(d) AdminClient.list_groups(): a group with two members is Stable, protocol type
    "consumer", protocol "range" (or "cooperative-sticky"), with each member's
    client id, subscription and assignment; a group whose members left (with
    offsets) is Empty with no members;
(e) static membership (KIP-345): a member with group.instance.id closes (librdkafka
    does not send LeaveGroup for it); a new consumer with the same
    group.instance.id joins within the session timeout and gets the same
    partitions back at once, under a new member id, while the other (dynamic)
    member sees no rebalance at all (no on_revoke/on_assign) and keeps its
    member id.
"""

import os
import struct
import time
import uuid

from confluent_kafka import OFFSET_INVALID, Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from ktest import CheckFailed, expect, fmt, require, run, bootstrap_arg, step, wait_for, T0

PARTITIONS = 6
ALL = set(range(PARTITIONS))
SESSION_MS = 6000
STATIC_SESSION_MS = 10000
DEBUG = os.environ.get("KTEST_DEBUG", "")

client_errors = []


def conf(**kw):
    c = {"bootstrap.servers": BOOT, "error_cb": lambda e: client_errors.append(str(e))}
    if DEBUG:
        c["debug"] = DEBUG
    c.update({k.replace("_", "."): v for k, v in kw.items()})
    return c


def future_results(futs):
    out = {}
    for name, f in futs.items():
        try:
            f.result(timeout=15)
            out[name] = None
        except KafkaException as e:
            out[name] = e.args[0].code()
    return out


# ---------------- the consumer protocol's bytes (for list_groups members) ----------------

def _read_str(b, i):
    (n,) = struct.unpack_from(">h", b, i)
    i += 2
    return b[i:i + n].decode(), i + n


def decode_subscription(b):
    """ConsumerProtocolSubscription: version, topics (then user data, owned partitions): the topics."""
    if not b:
        return None
    i = 2
    (n,) = struct.unpack_from(">i", b, i)
    i += 4
    topics = []
    for _ in range(n):
        t, i = _read_str(b, i)
        topics.append(t)
    return topics


def decode_assignment(b):
    """ConsumerProtocolAssignment: version, [topic, [partition]] (then user data): {topic: [partitions]}."""
    if not b:
        return {}
    i = 2
    (n,) = struct.unpack_from(">i", b, i)
    i += 4
    out = {}
    for _ in range(n):
        t, i = _read_str(b, i)
        (np,) = struct.unpack_from(">i", b, i)
        i += 4
        out[t] = sorted(struct.unpack_from(f">{np}i", b, i))
        i += 4 * np
    return out


# ---------------- a group member ----------------

class Member:
    """A subscribed Consumer with its rebalance callbacks recorded. Callbacks run inside
    poll()/close() on this (the only) thread."""

    def __init__(self, name, group, topic, cooperative=False, **kw):
        self.name = name
        self.topic = topic
        self.cooperative = cooperative
        self.events = []  # (time, "assign"/"revoke", [partitions])
        self.held = set()
        self.msgs = []
        self.closed = False
        settings = dict(group_id=group, client_id=name, session_timeout_ms=SESSION_MS, heartbeat_interval_ms=1000,
                        max_poll_interval_ms=15000, enable_auto_commit=False, fetch_wait_max_ms=100)
        if cooperative:
            settings["partition_assignment_strategy"] = "cooperative-sticky"
        settings.update(kw)
        self.consumer = Consumer(conf(**settings))
        self.consumer.subscribe([topic], on_assign=self._on_assign, on_revoke=self._on_revoke)

    def _on_assign(self, consumer, parts):
        ps = sorted(p.partition for p in parts)
        self.events.append((time.monotonic(), "assign", ps))
        self.held = (self.held | set(ps)) if self.cooperative else set(ps)

    def _on_revoke(self, consumer, parts):
        ps = sorted(p.partition for p in parts)
        self.events.append((time.monotonic(), "revoke", ps))
        self.held = (self.held - set(ps)) if self.cooperative else set()

    def poll(self, timeout=0.05):
        m = self.consumer.poll(timeout)
        if m is None:
            return
        if m.error():
            if m.error().code() == KafkaError._PARTITION_EOF:
                return
            raise CheckFailed(f"{self.name}: consumer error {m.error()}")
        self.msgs.append(m)

    def assignment(self):
        return {tp.partition for tp in self.consumer.assignment() if tp.topic == self.topic}

    def close(self):
        if not self.closed:
            self.closed = True
            self.consumer.close()

    def describe(self):
        return (f"{self.name}: holds {sorted(self.held)}, callbacks "
                f"{[(round(t - T0, 2), k, p) for t, k, p in self.events][-6:]}, {len(self.msgs)} messages")


def poll_until(members, cond, what, timeout_s):
    """Poll every member in turn (0.05 s each) until cond() holds. A timeout says what the members did."""
    deadline = time.monotonic() + timeout_s
    while True:
        for m in members:
            m.poll(0.05)
        v = cond()
        if v:
            return v
        if time.monotonic() > deadline:
            raise CheckFailed(f"timed out after {timeout_s:.1f}s waiting for: {what}\n  members: "
                              + "; ".join(m.describe() for m in members))


def poll_for(members, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for m in members:
            m.poll(0.05)


def settled(m1, m2):
    """Both hold non-empty, disjoint assignments covering all partitions, as the client also says."""
    return (m1.held and m2.held and not (m1.held & m2.held) and m1.held | m2.held == ALL
            and m1.assignment() == m1.held and m2.assignment() == m2.held)


def group_info(admin, group, state, n_members, what, timeout_s=5):
    """AdminClient.list_groups(group) until the group is in `state` with n_members members."""
    last = [None]

    def attempt():
        try:
            gl = admin.list_groups(group, timeout=5)
        except KafkaException as e:
            last[0] = repr(e)
            return None
        g = [x for x in gl if x.id == group]
        last[0] = [(x.id, x.error, x.state, x.protocol_type, x.protocol, len(x.members)) for x in gl]
        return g[0] if g and g[0].error is None and g[0].state == state and len(g[0].members) == n_members else None

    try:
        return wait_for(attempt, what, timeout_s=timeout_s, interval_s=0.1)
    except CheckFailed:
        raise CheckFailed(fmt(f"{what}: list_groups({group!r}) within {timeout_s}s",
                              f"state {state}, {n_members} member(s)", last[0]))


def check_members(g, topic, held_by_client, what):
    """The members of a list_groups() GroupMetadata: client ids, subscriptions, assignments."""
    found = {m.client_id: (decode_subscription(m.metadata), decode_assignment(m.assignment).get(topic, []))
             for m in g.members}
    want = {c: ([topic], sorted(h)) for c, h in held_by_client.items()}
    expect(found == want, f"{what}: members (client id: (subscription, assignment))", want, found)
    ids = [m.id for m in g.members]
    expect(len(set(ids)) == len(ids) and all(ids), f"{what}: distinct non-empty member ids", "distinct", ids)
    return {m.client_id: m.id for m in g.members}


def create_topics(admin, specs):
    r = future_results(admin.create_topics([NewTopic(t, n, 1) for t, n in specs], request_timeout=10))
    require(r == {t: None for t, _ in specs}, "create_topics result", {t: None for t, _ in specs}, r)

    def ready():
        md = admin.list_topics(timeout=10)
        return all(t in md.topics and len(md.topics[t].partitions) == n for t, n in specs)

    wait_for(ready, "topics in metadata with all partitions")


# ---------------- (a) eager, (d) list_groups ----------------

def part_eager(admin, topic, group):
    c1 = Member("ckg-e1", group, topic)
    c2 = Member("ckg-e2", group, topic)
    try:
        poll_until([c1, c2], lambda: settled(c1, c2), "two eager members with disjoint assignments covering all "
                   "partitions", 20)
        h1, h2 = set(c1.held), set(c2.held)
        expect(sorted(map(sorted, (h1, h2))) == [[0, 1, 2], [3, 4, 5]],
               "range assignor over 6 partitions and 2 members (both subscriptions reached the leader)",
               [[0, 1, 2], [3, 4, 5]], sorted(map(sorted, (h1, h2))))
        step(f"(a) eager: two members settled: {c1.name} {sorted(h1)}, {c2.name} {sorted(h2)}")

        g = group_info(admin, group, "Stable", 2, "(d) eager group with two members")
        expect((g.protocol_type, g.protocol) == ("consumer", "range"), "(d) list_groups: protocol type, protocol",
               ("consumer", "range"), (g.protocol_type, g.protocol))
        check_members(g, topic, {c1.name: h1, c2.name: h2}, "(d) list_groups")
        step("(d) list_groups: Stable, consumer/range, both members with their subscriptions and assignments")

        n2 = len(c2.events)
        t_close = time.monotonic()
        c1.close()
        limit = SESSION_MS / 1000 + 3
        poll_until([c2], lambda: c2.held == ALL and c2.assignment() == ALL,
                   f"{c2.name} gets all partitions after {c1.name} closed (within the session timeout + 3 s)",
                   limit - (time.monotonic() - t_close))
        ev = c2.events[n2:]
        took = ev[-1][0] - t_close
        kinds = [(k, p) for _, k, p in ev]
        expect(kinds == [("revoke", sorted(h2)), ("assign", sorted(ALL))],
               f"{c2.name}'s callbacks after {c1.name} left: on_revoke of its partitions, then on_assign of all",
               [("revoke", sorted(h2)), ("assign", sorted(ALL))], kinds)
        expect(took < SESSION_MS / 1000 - 1, "LeaveGroup rebalances at once, not after the session timeout",
               f"< {SESSION_MS / 1000 - 1} s", round(took, 2))
        step(f"(a) {c1.name} closed (LeaveGroup): {c2.name} revoked and got all {PARTITIONS} partitions "
             f"in {took:.2f}s")
    finally:
        c1.close()
        c2.close()


# ---------------- (b) cooperative-sticky ----------------

def part_cooperative(admin, topic, group):
    k1 = Member("ckg-c1", group, topic, cooperative=True)
    k2 = None
    try:
        poll_until([k1], lambda: k1.held == ALL and k1.assignment() == ALL, f"{k1.name} alone gets all partitions",
                   15)
        n1 = len(k1.events)
        k2 = Member("ckg-c2", group, topic, cooperative=True)
        poll_until([k1, k2], lambda: settled(k1, k2), "two cooperative members with disjoint assignments covering "
                   "all partitions", 20)
        h1, h2 = set(k1.held), set(k2.held)
        ev1 = [(k, p) for _, k, p in k1.events[n1:] if p]
        ev2 = [(k, p) for _, k, p in k2.events if p]
        revoked1 = {x for k, p in ev1 if k == "revoke" for x in p}
        expect(all(k == "revoke" for k, _ in ev1) and revoked1 == h2,
               f"{k1.name} only gives up (incremental on_revoke) the partitions {k2.name} gets; nothing else moves",
               [("revoke", sorted(h2))], ev1)
        expect(all(k == "assign" for k, _ in ev2) and {x for _, p in ev2 for x in p} == h2,
               f"{k2.name}: only incremental on_assign, of the partitions it holds", [("assign", sorted(h2))], ev2)
        expect(sorted(map(len, (h1, h2))) == [3, 3], "cooperative-sticky balances 6 partitions 3 and 3", [3, 3],
               sorted(map(len, (h1, h2))))
        step(f"(b) cooperative-sticky: {k2.name} joined; {k1.name} kept {sorted(h1)} and incrementally revoked "
             f"{sorted(revoked1)}, which {k2.name} got")

        g = group_info(admin, group, "Stable", 2, "(d) cooperative group with two members")
        expect((g.protocol_type, g.protocol) == ("consumer", "cooperative-sticky"),
               "(d) list_groups: protocol type, protocol", ("consumer", "cooperative-sticky"),
               (g.protocol_type, g.protocol))
        check_members(g, topic, {k1.name: h1, k2.name: h2}, "(d) list_groups of the cooperative group")

        n1 = len(k1.events)
        t_close = time.monotonic()
        k2.close()
        limit = SESSION_MS / 1000 + 3
        poll_until([k1], lambda: k1.held == ALL and k1.assignment() == ALL,
                   f"{k1.name} gets all partitions after {k2.name} closed (within the session timeout + 3 s)",
                   limit - (time.monotonic() - t_close))
        ev = [(t, k, p) for t, k, p in k1.events[n1:] if p]
        took = ev[-1][0] - t_close
        kinds = [(k, p) for _, k, p in ev]
        expect(all(k == "assign" for k, _ in kinds) and {x for _, p in kinds for x in p} == h2,
               f"{k1.name} after {k2.name} left: incremental on_assign of {k2.name}'s partitions, nothing revoked",
               [("assign", sorted(h2))], kinds)
        expect(took < SESSION_MS / 1000 - 1, "LeaveGroup rebalances at once, not after the session timeout",
               f"< {SESSION_MS / 1000 - 1} s", round(took, 2))
        step(f"(b) {k2.name} closed: {k1.name} incrementally got {sorted(h2)} in {took:.2f}s, kept its own")
    finally:
        k1.close()
        if k2 is not None:
            k2.close()


# ---------------- (c) committed offsets, (d) an Empty group ----------------

def part_commits(admin, topic, group, n_parts, per_part):
    prod = Producer(conf(acks="all", linger_ms=5))
    prod.list_topics(topic, timeout=10)
    reports = []
    expected = {}
    for p in range(n_parts):
        for i in range(per_part):
            k, v = f"c{p}-{i}".encode(), f"commit-test {p}/{i}".encode()
            prod.produce(topic, key=k, value=v, partition=p,
                         on_delivery=lambda err, msg, kv=(k, v): reports.append((err, msg, kv)))
            prod.poll(0)
    require(prod.flush(15) == 0, "(c) all records delivered", 0, "undelivered")
    errs = [str(e) for e, _, _ in reports if e is not None]
    require(not errs and len(reports) == n_parts * per_part, "(c) delivery reports without error",
            n_parts * per_part, (len(reports), errs[:3]))
    for _, msg, kv in reports:
        expected[(msg.partition(), msg.offset())] = kv
    want = {(p, o) for p in range(n_parts) for o in range(per_part)}
    require(set(expected) == want, "(c) offsets 0..n-1 on every partition", sorted(want)[:5], sorted(expected)[:5])
    total = n_parts * per_part
    take = 40

    x = Member("ckg-x", group, topic, auto_offset_reset="earliest")
    y = None
    try:
        poll_until([x], lambda: len(x.msgs) >= take, f"(c) the first consumer receives {take} records", 15)
        processed = x.msgs[:take]
        require(len(x.msgs) == take, "(c) poll() returns one record at a time", take, len(x.msgs))
        nxt = {}
        for m in processed:
            nxt[m.partition()] = m.offset() + 1
        res = x.consumer.commit(offsets=[TopicPartition(topic, p, o) for p, o in sorted(nxt.items())],
                                asynchronous=False)
        found = sorted((t.partition, t.offset, t.error) for t in res)
        require(found == [(p, o, None) for p, o in sorted(nxt.items())], "(c) commit(offsets, asynchronous=False)",
                [(p, o, None) for p, o in sorted(nxt.items())], found)
        want_c = {p: nxt.get(p, OFFSET_INVALID) for p in range(n_parts)}
        got_c = {t.partition: t.offset for t in x.consumer.committed(
            [TopicPartition(topic, p) for p in range(n_parts)], timeout=10)}
        require(got_c == want_c, "(c) committed() after the commit (OFFSET_INVALID: none)", want_c, got_c)
        x.close()
        step(f"(c) {x.name} processed {take} of {total} records, committed {nxt} synchronously, closed")

        y = Member("ckg-y", group, topic, auto_offset_reset="earliest")
        got_c = {t.partition: t.offset for t in y.consumer.committed(
            [TopicPartition(topic, p) for p in range(n_parts)], timeout=10)}
        expect(got_c == want_c, "(c) a new consumer of the group sees the commits", want_c, got_c)
        poll_until([y], lambda: len(y.msgs) >= total - take, f"(c) {y.name} receives the other {total - take}", 15)
        poll_for([y], 0.5)  # nothing else may arrive
        seen = [(m.partition(), m.offset()) for m in processed] + [(m.partition(), m.offset()) for m in y.msgs]
        require(sorted(seen) == sorted(want), "(c) every record exactly once across both consumers",
                f"{total} records, none twice", {"count": len(seen), "duplicated": sorted(
                    {s for s in seen if seen.count(s) > 1})[:10], "missing": sorted(want - set(seen))[:10]})
        first = {}
        for m in y.msgs:
            first.setdefault(m.partition(), m.offset())
        want_first = {p: nxt.get(p, 0) for p in range(n_parts) if nxt.get(p, 0) < per_part}
        expect(first == want_first, f"(c) {y.name} starts each partition at the commit (0 where none)",
               want_first, first)
        bad = [(m.partition(), m.offset()) for m in processed + y.msgs
               if (m.key(), m.value()) != expected[(m.partition(), m.offset())]]
        expect(not bad, "(c) records have their produced key and value", [], bad[:5])
        # commit() without offsets commits the positions of what this consumer consumed (librdkafka
        # leaves out partitions it consumed nothing from)
        res = y.consumer.commit(asynchronous=False)
        found = sorted((t.partition, t.offset, t.error) for t in res if t.partition in first)
        want_end = [(p, per_part, None) for p in sorted(first)]
        expect(found == want_end, "(c) commit(asynchronous=False) of the consumed positions", want_end, found)
        got_c = {t.partition: t.offset for t in y.consumer.committed(
            [TopicPartition(topic, p) for p in range(n_parts)], timeout=10)}
        expect(got_c == {p: per_part for p in range(n_parts)}, "(c) committed(): every partition at its end",
               {p: per_part for p in range(n_parts)}, got_c)
        y.close()
        step(f"(c) {y.name} resumed exactly after each commit: first offsets {first}; all {total} records once")

        g = group_info(admin, group, "Empty", 0, "(d) the group after its members left")
        expect(g.protocol_type in ("consumer", ""), "(d) list_groups of an Empty group: protocol type",
               "consumer", g.protocol_type)
        step("(d) list_groups: the group whose members left is Empty with no members")
    finally:
        x.close()
        if y is not None:
            y.close()


# ---------------- (e) static membership ----------------

def part_static(admin, topic, group, instance):
    kw = dict(session_timeout_ms=STATIC_SESSION_MS)
    d = Member("ckg-dynamic", group, topic, **kw)
    s1 = Member("ckg-static", group, topic, group_instance_id=instance, **kw)
    s2 = None
    try:
        poll_until([d, s1], lambda: settled(d, s1), "a dynamic and a static member with disjoint assignments "
                   "covering all partitions", 20)
        hd, hs = set(d.held), set(s1.held)
        g = group_info(admin, group, "Stable", 2, "(e) the group with both members")
        ids1 = check_members(g, topic, {d.name: hd, s1.name: hs}, "(e) list_groups")
        step(f"(e) a dynamic member {sorted(hd)} and a static one (group.instance.id {instance}) {sorted(hs)}")

        nd = len(d.events)
        t_close = time.monotonic()
        s1.close()  # a static member leaves no LeaveGroup behind: the broker keeps its place
        s2 = Member("ckg-static", group, topic, group_instance_id=instance, **kw)
        poll_until([d, s2], lambda: s2.held and s2.assignment() == s2.held,
                   "the new consumer with the same group.instance.id gets an assignment (within the session timeout)",
                   STATIC_SESSION_MS / 1000 - 1 - (time.monotonic() - t_close))
        took = s2.events[-1][0] - t_close
        expect(s2.held == hs, "the static member gets its partitions back", sorted(hs), sorted(s2.held))
        expect(took < 3.0, "the static member is back at once (no rebalance waiting for the session timeout)",
               "< 3 s", round(took, 2))
        # Two and a half heartbeat intervals more: a rebalance would reach the dynamic member by now.
        poll_for([d, s2], 2.5)
        expect(d.events[nd:] == [], "no rebalance: the dynamic member gets no on_revoke/on_assign", [],
               [(round(t - T0, 2), k, p) for t, k, p in d.events[nd:]])
        expect([(k, p) for _, k, p in s2.events] == [("assign", sorted(hs))],
               "the new static consumer: one on_assign, of the old partitions", [("assign", sorted(hs))],
               [(k, p) for _, k, p in s2.events])
        expect(d.held == hd and d.assignment() == hd, "the dynamic member keeps its partitions", sorted(hd),
               sorted(d.assignment()))
        g = group_info(admin, group, "Stable", 2, "(e) the group after the static member came back")
        ids2 = check_members(g, topic, {d.name: hd, s1.name: hs}, "(e) list_groups after the static rejoin")
        expect(ids2.get(d.name) == ids1.get(d.name), "the dynamic member keeps its member id (it never rejoined)",
               ids1.get(d.name), ids2.get(d.name))
        expect(ids2.get(s1.name) not in (None, ids1.get(s1.name)),
               "the returning static member has a new member id (the old one is fenced)",
               f"not {ids1.get(s1.name)}", ids2.get(s1.name))
        step(f"(e) the static member closed and a new consumer with its group.instance.id got {sorted(hs)} back "
             f"in {took:.2f}s; the dynamic member saw no rebalance and kept its member id")
    finally:
        d.close()
        s1.close()
        if s2 is not None:
            s2.close()


def main(suffix):
    admin = AdminClient(conf())
    t_six = f"ckg-six-{suffix}"
    t_coop = f"ckg-coop-{suffix}"
    t_three = f"ckg-three-{suffix}"
    create_topics(admin, [(t_six, PARTITIONS), (t_coop, PARTITIONS), (t_three, 3)])
    step(f"created {t_six} and {t_coop} ({PARTITIONS} partitions), {t_three} (3)")

    part_eager(admin, t_six, f"ckg-eager-{suffix}")
    part_cooperative(admin, t_coop, f"ckg-coop-{suffix}")
    part_commits(admin, t_three, f"ckg-commit-{suffix}", 3, 30)
    part_static(admin, t_six, f"ckg-static-{suffix}", f"ckg-instance-{suffix}")

    r = future_results(admin.delete_topics([t_six, t_coop, t_three], request_timeout=10))
    expect(r == {t: None for t in (t_six, t_coop, t_three)}, "delete_topics result",
           {t: None for t in (t_six, t_coop, t_three)}, r)
    expect(not client_errors, "no client errors (error_cb)", [], client_errors)
    step("deleted the topics")


def report_client_errors():
    if client_errors:
        print(f"client errors reported by error_cb: {client_errors}", flush=True)


if __name__ == "__main__":
    BOOT = bootstrap_arg("groups_confluent_test.py")
    suffix = uuid.uuid4().hex[:12]
    run("groups_confluent_test.py", lambda: main(suffix), f"suffix {suffix}", report=report_client_errors)
