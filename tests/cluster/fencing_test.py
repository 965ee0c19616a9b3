"""Fencing and divergent tails (issue 17), three sentryd on one etcd:

1. A leader paused (SIGSTOP) past its session timeout is replaced; records go
   on to the new leader; a producer that knew only the old leader has
   requests waiting in its socket. After SIGCONT the old leader acknowledges
   none of them itself (it learns that its session expired and gives up its
   roles), rejoins as a follower, and every acks=all acknowledgement of
   either producer is in every replica's log at its offset.
2. etcd killed during load: leaders keep serving acks=all writes (the ISR
   does not change, so nothing needs etcd), creating a topic fails with
   REQUEST_TIMED_OUT (Kafka's answer when its controller cannot be reached),
   and after etcd restarts a topic can be created again. No broker fences
   itself over an unreachable store.
3. A leader's tail that no follower has (acks=1 records written while both
   followers were paused briefly) is cut when that leader, killed, comes back
   as a follower: the log says "truncated from", and the replicas' logs end
   byte-identical. The acks=1 records past the cut are gone, as in Kafka;
   acks=all records never are.

Also, first: `sentryctl cluster status`, `topic create --replication-factor`
and `topic describe` against the cluster (native protocol).

usage: fencing_test.py --sentryd PATH --sentryctl PATH [--workdir DIR]
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

from confluent_kafka import Producer  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402

SESSION_MS = 3000
EXTRA = ["--broker.session.timeout.ms", str(SESSION_MS), "--cluster.poll.ms", "100",
         "--replica.lag.time.max.ms", "10000", "--replica.fetch.wait.max.ms", "200"]


state = ch.leader_and_isr


class Acks:
    def __init__(self):
        self.ok = {}
        self.failed = 0

    def __call__(self, err, msg):
        if err is None:
            self.ok[msg.offset()] = msg.value()
        else:
            self.failed += 1


def produce(producer, topic, acks, values):
    for v in values:
        producer.produce(topic, value=v, partition=0, on_delivery=acks)
    producer.poll(0)


def verify(cluster, topic, acked_maps, failures):
    logs = [b.partition_log_bytes(topic, 0) for b in cluster.brokers]
    for b, data in zip(cluster.brokers, logs):
        records = dict(r for _, _, rs in ch.decode_batches(data) for r in rs)
        for acks in acked_maps:
            missing = [o for o, v in acks.items() if records.get(o) != v]
            if missing:
                failures.append(f"{topic}: broker {b.id} lacks {len(missing)} acknowledged "
                                f"record(s), first at {sorted(missing)[:5]}")
    if any(d != logs[0] for d in logs):
        failures.append(f"{topic}: the replicas' logs differ (sizes {[len(d) for d in logs]})")


def scenario_sentryctl(cluster, sentryctl, failures):
    b = cluster.brokers[0]

    def ctl(*args):
        r = subprocess.run([sentryctl, "--broker", f"127.0.0.1:{b.port}", *args],
                           capture_output=True, text=True, timeout=60)
        return r.returncode, r.stdout + r.stderr

    # Every broker registered and a controller elected; the one asked learns
    # of both a poll later (the brokers start at once and race to campaign).
    try:
        ch.wait_for(lambda: (out := ctl("cluster", "status")[1]) and "brokers: 3 live" in out
                    and "controller none" not in out, "3 live brokers and a controller", 10)
    except TimeoutError:
        pass
    if "sentry_cluster_brokers 3" not in b.metrics():
        failures.append("/metrics lacks sentry_cluster_brokers 3")
    rc, out = ctl("cluster", "status")
    if rc != 0 or "brokers: 3 live" not in out or "controller none" in out:
        failures.append(f"sentryctl cluster status: rc {rc}\n{out}")
    rc, out = ctl("topic", "create", "ctl", "--partitions", "2", "--replication-factor", "3")
    if rc != 0:
        failures.append(f"sentryctl topic create --replication-factor 3: rc {rc}\n{out}")
    rc, out = ctl("topic", "create", "ctl-too-many", "--replication-factor", "4")
    if rc == 0 or "INVALID_REPLICATION_FACTOR" not in out:
        failures.append(f"replication factor 4 of 3 brokers: rc {rc}\n{out}")
    admin = AdminClient({"bootstrap.servers": cluster.bootstrap()})
    ch.wait_for(lambda: (s := state(admin, "ctl")) and s[0] >= 0 and len(s[1]) == 3, "full ISR")
    rc, out = ctl("topic", "describe", "ctl")
    rows = [l.split() for l in out.splitlines() if l.split()[:1] in (["0"], ["1"])]
    leaders = [r for r in rows if len(r) == 5]
    if rc != 0 or len(leaders) != 2 or any(len(r[3].split(",")) != 3 for r in leaders):
        failures.append(f"sentryctl topic describe: rc {rc}\n{out}")
    print("sentryctl: cluster status, topic create --replication-factor and describe checked",
          flush=True)


def scenario_one_group_coordinator(cluster, failures):
    """Two consumers of one group, each bootstrapped to a different broker,
    meet at one coordinator: they share the topic's two partitions."""
    from confluent_kafka import Consumer
    assigned = {}

    def member(name, broker):
        c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "shared",
                      "session.timeout.ms": 6000, "auto.offset.reset": "earliest"})
        c.subscribe(["ctl"], on_assign=lambda _, parts: assigned.__setitem__(
            name, sorted(p.partition for p in parts)))
        return c

    a, b = member("a", cluster.brokers[1]), member("b", cluster.brokers[2])
    try:
        def split():
            a.poll(0.1)
            b.poll(0.1)
            return assigned.get("a") and assigned.get("b") and \
                sorted(assigned["a"] + assigned["b"]) == [0, 1]
        try:
            ch.wait_for(split, "the two members to share partitions 0 and 1", 40, 0)
            print(f"groups: one coordinator, assignment {assigned}", flush=True)
        except TimeoutError:
            failures.append(f"one group over two brokers: assignment {assigned}")
    finally:
        a.close()
        b.close()


