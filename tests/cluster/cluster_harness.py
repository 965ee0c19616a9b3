"""A Sentry cluster on this machine for tests: one etcd (Debian's binary, on
loopback ports, a temporary data directory) and N sentryd, each with its own
data directory and ports, all started and stopped by the test itself.

Ports are reserved (free_port) and checked against each broker's log lines;
every wait is on a condition with a deadline.
"""

import fcntl
import os
import random
import re
import shutil
import signal
import socket
import ssl
import subprocess
import threading
import time
import urllib.request

ETCD = "/usr/bin/etcd"


# Ports come from below the kernel's ephemeral range (32768 and up on
# Debian), so no bind(0) and no outgoing connection of another test takes
# one while its broker is down between a kill and a restart on it; each is
# reserved for this process's life by a lock on a file named after it, so
# tests running side by side (ctest -j) never share one. Before this, a
# restarted broker's port could belong to another test's cluster, whose
# brokers then answered this test's clients.
PORT_RANGE = (20000, 32000)
_port_locks = []  # open, locked files: released when the process exits


def free_port():
    lock_dir = os.path.join("/tmp", "sentry-test-ports")
    os.makedirs(lock_dir, exist_ok=True)
    lo, hi = PORT_RANGE
    first = random.randrange(lo, hi)
    for i in range(hi - lo):
        port = lo + (first - lo + i) % (hi - lo)
        fd = os.open(os.path.join(lock_dir, str(port)), os.O_CREAT | os.O_RDWR, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", port))
        except OSError:  # taken by something outside these tests
            os.close(fd)
            continue
        finally:
            s.close()
        _port_locks.append(fd)
        return port
    raise RuntimeError(f"no free port in {PORT_RANGE}")


def wait_for(cond, what, timeout_s=30, interval_s=0.05):
    deadline = time.monotonic() + timeout_s
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout_s}s waiting for: {what}")
        time.sleep(interval_s)


