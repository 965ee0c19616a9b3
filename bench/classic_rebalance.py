#!/usr/bin/python3
"""Kafka's classic group protocol, measured with confluent-kafka (librdkafka):
MEMBERS consumers share a topic of PARTITIONS; each round one member leaves
(close() sends LeaveGroup) and the time until the others own every partition
again, disjointly, is measured. heartbeat.interval.ms is 100, as the native
benchmark's, since a member learns of a rebalance from its next heartbeat.

usage: classic_rebalance.py BOOTSTRAP [MEMBERS] [PARTITIONS] [ROUNDS]
Prints a line and a JSON line with the median. Needs Debian's /usr/bin/python3.
"""
import json
import statistics
import sys
import time
import uuid

from confluent_kafka import Consumer
from confluent_kafka.admin import AdminClient, NewTopic

boot = sys.argv[1]
members = int(sys.argv[2]) if len(sys.argv) > 2 else 10
partitions = int(sys.argv[3]) if len(sys.argv) > 3 else 100
rounds = int(sys.argv[4]) if len(sys.argv) > 4 else 9
topic = f"classic-{uuid.uuid4().hex[:8]}"
admin = AdminClient({"bootstrap.servers": boot})
admin.create_topics([NewTopic(topic, partitions, 1)])[topic].result(30)


class Member:
    def __init__(self):
        self.owned = set()
        self.c = Consumer({"bootstrap.servers": boot, "group.id": topic,
                           "session.timeout.ms": 10000, "heartbeat.interval.ms": 100,
                           "enable.auto.commit": False})
        self.c.subscribe([topic], on_assign=self.assign, on_revoke=self.revoke)

    def assign(self, c, parts):
        self.owned = {p.partition for p in parts}

    def revoke(self, c, parts):
        self.owned = set()


def covered(ms):
    seen = set()
    for m in ms:
        if seen & m.owned:
            return False
        seen |= m.owned
    return len(seen) == partitions


def settle(ms, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        for m in ms:
            m.c.poll(0)
        if covered(ms):
            return True
        time.sleep(0.001)
    return False


ms = [Member() for _ in range(members)]
if not settle(ms):
    sys.exit("the group never settled")
taken = []
for _ in range(rounds):
    t0 = time.monotonic()
    ms.pop(0).c.close()
    if not settle(ms):
        sys.exit("no stable assignment after a leave")
    taken.append((time.monotonic() - t0) * 1000)
    ms.append(Member())
    if not settle(ms):
        sys.exit("the group never settled")
for m in ms:
    m.c.close()
med = statistics.median(taken)
print(f"classic leave -> stable, {members} members, {partitions} partitions: median {med:.1f} ms "
      f"(min {min(taken):.1f}, max {max(taken):.1f}, {rounds} rounds)")
print(json.dumps({"mode": "classic_rebalance", "members": members, "partitions": partitions,
                  "median_ms": round(med, 2), "min_ms": round(min(taken), 2),
                  "max_ms": round(max(taken), 2)}))
