"""Consumer groups in a cluster (issue 17): a group is coordinated by the
leader of the partition of the replicated offsets log (`__consumer_offsets`,
50 partitions, 3 replicas) its id hashes to, as in Kafka, so committed
offsets and group state survive the loss of that broker, and the groups of
other coordinators do not notice it.

1. Three sentryd on one etcd; the controller creates `__consumer_offsets`
   once three brokers are alive; its partitions are led by all three. A
   2-partition, 3-replica topic gets 300
   records. (First, a topic setting changed through one broker, Kafka's
   AlterConfigs, is what DescribeConfigs answers on every broker; after the
   records, `sentryctl topic trim` (DeleteRecords) moves partition 0's log
   start on its leader and the followers follow.)
2. A member of a classic group (confluent-kafka, subscribe) reads at least
   150 records and commits them synchronously. A native client commits an
   offset for another group (`sentryctl group commit`, sent to the
   coordinator).
   A member of a third group, coordinated by another broker, joins too;
   `sentryctl group list` (asking every broker) lists both classic groups.
3. The first group's coordinator (the leader of its offsets partition,
   abs(Java hashCode) % 50, in `sentryctl topic describe __consumer_offsets`;
   the broker FindCoordinator names) is killed with SIGKILL.
4. From another broker, both groups' committed offsets read back exactly as
   committed before the kill (confluent-kafka `committed()`, and
   `sentryctl group fetch`), now from the new coordinator.
5. The member carries on: it reads every remaining record, and its next
   commit succeeds at the new coordinator and reads back (the new
   coordinator read the group's generation and offsets from the log, not
   its members: they rejoin, as after a restart, within poll()).
6. The third group kept its generation and member through the kill (its
   coordinator never moved).
7. The killed broker comes back and rejoins that offsets partition's ISR.

usage: groups_test.py --sentryd PATH --sentryctl PATH [--workdir DIR]
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cluster_harness as ch  # noqa: E402

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition  # noqa: E402
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic  # noqa: E402

TOPIC = "orders"
GROUP = "billing"
NATIVE_GROUP = "native-billing"
OFFSETS_PARTITIONS = 50  # offsets.topic.num.partitions, Kafka's default
RECORDS = 300
TRIMMED = 10  # partition 0's records below this offset are deleted (DeleteRecords)
EXTRA = ["--broker.session.timeout.ms", "3000", "--cluster.poll.ms", "100",
         "--replica.lag.time.max.ms", "5000", "--replica.fetch.wait.max.ms", "200",
         "--group.initial.rebalance.delay.ms", "0"]


def sentryctl(path, broker, *args):
    r = subprocess.run([path, "--broker", f"127.0.0.1:{broker.port}", *args],
                       capture_output=True, text=True, timeout=60)
    return r.returncode, r.stdout + r.stderr


def java_hash(s):
    """Java's String.hashCode (over UTF-16 code units, 32-bit)."""
    units = s.encode("utf-16-be")
    h = 0
    for i in range(0, len(units), 2):
        h = (h * 31 + int.from_bytes(units[i:i + 2], "big")) & 0xFFFFFFFF
    return h - (1 << 32) if h >= 1 << 31 else h


def offsets_partition(group):
    """Kafka's rule: Utils.abs(group.hashCode) % partitions."""
    h = java_hash(group)
    return (0 if h == -(1 << 31) else abs(h)) % OFFSETS_PARTITIONS


def offsets_table(path, broker):
    """{partition: (leader, isr)} of __consumer_offsets from `sentryctl topic
    describe` (its PARTITION LEADER EPOCH REPLICAS ISR table), or None."""
    rc, out = sentryctl(path, broker, "topic", "describe", "__consumer_offsets")
    if rc != 0 or "LEADER" not in out:
        return None
    table = out.split("LEADER", 1)[1].split("(this broker's copy", 1)[0]
    rows = {}
    for line in table.splitlines():
        f = line.split()
        if len(f) >= 5 and f[0].isdigit():
            leader = -1 if f[1] == "none" else int(f[1])
            rows[int(f[0])] = (leader, [int(x) for x in f[4].split(",") if x])
    return rows


def offsets_leader(path, broker, partition):
    """(leader, isr) of __consumer_offsets-`partition`, or None."""
    rows = offsets_table(path, broker)
    return rows.get(partition) if rows else None


