#!/usr/bin/python3
"""Real-client test: kcat's balanced consumer (kcat -G, librdkafka 2.0.2) against a running sentryd.

Usage: groups_kcat_test.py BOOTSTRAP TMPDIR     e.g. groups_kcat_test.py 127.0.0.1:29092 /tmp/x
Exit 0 = pass; on failure prints what was expected and what was found, exits 1.

Covers: two `kcat -G GROUP TOPIC` processes of one group share a 4-partition
topic (each is assigned some partitions, disjoint, covering all 4, as kcat
reports on stderr); records produced with kcat -P afterwards are printed by
exactly one of them, each partition by the process that holds it, every
record exactly once with its content; on SIGINT kcat closes the consumer
(librdkafka's enable.auto.commit, true by default, commits the printed
positions when the partitions are unassigned; then LeaveGroup) and exits 0:
the first to stop hands its partitions to the other, which prints nothing
again (it starts at the committed offsets); the group's committed offsets are
the end offsets; a third `kcat -G` of the group, started after both exited and new
records were produced, prints exactly the new records.

kcat -G without -o starts each assigned partition at the group's committed
offset, or by auto.offset.reset (earliest here) where there is none; -o
would override the committed offsets, and -e does not suit a group (it
stops once every partition it holds reached its end, including before a
rebalance hands it more), so the test reads until it has what it expects and
then stops the processes with SIGINT.

The topic is created, and the committed offsets read, with kafka-python's
admin client (kcat cannot do either). It needs Debian's /usr/bin/python3
(python3-kafka) and /usr/bin/kcat.
"""

import json
import re
import signal
import subprocess
import threading
import time
import uuid
import ktest
from ktest import T0, CheckFailed, check, bootstrap_arg, step

KCAT = "/usr/bin/kcat"
PARTITIONS = 4
ALL = set(range(PARTITIONS))
PER_PARTITION = 50
MORE_PER_PARTITION = 5
CMD_TIMEOUT_S = 20
# kcat's -X tries the topic configuration first, so enable.auto.commit and
# auto.commit.interval.ms given there would only set librdkafka's legacy topic-level
# properties (and warn); the consumer's own, global, enable.auto.commit is true by
# default, which commits the stored offsets whenever partitions are unassigned (each
# rebalance, and close() on SIGINT) besides every 5 s. auto.offset.reset is a topic
# property; the others are global.
GROUP_CONF = ["-X", "auto.offset.reset=earliest", "-X", "session.timeout.ms=6000",
              "-X", "heartbeat.interval.ms=1000", "-X", "fetch.wait.max.ms=100"]
SESSION_S = 6


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


def produce(partition, values, what):
    p = kcat(["-P", "-t", TOPIC, "-p", str(partition)], stdin="".join(v + "\n" for v in values), what=what)
    check("fail" not in p.stderr.lower() and "error" not in p.stderr.lower(),
          f"{what}: kcat producer stderr has no errors", "", p.stderr)


