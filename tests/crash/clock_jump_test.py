"""Wall-clock jumps under load (issue 18).

sentryd runs under clock_shift (tests/crash/clock_shift.cc: LD_PRELOAD, its
wall clock shifted by what a file says, its monotonic clock left alone). A topic
with retention.ms = 1 hour and LogAppendTime timestamps gets records, then:
  1. the wall clock jumps 5 hours ahead: the broker logs the jump, and the
     retention passes after it delete nothing (every record is minutes old by
     the monotonic clock; Kafka would delete them all);
  2. records are appended at the jumped time, then the clock jumps 8 hours
     back and more records come: their timestamps go backwards, the time
     index stays monotonic (offsetsForTimes finds the first record at or
     after a time, never one of the later, older-stamped ones), and
     `sentryctl verify` finds the .timeindex exactly as the log implies;
  3. the clock comes back: nothing was deleted, every record is readable.

usage: clock_jump_test.py --sentryd PATH --sentryctl PATH --clock-shift LIB [--workdir DIR]
"""

import argparse
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "cluster"))
from cluster_harness import Broker, wait_for  # noqa: E402

from confluent_kafka import Consumer, Producer, TopicPartition  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402

TOPIC = "aged"
HOUR_MS = 3_600_000
# The broker's log lines (src/common/age_clock.cc). The jump's WARN line
# itself says "until the wall clock is back", so match the INFO line's start.
JUMPED = "The wall clock jumped"
BACK = "The wall clock is back within"


def produce(bootstrap, first, count):
    """`count` records, every one acknowledged (or an exception naming why not)."""
    errors = []

    def delivered(err, _msg):
        if err is not None:
            errors.append(err)
    # Batches well under the 64 KiB segments (a batch must fit one segment).
    p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5,
                  "batch.size": 16384})
    for i in range(first, first + count):
        p.produce(TOPIC, value=f"r{i}".encode() + b"x" * 100, partition=0, on_delivery=delivered)
        if i % 1000 == 0:
            p.poll(0)
    if p.flush(60):
        raise RuntimeError("produce did not finish")
    if errors:
        raise RuntimeError(f"{len(errors)} of {count} records failed, first: {errors[0]}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sentryd", required=True)
    ap.add_argument("--sentryctl", required=True)
    ap.add_argument("--clock-shift", required=True)
    ap.add_argument("--workdir")
    args = ap.parse_args()
    workdir = args.workdir or tempfile.mkdtemp(prefix="sentry-clock-")
    os.makedirs(workdir, exist_ok=True)
    shift = os.path.join(workdir, "clock-shift")
    with open(shift, "wb") as f:
        f.write(struct.pack("<q", 0))
    env = dict(os.environ, LD_PRELOAD=os.path.abspath(args.clock_shift),
               SENTRY_CLOCK_SHIFT_FILE=shift)
    broker = Broker(args.sentryd, workdir, 0, None,
                    ["--stats.interval.ms", "0", "--log.retention.check.interval.ms", "200"],
                    env=env)

    def log_text():
        return broker.output(False)

    def set_shift(hours):
        # In place: sentryd maps this file and reads it at every clock read.
        with open(shift, "r+b") as f:
            f.write(struct.pack("<q", hours * HOUR_MS))

    def clock_ahead_s():
        return broker.metric("sentry_wall_clock_ahead_seconds")

    ok = False
    try:
        broker.start()
        bootstrap = broker.bootstrap
        admin = AdminClient({"bootstrap.servers": bootstrap})
        admin.create_topics([NewTopic(TOPIC, 1, 1, config={
            "retention.ms": str(HOUR_MS), "message.timestamp.type": "LogAppendTime",
            "segment.bytes": "65536"})])[TOPIC].result(30)
        c = Consumer({"bootstrap.servers": bootstrap, "group.id": "clock",
                      "enable.auto.commit": False})
        tp = TopicPartition(TOPIC, 0)

        produce(bootstrap, 0, 2000)  # ~250 KB: several 64 KiB segments to delete
        set_shift(5)
        wait_for(lambda: JUMPED in log_text(), "the broker to notice the jump", 30)
        # Deleting is what must not happen: a non-event cannot be awaited, so
        # let five more retention passes (200 ms apart) run first.
        time.sleep(1.0)
        low, high = c.get_watermark_offsets(tp, timeout=10)
        failures = []
        if low != 0 or high != 2000:
            failures.append(f"after a 5 h forward jump the log is [{low}, {high}), not [0, 2000)")
        ahead = clock_ahead_s()
        if ahead is None or abs(ahead - 5 * 3600) > 60:
            failures.append(f"/metrics: sentry_wall_clock_ahead_seconds {ahead}, not about 18000")

        produce(bootstrap, 2000, 500)  # stamped about 5 h ahead
        jumped = c.offsets_for_times([TopicPartition(TOPIC, 0, int(time.time() * 1000) + 4 * HOUR_MS)],
                                     timeout=10)[0].offset
        set_shift(-3)
        # The retention pass that first sees the clock 8 h back follows it.
        wait_for(lambda: BACK in log_text(), "the broker to follow the clock "
                 "back", 30)
        if clock_ahead_s() != 0:
            failures.append(f"/metrics: sentry_wall_clock_ahead_seconds {clock_ahead_s()} after "
                            "the clock went back, not 0")
        produce(bootstrap, 2500, 500)  # stamped 3 h behind: older than the last ones
        again = c.offsets_for_times([TopicPartition(TOPIC, 0, int(time.time() * 1000) + 4 * HOUR_MS)],
                                    timeout=10)[0].offset
        if jumped != 2000 or again != 2000:
            failures.append(f"offsetsForTimes(now + 4 h) is {jumped}, then {again} after older "
                            "records; 2000 expected (the first record stamped after the jump)")
        set_shift(0)  # 3 h forward from there: a second jump, held back again
        wait_for(lambda: log_text().count(JUMPED) == 2, "the second jump", 30)
        time.sleep(1.0)  # five more retention passes: again, deleting must not happen
        low, high = c.get_watermark_offsets(tp, timeout=10)
        if low != 0 or high != 3000:
            failures.append(f"at the end the log is [{low}, {high}), not [0, 3000)")
        c.close()
        if broker.stop() != 0:
            failures.append(f"sentryd exited with {broker.proc.returncode}")
        r = subprocess.run([args.sentryctl, "verify", broker.data_dir], capture_output=True, text=True)
        if r.returncode != 0 or "intact" not in r.stdout:
            failures.append(f"sentryctl verify: {r.stdout}{r.stderr}")
        for f in failures:
            print("FAIL:", f)
        if failures:
            print(log_text()[-4000:])
            return 1
        print("PASS: 5 h forward jump deleted nothing; timestamps going 8 h back left the time "
              "index monotonic and verified")
        ok = True
        return 0
    except Exception as e:  # noqa: BLE001
        print(f"FAIL: {type(e).__name__}: {e}")
        print(log_text()[-4000:])
        return 1
    finally:
        broker.kill()
        if ok and not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