def generation_and_members(path, broker, group):
    """(generation, [member ids]) of `group` from `sentryctl group describe`."""
    rc, out = sentryctl(path, broker, "group", "describe", group)
    m = re.search(r"generation (\d+)", out)
    if rc != 0 or not m:
        return None
    members = out.split("MEMBER", 1)[1].split("TOPIC", 1)[0].split()[3:]
    return int(m.group(1)), [w for w in members if w.startswith("rdkafka-")]


def topic_setting(broker, key):
    """`key` of TOPIC as DescribeConfigs answers it on `broker` alone, or
    None while that broker has not yet learned of the topic from etcd
    (UNKNOWN_TOPIC_OR_PART: topic records reach each broker's watch
    asynchronously, as Kafka's metadata reaches its brokers)."""
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    res = ConfigResource(ConfigResource.Type.TOPIC, TOPIC)
    try:
        return admin.describe_configs([res])[res].result(10)[key].value
    except KafkaException as e:
        if e.args[0].code() == KafkaError.UNKNOWN_TOPIC_OR_PART:
            return None
        raise


def alter_setting_through_one_broker(cluster, failures):
    """AlterConfigs at broker 1; every broker then answers the new value."""
    admin = AdminClient({"bootstrap.servers": cluster.brokers[0].bootstrap})
    res = ConfigResource(ConfigResource.Type.TOPIC, TOPIC, set_config={"retention.ms": "3600000"})
    admin.alter_configs([res])[res].result(30)
    for b in cluster.brokers:
        try:
            ch.wait_for(lambda: topic_setting(b, "retention.ms") == "3600000",
                        f"retention.ms on broker {b.id}", 10)
        except TimeoutError as e:
            failures.append(str(e))
    # A request with one bad setting is refused whole: nothing changed.
    bad = ConfigResource(ConfigResource.Type.TOPIC, TOPIC,
                         set_config={"retention.ms": "60000", "cleanup.policy": "bogus"})
    try:
        admin.alter_configs([bad])[bad].result(30)
        failures.append("cleanup.policy=bogus was accepted")
    except Exception:  # noqa: BLE001 (KafkaException: INVALID_CONFIG)
        pass
    if topic_setting(cluster.brokers[2], "retention.ms") != "3600000":
        failures.append("a refused AlterConfigs changed retention.ms")
    print("topic settings: changed through one broker, seen on all three", flush=True)


def log_start(path, broker, partition):
    """LOG_START_OFFSET of TOPIC-partition in `broker`'s own copy."""
    rc, out = sentryctl(path, broker, "topic", "describe", TOPIC)
    if rc != 0:
        return None
    table = out.split("LOG_START_OFFSET", 1)[1]
    for line in table.splitlines()[1:]:
        f = line.split()
        if f and f[0] == str(partition):
            return int(f[1])
    return None


def trim_and_follow(cluster, path, failures):
    """DeleteRecords below offset 10 of partition 0: every copy starts there."""
    rc, out = sentryctl(path, cluster.brokers[0], "topic", "trim", TOPIC, "--partition", "0",
                        "--before", str(TRIMMED))
    if rc != 0:
        failures.append(f"sentryctl topic trim: rc {rc}: {out}")
        return
    for b in cluster.brokers:
        try:
            ch.wait_for(lambda: log_start(path, b, 0) == TRIMMED,
                        f"broker {b.id}'s copy to start at {TRIMMED}", 20)
        except TimeoutError as e:
            failures.append(str(e))
    print(f"DeleteRecords: partition 0 starts at offset {TRIMMED} on all three brokers",
          flush=True)