class GroupKcat:
    """A `kcat -G GROUP TOPIC` process. Threads collect its stdout records ("partition offset value")
    and its stderr; kcat reports each rebalance on stderr (verbosity 1, the default):
    "% Group G rebalanced (memberid M): assigned: T [0], T [2]" or "...: revoked: T [0], T [2]"."""

    def __init__(self, name, group):
        self.name = name
        self.lock = threading.Lock()
        self.records = []  # (partition, offset, value)
        self.bad_lines = []
        self.err_lines = []
        self.events = []  # (time, "assigned"/"revoked", [partitions])
        self.cmd = [KCAT, "-b", BOOT, "-G", group, "-u", "-f", "%p %o %s\\n"] + GROUP_CONF + [TOPIC]
        self.proc = subprocess.Popen(self.cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     bufsize=1)
        self.threads = [threading.Thread(target=self._read_out, daemon=True),
                        threading.Thread(target=self._read_err, daemon=True)]
        for t in self.threads:
            t.start()

    def _read_out(self):
        for line in self.proc.stdout:
            line = line.rstrip("\n")
            m = re.fullmatch(r"(\d+) (\d+) (.*)", line)
            with self.lock:
                if m:
                    self.records.append((int(m.group(1)), int(m.group(2)), m.group(3)))
                else:
                    self.bad_lines.append(line)

    def _read_err(self):
        pat = re.compile(r"rebalanced .*?: (assigned|revoked): (.*)$")
        for line in self.proc.stderr:
            line = line.rstrip("\n")
            with self.lock:
                self.err_lines.append(line)
                m = pat.search(line)
                if m:
                    parts = sorted(int(x) for x in re.findall(re.escape(TOPIC) + r" \[(\d+)\]", m.group(2)))
                    self.events.append((time.monotonic(), m.group(1), parts))

    def held(self):
        """The partitions of the last assignment, or set() after a revoke (eager: kcat's default)."""
        with self.lock:
            if not self.events:
                return set()
            _, kind, parts = self.events[-1]
            return set(parts) if kind == "assigned" else set()

    def snapshot(self):
        with self.lock:
            return list(self.records), list(self.events), list(self.bad_lines)

    def check_alive(self):
        rc = self.proc.poll()
        if rc is not None:
            raise CheckFailed(f"{self.name}: kcat exited early with {rc}\n  command: {self.cmd}\n"
                              f"  stderr: {self.stderr_tail()}")

    def stderr_tail(self, n=15):
        with self.lock:
            return self.err_lines[-n:]

    def describe(self):
        recs, events, bad = self.snapshot()
        return (f"{self.name}: holds {sorted(self.held())}, {len(recs)} records, rebalances "
                f"{[(round(t - T0, 2), k, p) for t, k, p in events]}, stderr tail {self.stderr_tail(5)}")

    def stop(self, what, timeout_s=10):
        """SIGINT: kcat closes the consumer (final commit, LeaveGroup) and exits 0."""
        self.proc.send_signal(signal.SIGINT)
        try:
            rc = self.proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise CheckFailed(f"{what}: {self.name} did not exit within {timeout_s}s of SIGINT; "
                              f"stderr: {self.stderr_tail()}")
        for t in self.threads:
            t.join(5)
        check(rc == 0, f"{what}: {self.name} exits 0 after SIGINT", 0, (rc, self.stderr_tail()))

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()


def wait_procs(procs, cond, what, timeout_s):
    deadline = time.monotonic() + timeout_s
    while True:
        for p in procs:
            p.check_alive()
        v = cond()
        if v:
            return v
        if time.monotonic() > deadline:
            raise CheckFailed(f"timed out after {timeout_s:.1f}s waiting for: {what}\n  "
                              + "\n  ".join(p.describe() for p in procs))
        time.sleep(0.05)


def committed_offsets():
    from kafka import TopicPartition
    from kafka.admin import KafkaAdminClient
    admin = KafkaAdminClient(bootstrap_servers=BOOT, client_id="kcat-groups-admin", request_timeout_ms=10000)
    try:
        lo = admin.list_consumer_group_offsets(GROUP)
        return {tp.partition: om.offset for tp, om in lo.items() if tp.topic == TOPIC}
    finally:
        admin.close()


def create_topic():
    from kafka.admin import KafkaAdminClient, NewTopic
    admin = KafkaAdminClient(bootstrap_servers=BOOT, client_id="kcat-groups-admin", request_timeout_ms=10000)
    try:
        resp = admin.create_topics([NewTopic(TOPIC, PARTITIONS, 1)], timeout_ms=10000)
        errs = [(t[0], t[1]) for t in resp.topic_errors]
        check(errs == [(TOPIC, 0)], "CreateTopics result", [(TOPIC, 0)], errs)
    finally:
        admin.close()


