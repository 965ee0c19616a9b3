#!/usr/bin/env python3
"""Capture proxy for golden Kafka request frames.

Listens on a TCP port, forwards every connection to a Kafka broker (sentryd's
Kafka listener), and passes the bytes through unchanged in both directions.
Each client->broker request frame (4-byte big-endian length, then the body)
is also written, body only and without the length prefix, as lowercase hex
(one line, trailing newline) to

    <out-dir>/<client>_<ApiName>_v<version>.hex

where the api key and version are the first two int16s of the body. Only the
first frame of each (client, api, version) is kept: a file that already
exists in <out-dir> is never overwritten (unless --overwrite is given, and
then only by the first frame seen by this run). Every frame is logged on
stderr as "conn N -> ApiName vV corr C len L [saved FILE]".

Clients must make *every* connection through the proxy, including the ones
they open after bootstrap to the address the broker's Metadata advertises.
So bind the broker to another loopback address and let it advertise the
proxy's address; the proxy listens on that address and the same port:

    sentryd --data-dir /tmp/golden-b --port 0 --stats.interval.ms 0 \\
        --host 127.0.0.2 --kafka.port 39092 --advertised.host 127.0.0.1 &
    /usr/bin/python3 capture_proxy.py --listen 127.0.0.1:39092 \\
        --broker 127.0.0.2:39092 --client librdkafka --out-dir . &
    kcat -b 127.0.0.1:39092 -L

(--advertised.host changes only the host; the advertised port is the Kafka
listener's own port, hence the same port on both addresses.)

Use a different --client name (and restart the proxy) per client library so
that captures of different clients do not mix. Stop it with SIGINT/SIGTERM.
Only the Python standard library is needed.
"""

import argparse
import asyncio
import itertools
import os
import signal
import struct
import sys

# Apache Kafka API key -> name (the names of Kafka's message schemas).
API_NAMES = {
    0: "Produce", 1: "Fetch", 2: "ListOffsets", 3: "Metadata",
    4: "LeaderAndIsr", 5: "StopReplica", 6: "UpdateMetadata",
    7: "ControlledShutdown", 8: "OffsetCommit", 9: "OffsetFetch",
    10: "FindCoordinator", 11: "JoinGroup", 12: "Heartbeat",
    13: "LeaveGroup", 14: "SyncGroup", 15: "DescribeGroups",
    16: "ListGroups", 17: "SaslHandshake", 18: "ApiVersions",
    19: "CreateTopics", 20: "DeleteTopics", 21: "DeleteRecords",
    22: "InitProducerId", 23: "OffsetForLeaderEpoch",
    24: "AddPartitionsToTxn", 25: "AddOffsetsToTxn", 26: "EndTxn",
    27: "WriteTxnMarkers", 28: "TxnOffsetCommit", 29: "DescribeAcls",
    30: "CreateAcls", 31: "DeleteAcls", 32: "DescribeConfigs",
    33: "AlterConfigs", 34: "AlterReplicaLogDirs", 35: "DescribeLogDirs",
    36: "SaslAuthenticate", 37: "CreatePartitions",
    38: "CreateDelegationToken", 39: "RenewDelegationToken",
    40: "ExpireDelegationToken", 41: "DescribeDelegationToken",
    42: "DeleteGroups", 43: "ElectLeaders",
    44: "IncrementalAlterConfigs", 45: "AlterPartitionReassignments",
    46: "ListPartitionReassignments", 47: "OffsetDelete",
    48: "DescribeClientQuotas", 49: "AlterClientQuotas",
    50: "DescribeUserScramCredentials", 51: "AlterUserScramCredentials",
    55: "DescribeQuorum", 56: "AlterPartition", 57: "UpdateFeatures",
    60: "DescribeCluster", 61: "DescribeProducers",
    65: "DescribeTransactions", 66: "ListTransactions",
    67: "AllocateProducerIds", 68: "ConsumerGroupHeartbeat",
}

MAX_FRAME = 256 * 1024 * 1024


def api_name(key):
    return API_NAMES.get(key, "ApiKey%d" % key)