def scenario_pause_past_session(cluster, failures):
    topic = "fenced"
    admin = AdminClient({"bootstrap.servers": cluster.bootstrap()})
    admin.create_topics([NewTopic(topic, 1, 3, config={"min.insync.replicas": "2"})])[topic].result(30)
    ch.wait_for(lambda: (s := state(admin, topic)) and s[0] >= 0 and len(s[1]) == 3, "full ISR")
    leader, _ = ch.wait_for(lambda: state(admin, topic), "metadata")
    old = cluster.broker(leader)
    acks_all, acks_old = Acks(), Acks()
    p = Producer({"bootstrap.servers": cluster.bootstrap(), "acks": "all",
                  "enable.idempotence": True, "topic.metadata.refresh.interval.ms": 500,
                  "request.timeout.ms": 5000})
    q = Producer({"bootstrap.servers": old.bootstrap, "acks": "all", "enable.idempotence": True,
                  "message.timeout.ms": 60000, "topic.metadata.refresh.interval.ms": 500,
                  "request.timeout.ms": 5000})
    produce(p, topic, acks_all, [b"before-%d" % i for i in range(100)])
    produce(q, topic, acks_old, [b"q-warmup-%d" % i for i in range(10)])
    p.flush(30)
    q.flush(30)
    old.pause()
    t0 = time.monotonic()
    # Sent to the paused leader: waits in its socket.
    produce(q, topic, acks_old, [b"q-paused-%d" % i for i in range(20)])
    others = AdminClient({"bootstrap.servers": ",".join(
        b.bootstrap for b in cluster.brokers if b is not old)})
    ch.wait_for(lambda: (s := state(others, topic)) and s[0] not in (-1, leader), "a new leader", 30)
    print(f"pause: new leader after {time.monotonic() - t0:.2f} s", flush=True)
    # The new leader's metrics say it leads partitions short of a replica
    # (this topic's, and maybe some of topic "ctl").
    new = cluster.broker(state(others, topic)[0])

    def under_replicated():
        m = re.search(r"^sentry_cluster_under_replicated_partitions (\d+)", new.metrics(), re.M)
        return m and int(m.group(1)) >= 1
    ch.wait_for(under_replicated, "sentry_cluster_under_replicated_partitions >= 1 on the new leader", 30)
    produce(p, topic, acks_all, [b"during-%d" % i for i in range(100)])
    p.flush(60)
    old.resume()
    ch.wait_for(lambda: old.output().count("session expired") > 0, "the old leader to see it was fenced", 30)
    produce(p, topic, acks_all, [b"after-%d" % i for i in range(100)])
    p.flush(60)
    q.flush(60)
    ch.wait_for(lambda: (s := state(others, topic)) and leader in s[1], "the old leader back in the ISR", 60)
    if acks_all.failed:
        failures.append(f"{acks_all.failed} acks=all record(s) of the main producer failed")
    print(f"pause: main producer {len(acks_all.ok)} acknowledged; the old leader's producer "
          f"{len(acks_old.ok)} acknowledged, {acks_old.failed} failed", flush=True)
    return topic, [acks_all.ok, acks_old.ok]