def wait_metadata():
    deadline = time.monotonic() + 10
    while True:
        md = json.loads(kcat(["-L", "-J", "-t", TOPIC], what="metadata -L -J").stdout)
        topics = [t for t in md.get("topics", []) if t.get("topic") == TOPIC]
        if topics and not topics[0].get("error") and len(topics[0].get("partitions", [])) == PARTITIONS:
            return
        if time.monotonic() > deadline:
            raise CheckFailed(f"topic {TOPIC} did not appear with {PARTITIONS} partitions in metadata; last: {md}")
        time.sleep(0.05)


def check_records(recs, expected, what):
    """recs: [(partition, offset, value)] printed; expected: {(partition, offset): value}. Exactly once each."""
    seen = {}
    for p, o, v in recs:
        seen.setdefault((p, o), []).append(v)
    dups = sorted(k for k, v in seen.items() if len(v) > 1)
    missing = sorted(k for k in expected if k not in seen)
    extra = sorted(k for k in seen if k not in expected)
    check(not dups and not missing and not extra, f"{what}: every record exactly once",
          f"{len(expected)} records", {"printed": len(recs), "duplicated": dups[:10], "missing": missing[:10],
                                       "unexpected": extra[:10]})
    bad = [(k, v[0], expected[k]) for k, v in seen.items() if v[0] != expected[k]]
    check(not bad, f"{what}: record values as produced", [], bad[:5])


def main():
    procs = []
    try:
        run(procs)
    finally:
        for p in procs:
            p.kill()