class Etcd:
    def __init__(self, workdir):
        self.dir = os.path.join(workdir, "etcd")
        self.client_port = free_port()
        self.peer_port = free_port()
        self.proc = None

    @property
    def endpoint(self):
        return f"http://127.0.0.1:{self.client_port}"

    def start(self):
        if not os.access(ETCD, os.X_OK):
            raise RuntimeError(f"{ETCD} missing: install Debian's etcd-server")
        c, p = self.endpoint, f"http://127.0.0.1:{self.peer_port}"
        self.proc = subprocess.Popen(
            [ETCD, "--name", "t", "--data-dir", self.dir, "--listen-client-urls", c,
             "--advertise-client-urls", c, "--listen-peer-urls", p,
             "--initial-advertise-peer-urls", p, "--initial-cluster", "t=" + p,
             "--log-level", "error"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        def healthy():
            try:
                with urllib.request.urlopen(self.endpoint + "/health", timeout=1) as r:
                    return b'"true"' in r.read()
            except OSError:
                return False
        wait_for(healthy, "etcd to answer /health", 30)

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=20)


class Broker:
    LISTEN = re.compile(r"Listening for producer connections on [^ \n]+:(\d+)")
    KAFKA = re.compile(r"Listening for Kafka protocol connections on [^ \n]+:(\d+)")
    HTTP = re.compile(r"Listening for HTTP on [^ \n]+:(\d+)")

    def __init__(self, sentryd, workdir, broker_id, etcd, extra, env=None, http_ca=None):
        """`etcd` None: a single-node broker. `env`: its environment (None:
        this process's). `http_ca`: the HTTP listener speaks TLS (http.tls)
        with a certificate of this CA."""
        self.sentryd = sentryd
        self.env = env
        self.http_ca = http_ca
        self.id = broker_id
        self.data_dir = os.path.join(workdir, f"broker-{broker_id}")
        self.log_path = os.path.join(workdir, f"broker-{broker_id}.log")
        self.etcd = etcd
        self.extra = list(extra)
        self.proc = None
        self.port = None
        self.kafka_port = None
        self._log = None
        self._lock = threading.Lock()
        self.starts = 0

    def start(self, wait=True):
        os.makedirs(self.data_dir, exist_ok=True)
        # Fixed ports across restarts: clients keep the addresses they know.
        own_kafka = "--kafka.port" in self.extra  # the caller's (-1: off; start(wait=False))
        if self.port is None:
            self.port = free_port()
            self.kafka_port = None if own_kafka else free_port()
        ports = ["--port", str(self.port)]
        if not own_kafka:
            ports += ["--kafka.port", str(self.kafka_port)]
        cluster = ["--cluster.etcd", self.etcd.endpoint, "--cluster.name", "test"] if self.etcd else []
        args = [self.sentryd, "--data-dir", self.data_dir, "--host", "127.0.0.1",
                "--http.port", "0", "--broker.id", str(self.id)] + cluster + ports + self.extra
        self._log = open(self.log_path, "a")
        self._log.write(f"==== start {self.starts} ====\n")
        self._log.flush()
        self.starts += 1
        self._start_offset = os.path.getsize(self.log_path)
        self.proc = subprocess.Popen(args, stdout=self._log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env=self.env)
        if wait:
            self.wait_listening()

    def output(self, since_start=True):
        with open(self.log_path, errors="replace") as f:
            if since_start:
                f.seek(self._start_offset)
            return f.read()

    def wait_listening(self, timeout_s=60):
        def ports():
            if self.proc.poll() is not None:
                raise RuntimeError(f"broker {self.id} exited ({self.proc.returncode}):\n"
                                   + self.output()[-3000:])
            out = self.output()
            m, k = self.LISTEN.search(out), self.KAFKA.search(out)
            return (int(m.group(1)), int(k.group(1))) if m and k else None
        self.port, self.kafka_port = wait_for(ports, f"broker {self.id} to listen", timeout_s)
        m = self.HTTP.search(self.output())
        self.http_port = int(m.group(1)) if m else None

    def metrics(self):
        """The broker's /metrics text ("" when it does not answer)."""
        try:
            return self.http_get("/metrics")
        except OSError:
            return ""

    def http_get(self, path):
        """GET path from the HTTP listener (HTTPS when http_ca is set)."""
        if self.http_ca:
            ctx = ssl.create_default_context(cafile=self.http_ca)
            url = f"https://127.0.0.1:{self.http_port}{path}"
        else:
            ctx, url = None, f"http://127.0.0.1:{self.http_port}{path}"
        with urllib.request.urlopen(url, timeout=5, context=ctx) as r:
            return r.read().decode()

    def metric(self, sample):
        """The value of one sample of /metrics, named with its labels as
        exposed (`name{a="b"}`), or None when absent."""
        for line in self.metrics().splitlines():
            name, _, value = line.rpartition(" ")
            if name == sample:
                return float(value)
        return None

    @property
    def bootstrap(self):
        return f"127.0.0.1:{self.kafka_port}"

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def kill(self):
        if self.running():
            self.proc.kill()
            self.proc.wait()

    def pause(self):
        os.kill(self.proc.pid, signal.SIGSTOP)

    def resume(self):
        os.kill(self.proc.pid, signal.SIGCONT)

    def stop(self, timeout_s=30):
        if self.running():
            self.proc.terminate()
            try:
                return self.proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                return -9
        return self.proc.returncode if self.proc else None

    def partition_log_bytes(self, topic, partition):
        """Every .log segment of the partition, concatenated in offset order."""
        d = os.path.join(self.data_dir, f"{topic}-{partition}")
        data = b""
        for name in sorted(n for n in os.listdir(d) if n.endswith(".log")):
            with open(os.path.join(d, name), "rb") as f:
                data += f.read()
        return data


class Cluster:
    def __init__(self, sentryd, workdir, n=3, extra=()):
        self.workdir = workdir
        os.makedirs(workdir, exist_ok=True)
        self.etcd = Etcd(workdir)
        self.brokers = [Broker(sentryd, workdir, i + 1, self.etcd, extra) for i in range(n)]

    def start(self):
        self.etcd.start()
        for b in self.brokers:
            b.start(wait=False)
        for b in self.brokers:
            b.wait_listening()

    def bootstrap(self):
        return ",".join(b.bootstrap for b in self.brokers if b.running())

    def broker(self, broker_id):
        return self.brokers[broker_id - 1]

    def stop(self):
        for b in self.brokers:
            b.stop()
        self.etcd.stop()

    def stop_cleanly(self):
        """SIGTERM to every broker at once; each must exit 0 (a clean stop
        leaves files whose bytes the tests compare)."""
        for b in self.brokers:
            b.proc.terminate()
        for b in self.brokers:
            rc = b.proc.wait(60)
            if rc != 0:
                raise AssertionError(f"broker {b.id} exited {rc} on SIGTERM")

    def kill_all(self):
        for b in self.brokers:
            b.kill()
        self.etcd.kill()


def verdict(failures, cluster=None):
    """Prints the failures (exit status 1) or PASS (0). With `cluster`, a
    failure also prints each broker's cluster-role log lines (who was the
    controller, sessions, leadership), which are what a flaky failure needs."""
    if failures:
        print("FAIL:\n  " + "\n  ".join(failures), flush=True)
        if cluster is not None:
            print_role_lines(cluster)
        return 1
    print("PASS", flush=True)
    return 0


def print_role_lines(cluster, last=60):
    for b in cluster.brokers:
        lines = [l for l in b.output(False).splitlines()
                 if "cluster" in l or "controller" in l or "====" in l
                 or "[warn" in l.lower() or "[error" in l.lower()]
        print(f"--- broker {b.id}: cluster log lines ---\n" + "\n".join(lines[-last:]),
              flush=True)


def fail_with_logs(cluster, e):
    """An unexpected exception: says so, with each broker's log tail (status 1)."""
    print(f"FAIL: {type(e).__name__}: {e}", flush=True)
    for b in cluster.brokers:
        print(f"--- broker {b.id} log tail ---\n{b.output(False)[-4000:]}", flush=True)
    return 1


def leader_and_isr(admin, topic):
    """(leader, sorted ISR) of partition 0 of `topic` from a confluent-kafka
    AdminClient's Metadata, or None while the topic or partition is unknown."""
    md = admin.list_topics(topic, timeout=5)
    t = md.topics.get(topic)
    if t is None or t.error or 0 not in t.partitions:
        return None
    p = t.partitions[0]
    return p.leader, sorted(p.isrs)


def create_replicated_topic(admin, topic):
    """Creates `topic` (one partition, 3 replicas, min.insync.replicas=2)
    and waits for a leader and a full ISR; returns the leader's id."""
    from confluent_kafka.admin import NewTopic
    admin.create_topics([NewTopic(topic, 1, 3, config={"min.insync.replicas": "2"})])[
        topic].result(30)
    leader, _ = wait_for(lambda: (s := leader_and_isr(admin, topic)) and s[0] >= 0
                         and len(s[1]) == 3 and s, "a leader and a full ISR", 30)
    return leader


def decode_batches(data):
    """(base_offset, leader_epoch, [(offset, value bytes)]) for each RecordBatch
    v2 in `data` (uncompressed batches; stops at zero padding)."""

    def varint(buf, i):
        shift = result = 0
        while True:
            b = buf[i]
            i += 1
            result |= (b & 0x7F) << shift
            if not b & 0x80:
                break
            shift += 7
        return (result >> 1) ^ -(result & 1), i

    out = []
    i = 0
    while i + 61 <= len(data):
        base = int.from_bytes(data[i:i + 8], "big", signed=True)
        length = int.from_bytes(data[i + 8:i + 12], "big", signed=True)
        if length <= 0:
            break
        epoch = int.from_bytes(data[i + 12:i + 16], "big", signed=True)
        attributes = int.from_bytes(data[i + 21:i + 23], "big")
        if attributes & 0x7:
            raise ValueError("compressed batch: the test producers send none")
        count = int.from_bytes(data[i + 57:i + 61], "big", signed=True)
        j = i + 61
        records = []
        for _ in range(count):
            _, j = varint(data, j)           # record length
            j += 1                           # attributes
            _, j = varint(data, j)           # timestamp delta
            delta, j = varint(data, j)       # offset delta
            klen, j = varint(data, j)
            j += max(klen, 0)
            vlen, j = varint(data, j)
            value = data[j:j + vlen] if vlen >= 0 else None
            j += max(vlen, 0)
            hcount, j = varint(data, j)
            for _ in range(hcount):
                hk, j = varint(data, j)
                j += hk
                hv, j = varint(data, j)
                j += max(hv, 0)
            records.append((base + delta, value))
        out.append((base, epoch, records))
        i += 12 + length
    return out


def rmtree(path):
    shutil.rmtree(path, ignore_errors=True)