def committed(bootstrap, partitions):
    """The group's committed offsets through a client that does not join."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": GROUP,
                  "enable.auto.commit": False})
    try:
        got = c.committed([TopicPartition(TOPIC, p) for p in partitions], timeout=10)
        return {tp.partition: tp.offset for tp in got}
    except KafkaException as e:
        # NOT_COORDINATOR / COORDINATOR_NOT_AVAILABLE while the coordinator
        # moves (the caller waits and asks again).
        print(f"committed offsets not readable yet: {e}", flush=True)
        return None
    finally:
        c.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sentryd", required=True)
    ap.add_argument("--sentryctl", required=True)
    ap.add_argument("--workdir")
    args = ap.parse_args()
    workdir = args.workdir or tempfile.mkdtemp(prefix="sentry-groups-")
    cluster = ch.Cluster(args.sentryd, workdir, 3, EXTRA)
    ok = False
    failures = []
    try:
        cluster.start()
        admin = AdminClient({"bootstrap.servers": cluster.bootstrap()})
        admin.create_topics([NewTopic(TOPIC, 2, 3)])[TOPIC].result(30)
        alter_setting_through_one_broker(cluster, failures)
        first = cluster.brokers[0]
        rows = ch.wait_for(
            lambda: (t := offsets_table(args.sentryctl, first)) and
            len(t) == OFFSETS_PARTITIONS and all(r[0] >= 0 and len(r[1]) == 3 for r in t.values())
            and t, "every offsets partition with a leader and three in-sync replicas", 60)
        # Coordination is spread over the brokers, not all on one.
        leaders = sorted({r[0] for r in rows.values()})
        if leaders != [1, 2, 3]:
            failures.append(f"offsets partitions are led by brokers {leaders} only")
        partition = offsets_partition(GROUP)
        coordinator, isr = rows[partition]
        print(f"offsets partitions led by brokers {leaders}; group {GROUP} hashes to partition "
              f"{partition}, led by broker {coordinator}, isr {isr}", flush=True)
        # A group coordinated elsewhere: it must not notice the kill below.
        steady_group = next(g for g in (f"steady-{i}" for i in range(1000))
                            if rows[offsets_partition(g)][0] != coordinator)
        steady_coordinator = rows[offsets_partition(steady_group)][0]

        p = Producer({"bootstrap.servers": cluster.bootstrap(), "acks": "all"})
        for i in range(RECORDS):
            p.produce(TOPIC, key=b"k%d" % i, value=b"v%d" % i)
        if p.flush(60) != 0:
            raise RuntimeError("records not acknowledged")
        trim_and_follow(cluster, args.sentryctl, failures)

        member = Consumer({"bootstrap.servers": cluster.bootstrap(), "group.id": GROUP,
                           "enable.auto.commit": False, "auto.offset.reset": "earliest",
                           "session.timeout.ms": 10000, "heartbeat.interval.ms": 500,
                           "topic.metadata.refresh.interval.ms": 1000})
        member.subscribe([TOPIC])
        seen = set()
        deadline = time.monotonic() + 60
        while len(seen) < RECORDS // 2 and time.monotonic() < deadline:
            m = member.poll(0.5)
            if m is not None and not m.error():
                seen.add(m.value())
        if len(seen) < RECORDS // 2:
            raise RuntimeError(f"the member read only {len(seen)} records")
        member.commit(asynchronous=False)
        # Partitions the member has read from (a position < 0: none yet).
        before = {tp.partition: tp.offset for tp in member.position(member.assignment())
                  if tp.offset >= 0}
        print(f"member read {len(seen)} records and committed {before}", flush=True)

        rc, out = sentryctl(args.sentryctl, first, "group", "commit", NATIVE_GROUP, TOPIC, "1",
                            "42")
        if rc != 0:
            failures.append(f"sentryctl group commit: rc {rc}: {out}")

        steady = Consumer({"bootstrap.servers": cluster.bootstrap(), "group.id": steady_group,
                           "enable.auto.commit": False, "auto.offset.reset": "earliest",
                           "session.timeout.ms": 30000, "heartbeat.interval.ms": 500})
        steady.subscribe([TOPIC])
        ch.wait_for(lambda: steady.poll(0.2) is not None and len(steady.assignment()) == 2,
                    f"a member of {steady_group} with both partitions", 60)
        steady_before = ch.wait_for(
            lambda: generation_and_members(args.sentryctl, first, steady_group),
            f"sentryctl group describe {steady_group}", 30)
        print(f"group {steady_group} (coordinator {steady_coordinator}): generation "
              f"{steady_before[0]}, members {steady_before[1]}", flush=True)
        # Each broker lists the groups it coordinates; sentryctl asks them all.
        rc, out = sentryctl(args.sentryctl, first, "group", "list")
        listed = {line.split()[0] for line in out.splitlines()[1:] if line.strip()}
        if rc != 0 or not {GROUP, steady_group} <= listed:
            failures.append(f"sentryctl group list: rc {rc}, lists {sorted(listed)}, not both "
                            f"{GROUP} (broker {coordinator}) and {steady_group} "
                            f"(broker {steady_coordinator}): {out}")

        # The coordinator goes.
        victim = cluster.broker(coordinator)
        victim.kill()
        survivors = [b for b in cluster.brokers if b.running()]
        bootstrap = ",".join(b.bootstrap for b in survivors)
        t0 = time.monotonic()
        new_leader, _ = ch.wait_for(
            lambda: (s := offsets_leader(args.sentryctl, survivors[0], partition)) and s[0] >= 0
            and s[0] != coordinator and s, f"a new leader of offsets partition {partition}", 60)
        print(f"broker {coordinator} killed; broker {new_leader} coordinates after "
              f"{time.monotonic() - t0:.2f} s", flush=True)

        after = ch.wait_for(lambda: (c := committed(bootstrap, sorted(before))) and
                            all(o >= 0 for o in c.values()) and c,
                            "the committed offsets from the new coordinator", 60)
        if after != before:
            failures.append(f"committed offsets changed over the failover: {before} -> {after}")
        # The native group's partition may have moved too (NOT_COORDINATOR,
        # or no leader, until its new leader has read it): asked again.
        fetched = []

        def native_fetch():
            fetched[:] = sentryctl(args.sentryctl, survivors[0], "group", "fetch", NATIVE_GROUP,
                                   TOPIC, "1")
            moving = "NOT_COORDINATOR" in fetched[1] or "no coordinator" in fetched[1]
            return fetched[0] == 0 or not moving
        ch.wait_for(native_fetch, f"{NATIVE_GROUP}'s coordinator", 30, 0.2)
        rc, out = fetched
        if rc != 0 or out.split()[0] != "42":
            failures.append(f"sentryctl group fetch after the failover: rc {rc}: {out}")
        # The member carries on at the new coordinator: it reads the rest and
        # commits the end of both partitions. The new coordinator read the
        # group's generation and offsets from the log, not its members: they
        # rejoin (docs/cluster.md), which librdkafka does within poll(), and
        # a partition read before may be read again from its committed offset.
        ends = {p: member.get_watermark_offsets(TopicPartition(TOPIC, p), timeout=10)[1]
                for p in (0, 1)}
        if sum(ends.values()) != RECORDS:
            failures.append(f"log ends {ends} do not add up to {RECORDS}")
        final = None
        deadline = time.monotonic() + 90
        while final is None and time.monotonic() < deadline:
            m = member.poll(0.5)
            if m is not None and not m.error():
                seen.add(m.value())
            if len(seen) < RECORDS - TRIMMED or len(member.assignment()) != 2:
                continue  # still reading, or not rejoined yet
            try:
                member.commit(offsets=[TopicPartition(TOPIC, p, o) for p, o in ends.items()],
                              asynchronous=False)
                final = ends
            except KafkaException as e:
                print(f"commit retried after a poll: {e}", flush=True)
        if len(seen) < RECORDS - TRIMMED:
            failures.append(f"after the failover the member read {len(seen)} of "
                            f"{RECORDS - TRIMMED}")
        member.close()
        if final is None:
            failures.append("the member could not commit the end of both partitions at the "
                            "new coordinator")
        else:
            back = committed(bootstrap, sorted(final))
            if back != final:
                failures.append(f"final commit {final} read back as {back}")
            print(f"member committed {final} at the new coordinator", flush=True)

        # The other coordinator's group never moved: same generation, same
        # member, and its member still reads.
        steady_after = generation_and_members(args.sentryctl, survivors[0], steady_group)
        if steady_after != steady_before:
            failures.append(f"group {steady_group}, coordinated by broker {steady_coordinator}, "
                            f"changed over the kill of broker {coordinator}: {steady_before} -> "
                            f"{steady_after}")
        else:
            print(f"group {steady_group} kept generation {steady_after[0]} and its member",
                  flush=True)
        steady.close()

        victim.start()
        ch.wait_for(lambda: (s := offsets_leader(args.sentryctl, survivors[0], partition)) and
                    coordinator in s[1],
                    f"broker {coordinator} back in offsets partition {partition}'s ISR", 60)
        print(f"broker {coordinator} back in offsets partition {partition}'s ISR", flush=True)
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