def scenario_etcd_outage(cluster, failures):
    topic = "outage"
    admin = AdminClient({"bootstrap.servers": cluster.bootstrap()})
    admin.create_topics([NewTopic(topic, 1, 3, config={"min.insync.replicas": "2"})])[topic].result(30)
    ch.wait_for(lambda: (s := state(admin, topic)) and s[0] >= 0 and len(s[1]) == 3, "full ISR")
    acks = Acks()
    p = Producer({"bootstrap.servers": cluster.bootstrap(), "acks": "all",
                  "enable.idempotence": True, "request.timeout.ms": 5000})
    produce(p, topic, acks, [b"before-%d" % i for i in range(100)])
    p.flush(30)
    fenced_before = sum(b.output().count("session expired") for b in cluster.brokers)
    cluster.etcd.kill()
    t0 = time.monotonic()
    produce(p, topic, acks, [b"etcd-down-%d" % i for i in range(300)])
    p.flush(30)
    down_acks = len(acks.ok)
    try:
        admin.create_topics([NewTopic("while-down", 1, 3)], request_timeout=20)["while-down"].result(40)
        failures.append("creating a topic while etcd was down succeeded")
    except Exception as e:  # noqa: BLE001
        name = e.args[0].name() if e.args and hasattr(e.args[0], "name") else None
        if name != "REQUEST_TIMED_OUT":
            failures.append(f"creating a topic while etcd was down: {e!r}, not REQUEST_TIMED_OUT")
    # Longer down than the session timeout: still nobody gives up its roles.
    ch.wait_for(lambda: time.monotonic() - t0 > 2 * SESSION_MS / 1000, "etcd down for a while", 30)
    produce(p, topic, acks, [b"still-down-%d" % i for i in range(100)])
    p.flush(30)
    cluster.etcd.start()
    admin.create_topics([NewTopic("after-outage", 1, 3)])["after-outage"].result(30)
    produce(p, topic, acks, [b"after-%d" % i for i in range(100)])
    p.flush(30)
    fenced_after = sum(b.output().count("session expired") for b in cluster.brokers)
    print(f"etcd outage: {down_acks - 100} acknowledged right after etcd died, "
          f"{len(acks.ok)} in all; sessions expired meanwhile: {fenced_after - fenced_before}",
          flush=True)
    if len(acks.ok) != 600 or acks.failed:
        failures.append(f"etcd outage: {len(acks.ok)} of 600 acknowledged, {acks.failed} failed")
    return topic, [acks.ok]


def scenario_divergent_tail(cluster, failures):
    topic = "diverge"
    admin = AdminClient({"bootstrap.servers": cluster.bootstrap()})
    admin.create_topics([NewTopic(topic, 1, 3)])[topic].result(30)
    ch.wait_for(lambda: (s := state(admin, topic)) and s[0] >= 0 and len(s[1]) == 3, "full ISR")
    leader, _ = ch.wait_for(lambda: state(admin, topic), "metadata")
    old = cluster.broker(leader)
    followers = [b for b in cluster.brokers if b is not old]
    acks_all, acks_one = Acks(), Acks()
    p = Producer({"bootstrap.servers": cluster.bootstrap(), "acks": "all",
                  "topic.metadata.refresh.interval.ms": 500})
    produce(p, topic, acks_all, [b"committed-%d" % i for i in range(200)])
    p.flush(30)
    one = Producer({"bootstrap.servers": old.bootstrap, "acks": "1", "linger.ms": 0})
    for f in followers:
        f.pause()
    # A fetch a follower sent just before its pause may be parked at the
    # leader; the leader would answer it with the tail below, into the paused
    # follower's socket. The parking ends after replica.fetch.wait.max.ms
    # (200 ms): this is a precondition of the scenario, not what it proves.
    time.sleep(0.5)
    # Well within the session timeout: the followers stay members.
    produce(one, topic, acks_one, [b"tail-%d" % i for i in range(50)])
    one.flush(5)
    old.kill()
    for f in followers:
        f.resume()
    ch.wait_for(lambda: (s := state(AdminClient({"bootstrap.servers": ",".join(
        f.bootstrap for f in followers)}), topic)) and s[0] not in (-1, leader), "a new leader", 30)
    produce(p, topic, acks_all, [b"new-epoch-%d" % i for i in range(200)])
    p.flush(60)
    old.start()
    ch.wait_for(lambda: "truncated from" in old.output(), "the old leader to cut its tail", 30)
    ch.wait_for(lambda: (s := state(admin, topic)) and leader in s[1], "the old leader back in the ISR", 60)
    print(f"diverge: {len(acks_one.ok)} acks=1 records on the old leader alone; "
          f"{[l for l in old.output().splitlines() if 'truncated from' in l][0].split('] ')[-1]}",
          flush=True)
    if acks_all.failed:
        failures.append(f"{acks_all.failed} acks=all record(s) failed")
    return topic, [acks_all.ok]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sentryd", required=True)
    ap.add_argument("--sentryctl", required=True)
    ap.add_argument("--workdir")
    args = ap.parse_args()
    workdir = args.workdir or tempfile.mkdtemp(prefix="sentry-fencing-")
    cluster = ch.Cluster(args.sentryd, workdir, 3, EXTRA)
    ok = False
    try:
        cluster.start()
        failures = []
        scenario_sentryctl(cluster, args.sentryctl, failures)
        scenario_one_group_coordinator(cluster, failures)
        checks = [scenario_pause_past_session(cluster, failures),
                  scenario_etcd_outage(cluster, failures),
                  scenario_divergent_tail(cluster, failures)]
        cluster.stop_cleanly()
        for topic, acked in checks:
            verify(cluster, topic, acked, failures)
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