def run(procs):
    create_topic()
    wait_metadata()
    step(f"created topic {TOPIC} with {PARTITIONS} partitions via kafka-python admin")

    # ---------------- two balanced consumers share the partitions ----------------
    g1 = GroupKcat("kcat-G-1", GROUP)
    procs.append(g1)
    g2 = GroupKcat("kcat-G-2", GROUP)
    procs.append(g2)

    def settled():
        h1, h2 = g1.held(), g2.held()
        return (h1, h2) if h1 and h2 and not (h1 & h2) and h1 | h2 == ALL else None

    h1, h2 = wait_procs([g1, g2], settled, "two kcat -G processes with disjoint assignments covering all "
                        "partitions", 20)
    step(f"two kcat -G processes of group {GROUP}: {g1.name} holds {sorted(h1)}, {g2.name} {sorted(h2)}")

    expected = {}
    for p in range(PARTITIONS):
        values = [f"g-{p}-{i:03d}" for i in range(PER_PARTITION)]
        produce(p, values, f"produce {PER_PARTITION} records to partition {p}")
        for i, v in enumerate(values):
            expected[(p, i)] = v
    total = len(expected)
    wait_procs([g1, g2], lambda: len(g1.snapshot()[0]) + len(g2.snapshot()[0]) >= total,
               f"the two processes print {total} records", 15)
    time.sleep(0.5)  # anything printed twice would show up now (bounded: a fixed settle, not a wait for a state)
    r1, ev1, bad1 = g1.snapshot()
    r2, ev2, bad2 = g2.snapshot()
    check(not bad1 and not bad2, "kcat -f '%p %o %s' output lines", [], bad1[:3] + bad2[:3])
    check(g1.held() == h1 and g2.held() == h2, "no rebalance while consuming", (sorted(h1), sorted(h2)),
          (sorted(g1.held()), sorted(g2.held())))
    check_records(r1 + r2, expected, "two kcat -G processes")
    check({p for p, _, _ in r1} == h1 and {p for p, _, _ in r2} == h2,
          "each process printed exactly the partitions it holds", (sorted(h1), sorted(h2)),
          (sorted({p for p, _, _ in r1}), sorted({p for p, _, _ in r2})))
    for name, recs in ((g1.name, r1), (g2.name, r2)):
        for p in ALL:
            offs = [o for q, o, _ in recs if q == p]
            check(offs == sorted(offs), f"{name}: partition {p} printed in offset order", sorted(offs), offs)
    step(f"{total} records produced with kcat -P: {g1.name} printed {len(r1)}, {g2.name} {len(r2)}; every record "
         f"exactly once, each partition by its holder")

    # ---------------- the first stops (commit, LeaveGroup); the second takes over ----------------
    n2 = len(ev2)
    t_stop = time.monotonic()
    g1.stop("SIGINT to the first kcat -G")
    wait_procs([g2], lambda: g2.held() == ALL, f"{g2.name} holds all partitions after {g1.name} left "
               f"(within the session timeout + 3 s)", SESSION_S + 3 - (time.monotonic() - t_stop))
    _, ev, _ = g2.snapshot()
    took = ev[-1][0] - t_stop
    kinds = [(k, p) for _, k, p in ev[n2:]]
    check(kinds == [("revoked", sorted(h2)), ("assigned", sorted(ALL))],
          f"{g2.name}'s rebalances after {g1.name} left: revoked, then all assigned",
          [("revoked", sorted(h2)), ("assigned", sorted(ALL))], kinds)
    check(took < SESSION_S - 1, "LeaveGroup rebalances at once, not after the session timeout",
          f"< {SESSION_S - 1} s", round(took, 2))
    time.sleep(1.0)  # g2 fetches from the committed offsets: nothing may be printed again
    r2b, _, _ = g2.snapshot()
    check(r2b == r2, f"{g2.name} prints nothing after taking over (it starts at {g1.name}'s committed offsets)",
          [], r2b[len(r2):][:10])
    step(f"SIGINT: {g1.name} exited 0; {g2.name} revoked and got all {PARTITIONS} partitions in {took:.2f}s and "
         f"printed nothing again")

    g2.stop("SIGINT to the second kcat -G")
    end = {p: PER_PARTITION for p in ALL}
    co = committed_offsets()
    check(co == end, "the group's committed offsets (kafka-python list_consumer_group_offsets) are the end "
          "offsets", end, co)
    step(f"SIGINT: {g2.name} exited 0; the group's committed offsets are the end offsets {co}")

    # ---------------- a third process reads only the new records ----------------
    new = {}
    for p in range(PARTITIONS):
        values = [f"more-{p}-{i:03d}" for i in range(MORE_PER_PARTITION)]
        produce(p, values, f"produce {MORE_PER_PARTITION} more records to partition {p}")
        for i, v in enumerate(values):
            new[(p, PER_PARTITION + i)] = v
    g3 = GroupKcat("kcat-G-3", GROUP)
    procs.append(g3)
    wait_procs([g3], lambda: len(g3.snapshot()[0]) >= len(new), f"a third kcat -G prints {len(new)} records", 15)
    wait_procs([g3], lambda: g3.held() == ALL, f"{g3.name} holds all partitions", 5)
    time.sleep(1.0)  # nothing else may arrive
    r3, _, bad3 = g3.snapshot()
    check(not bad3, "kcat -f output lines", [], bad3[:3])
    check_records(r3, new, "a third kcat -G of the group (committed offsets, not auto.offset.reset=earliest)")
    g3.stop("SIGINT to the third kcat -G")
    co = committed_offsets()
    end = {p: PER_PARTITION + MORE_PER_PARTITION for p in ALL}
    check(co == end, "the group's committed offsets after the third process", end, co)
    step(f"a third kcat -G of the group printed exactly the {len(new)} new records and exited 0; committed "
         f"offsets {co}")


if __name__ == "__main__":
    BOOT = bootstrap_arg("groups_kcat_test.py")
    suffix = uuid.uuid4().hex[:12]
    TOPIC = f"kcat-groups-{suffix}"
    GROUP = f"kcat-group-{suffix}"
    ktest.run("groups_kcat_test.py", main, f"topic {TOPIC}, group {GROUP}")