class Capture:
    def __init__(self, out_dir, client, overwrite):
        self.out_dir = out_dir
        self.client = client
        self.overwrite = overwrite
        self.seen = set()  # (key, version) already handled by this run

    def frame(self, conn, body):
        if len(body) < 8:
            log("conn %d -> short frame of %d bytes" % (conn, len(body)))
            return
        key, version, corr = struct.unpack(">hhi", body[:8])
        name = api_name(key)
        note = ""
        if (key, version) not in self.seen:
            self.seen.add((key, version))
            fname = "%s_%s_v%d.hex" % (self.client, name, version)
            path = os.path.join(self.out_dir, fname)
            if self.overwrite or not os.path.exists(path):
                tmp = path + ".tmp"
                with open(tmp, "w") as f:
                    f.write(body.hex() + "\n")
                os.replace(tmp, path)
                note = " saved " + fname
            else:
                note = " (kept existing " + fname + ")"
        log("conn %d -> %s v%d corr %d len %d%s" % (conn, name, version, corr, len(body), note))


def log(msg):
    print(msg, file=sys.stderr, flush=True)


async def pump_requests(conn, reader, writer, capture):
    """Client -> broker: forward unchanged, parsing frames on the way."""
    buf = bytearray()
    while True:
        data = await reader.read(65536)
        if not data:
            break
        writer.write(data)
        buf += data
        while len(buf) >= 4:
            (n,) = struct.unpack(">i", buf[:4])
            if n < 0 or n > MAX_FRAME:
                log("conn %d -> bad frame length %d; no more parsing" % (conn, n))
                buf = None
                break
            if len(buf) < 4 + n:
                break
            capture.frame(conn, bytes(buf[4:4 + n]))
            del buf[:4 + n]
        if buf is None:
            # Keep forwarding, stop parsing.
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                writer.write(data)
                await writer.drain()
            break
        await writer.drain()


async def pump(reader, writer):
    while True:
        data = await reader.read(65536)
        if not data:
            break
        writer.write(data)
        await writer.drain()


async def handle(client_r, client_w, broker_addr, capture, ids):
    conn = next(ids)
    peer = client_w.get_extra_info("peername")
    try:
        broker_r, broker_w = await asyncio.open_connection(*broker_addr)
    except OSError as e:
        log("conn %d from %s: cannot reach broker: %s" % (conn, peer, e))
        client_w.close()
        return
    log("conn %d from %s: open" % (conn, peer))
    up = asyncio.ensure_future(pump_requests(conn, client_r, broker_w, capture))
    down = asyncio.ensure_future(pump(broker_r, client_w))
    done, pending = await asyncio.wait({up, down}, return_when=asyncio.FIRST_COMPLETED)
    who = "client" if up in done else "broker"
    for t in done:
        if t.exception() is not None:
            who += " (%r)" % (t.exception(),)
    for t in pending:
        t.cancel()
    for w in (client_w, broker_w):
        try:
            w.close()
        except Exception:
            pass
    log("conn %d: closed by %s" % (conn, who))


def hostport(s):
    host, _, port = s.rpartition(":")
    return host or "127.0.0.1", int(port)


async def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--listen", default="127.0.0.1:39092", help="host:port to listen on")
    ap.add_argument("--broker", default="127.0.0.2:39092", help="host:port of the broker")
    ap.add_argument("--client", required=True, help="client name, the file name prefix")
    ap.add_argument("--out-dir", default=".", help="where the .hex files go")
    ap.add_argument("--overwrite", action="store_true",
                    help="replace existing files (by the first frame of this run)")
    args = ap.parse_args()
    os.makedirs(args.out_dir, exist_ok=True)
    capture = Capture(args.out_dir, args.client, args.overwrite)
    ids = itertools.count(1)
    broker = hostport(args.broker)
    lhost, lport = hostport(args.listen)
    server = await asyncio.start_server(
        lambda r, w: handle(r, w, broker, capture, ids), lhost, lport, reuse_address=True)
    log("capture proxy: %s:%d -> %s:%d, client %s, out %s"
        % (lhost, lport, broker[0], broker[1], args.client, args.out_dir))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()
    log("capture proxy: stopped")


if __name__ == "__main__":
    asyncio.run(main())
