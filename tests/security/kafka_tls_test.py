"""TLS listeners (issue 19), with real clients and openssl.

The test makes its own certificates with openssl: a CA, a server certificate
(SAN 127.0.0.1), a client certificate of the CA (CN=alice) and one of a rogue
CA. sentryd starts with a Kafka TLS listener, a native TLS listener, HTTPS,
tls.client.auth=requested, kafka.sasl=required and PLAIN enabled. Then:
  1. openssl s_client: TLS 1.2 and 1.3 handshake, the chain verifies against
     the CA; TLS 1.1 and 1.0 are refused (counted as failed handshakes);
  2. confluent-kafka, SASL_SSL + SCRAM-SHA-512: creates a topic, produces 200
     records and reads them back in a group;
  3. kafka-python, SASL_SSL + SCRAM-SHA-256, and kcat, SASL_SSL + PLAIN;
  4. PLAIN: offered on the TLS listener, not on the plaintext one; a wrong
     PLAIN password fails with SASL_AUTHENTICATION_FAILED;
  5. client certificates: the CA's is accepted, the rogue CA's refused;
  6. the native TLS listener answers METADATA naming its own port; sentryctl
     --tls-ca produces and consumes through it (a group too), sentry-bench
     --tls-ca produces through it; sentryctl refuses a broker whose
     certificate is not of the CA it trusts; sentryctl with a client
     certificate of the CA is served, with one of the rogue CA refused;
  7. hostile input: random bytes, a handshake cut off by the client, and one
     left half done (closed by the broker after its 10 s handshake timeout);
     the broker goes on serving;
  8. reload: a new certificate copied over the files is served to new
     connections within seconds while a producer connected before keeps
     producing; a key that does not match keeps the old certificate; SIGHUP
     reloads at once;
  9. /metrics (read over HTTPS throughout) counts the handshakes (ok and
     failed) and the reloads; plain HTTP to the HTTPS port gets no answer;
 10. a second broker with only a TLS Kafka listener (kafka.port=-1) serves
     kcat;
 11. native.sasl=required with a native TLS port: sentryctl as bob with
     PLAIN over TLS produces 50 records and reads them back; sentryctl
     refuses PLAIN to the plaintext native port before sending anything
     (the broker would refuse it, but only after the password); sentry-bench
     over TLS authenticates as alice (SCRAM-SHA-512).

usage: kafka_tls_test.py --sentryd PATH --sentryctl PATH --sentry-bench PATH [--workdir DIR]
"""

import argparse
import os
import re
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import time
import http.client
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "cluster"))
sys.path.insert(0, HERE)
from cluster_harness import Broker, wait_for  # noqa: E402
from kafka_sasl_test import Raw, kbytes, kstring, produce_then_read_in_group  # noqa: E402

from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402

ALICE = ("alice", "alice-secret-1")  # SCRAM-SHA-512
BOB = ("bob", "bob-secret-2")        # SCRAM-SHA-256
SASL_AUTHENTICATION_FAILED = 58
UNSUPPORTED_SASL_MECHANISM = 33
KAFKA_TLS = re.compile(r"Listening for Kafka TLS connections on [^ \n]+:(\d+)")
NATIVE_TLS = re.compile(r"Listening for native TLS connections on [^ \n]+:(\d+)")


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_certificates(d):
    """CA, server (two of them, for the reload), client, rogue CA + client."""
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    for ca in ("ca", "rogue-ca"):
        openssl("req", "-x509", *ec, "-keyout", f"{ca}.key", "-out", f"{ca}.pem", "-days", "2",
                "-subj", f"/CN=Sentry {ca}", cwd=d)
    with open(os.path.join(d, "server.ext"), "w") as f:
        f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    with open(os.path.join(d, "client.ext"), "w") as f:
        f.write("extendedKeyUsage=clientAuth\n")
    for name, subject, ca, ext in (("server-1", "/CN=localhost", "ca", "server.ext"),
                                   ("server-2", "/CN=localhost", "ca", "server.ext"),
                                   ("alice", "/O=Sentry/CN=alice", "ca", "client.ext"),
                                   ("mallory", "/CN=mallory", "rogue-ca", "client.ext")):
        openssl("req", *ec, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", subject,
                cwd=d)
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key",
                "-CAcreateserial", "-out", f"{name}.pem", "-days", "2", "-extfile", ext, cwd=d)


def serial_of(pem_path):
    r = subprocess.run(["openssl", "x509", "-noout", "-serial", "-in", pem_path],
                       capture_output=True, text=True, check=True)
    return r.stdout.strip().split("=", 1)[1].upper()


def s_client(port, *extra, cafile=None):
    """openssl s_client output for a handshake then EOF."""
    args = ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-showcerts", *extra]
    if cafile:
        args += ["-CAfile", cafile, "-verify_return_error"]
    r = subprocess.run(args, input="", capture_output=True, text=True, timeout=20)
    return r.stdout + r.stderr


def served_serial(port, cafile):
    out = s_client(port, cafile=cafile)
    m = re.search(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", out, re.S)
    if not m:
        return None
    r = subprocess.run(["openssl", "x509", "-noout", "-serial"], input=m.group(0),
                       capture_output=True, text=True)
    return r.stdout.strip().split("=", 1)[1].upper() if r.returncode == 0 else None


class TlsRaw(Raw):
    """A bare Kafka connection over TLS (Raw's requests and answers)."""

    def __init__(self, port, cafile, cert=None):
        ctx = ssl.create_default_context(cafile=cafile)
        if cert:
            ctx.load_cert_chain(cert + ".pem", cert + ".key")
        plain = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.s = ctx.wrap_socket(plain, server_hostname="127.0.0.1")
        self.corr = 0


def handshake_mechanisms(raw, mechanism):
    """SaslHandshake v1: (error code, mechanisms offered)."""
    body = raw.request(17, 1, kstring(mechanism))
    err, n = struct.unpack(">hi", body[:6])
    pos, names = 6, []
    for _ in range(n):
        ln = struct.unpack(">h", body[pos:pos + 2])[0]
        names.append(body[pos + 2:pos + 2 + ln].decode())
        pos += 2 + ln
    return err, names


def plain_attempt(raw, user, password):
    """SaslHandshake PLAIN + SaslAuthenticate v1: the error code."""
    err, names = handshake_mechanisms(raw, "PLAIN")
    if err != 0:
        return ("handshake", err, names)
    body = raw.request(36, 1, kbytes(b"\0" + user.encode() + b"\0" + password.encode()))
    return None if body is None else struct.unpack(">h", body[:2])[0]


def native_metadata_port(port, cafile):
    """METADATA over the native TLS listener: the port it names."""
    ctx = ssl.create_default_context(cafile=cafile)
    with ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10),
                         server_hostname="127.0.0.1") as s:
        body = struct.pack(">I", 0)  # every topic
        s.sendall(struct.pack(">IHHI", 8 + len(body), 4, 1, 7) + body)
        head = b""
        while len(head) < 4:
            head += s.recv(4 - len(head))
        n = struct.unpack(">I", head)[0]
        frame = b""
        while len(frame) < n:
            chunk = s.recv(n - len(frame))
            if not chunk:
                break
            frame += chunk
        api, version, corr, err = struct.unpack(">HHIh", frame[:10])
        if (api, corr, err) != (4, 7, 0):
            return None
        pos = 10 + 4  # broker_id
        hl = struct.unpack(">H", frame[pos:pos + 2])[0]
        return struct.unpack(">i", frame[pos + 2 + hl:pos + 6 + hl])[0]


def closed_by_peer(sock, timeout_s):
    """True when the broker closes `sock` within timeout_s."""
    sock.settimeout(timeout_s)
    try:
        return sock.recv(1) == b""
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sentryd", required=True)
    ap.add_argument("--sentryctl", required=True)
    ap.add_argument("--sentry-bench", required=True)
    ap.add_argument("--workdir")
    args = ap.parse_args()
    workdir = args.workdir or tempfile.mkdtemp(prefix="sentry-tls-")
    os.makedirs(workdir, exist_ok=True)
    certs = os.path.join(workdir, "certs")
    os.makedirs(certs, exist_ok=True)
    make_certificates(certs)
    ca = os.path.join(certs, "ca.pem")
    cert_file, key_file = os.path.join(certs, "tls.pem"), os.path.join(certs, "tls.key")
    shutil.copy(os.path.join(certs, "server-1.pem"), cert_file)
    shutil.copy(os.path.join(certs, "server-1.key"), key_file)
    broker = Broker(args.sentryd, workdir, 0, None, [
        "--kafka.sasl", "required", "--sasl.mechanisms", "SCRAM-SHA-256,SCRAM-SHA-512,PLAIN",
        "--kafka.tls.port", "0", "--native.tls.port", "0", "--tls.cert.file", cert_file,
        "--tls.key.file", key_file, "--tls.ca.file", ca, "--tls.client.auth", "requested",
        "--http.tls", "true"], http_ca=ca)
    os.makedirs(broker.data_dir, exist_ok=True)
    for (user, password), mech in ((ALICE, "SCRAM-SHA-512"), (BOB, "SCRAM-SHA-256")):
        subprocess.run([args.sentryctl, "user", "create", user, "--mechanism", mech,
                        "--password", password, "--data-dir", broker.data_dir], check=True,
                       capture_output=True)
    failures = []
    others = []  # more brokers, killed at the end

    def handshakes(result):
        return broker.metric('sentry_tls_handshakes_total{listener="kafka-tls",result="%s"}'
                             % result) or 0

    ok = False
    try:
        broker.start()
        out = wait_for(lambda: (lambda o: o if KAFKA_TLS.search(o) and NATIVE_TLS.search(o)
                                else None)(broker.output()), "the TLS listeners", 30)
        tls_port = int(KAFKA_TLS.search(out).group(1))
        native_tls_port = int(NATIVE_TLS.search(out).group(1))
        bootstrap = f"127.0.0.1:{tls_port}"

        # 7a. A handshake left half done, opened first: the broker must close
        #     it on its own within its 10 s handshake timeout.
        stuck = socket.create_connection(("127.0.0.1", tls_port), timeout=10)
        stuck.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")  # a ClientHello's start
        stuck_since = time.monotonic()

        # 1. Protocol versions and the chain.
        for version in ("-tls1_2", "-tls1_3"):
            text = s_client(tls_port, version, cafile=ca)
            if "Verify return code: 0 (ok)" not in text or "Cipher is (NONE)" in text:
                failures.append(f"s_client {version}: no verified handshake\n{text[-1500:]}")
        failed_before = handshakes("failed")
        for version in ("-tls1_1", "-tls1"):
            text = s_client(tls_port, version, "-cipher", "DEFAULT@SECLEVEL=0")
            if "Cipher is (NONE)" not in text:
                failures.append(f"s_client {version} was not refused\n{text[-1500:]}")
        wait_for(lambda: handshakes("failed") >= failed_before + 2,
                 "2 refused old-version handshakes counted", 10)
        print("openssl s_client: TLS 1.2 and 1.3 verified; TLS 1.1 and 1.0 refused", flush=True)

        # 2. confluent-kafka over SASL_SSL, SCRAM-SHA-512.
        alice = {"bootstrap.servers": bootstrap, "security.protocol": "SASL_SSL",
                 "ssl.ca.location": ca, "sasl.mechanism": "SCRAM-SHA-512",
                 "sasl.username": ALICE[0], "sasl.password": ALICE[1]}
        admin = AdminClient(alice)
        admin.create_topics([NewTopic("secure", 2, 1)])["secure"].result(30)
        # The producer stays connected across the reloads below.
        early, read = produce_then_read_in_group(alice, "secure", "confluent-kafka SASL_SSL",
                                                 failures)
        print(f"confluent-kafka SASL_SSL SCRAM-SHA-512: 200 produced, {read} consumed",
              flush=True)

        # 3. kafka-python (SASL_SSL, SCRAM-SHA-256) and kcat (SASL_SSL, PLAIN).
        from kafka import KafkaConsumer, KafkaProducer
        kp_conf = dict(bootstrap_servers=bootstrap, security_protocol="SASL_SSL",
                       ssl_cafile=ca, sasl_mechanism="SCRAM-SHA-256",
                       sasl_plain_username=BOB[0], sasl_plain_password=BOB[1])
        kp = KafkaProducer(**kp_conf)
        futures = [kp.send("secure", b"b%d" % i, partition=0) for i in range(50)]
        kp.flush(30)
        kp.close()
        if not all(f.succeeded() for f in futures):
            failures.append("kafka-python SASL_SSL produce failed")
        kc = KafkaConsumer("secure", auto_offset_reset="earliest", consumer_timeout_ms=5000,
                           **kp_conf)
        seen = sum(1 for m in kc if m.value.startswith(b"b"))
        kc.close()
        if seen != 50:
            failures.append(f"kafka-python SASL_SSL read {seen} of 50")
        r = subprocess.run(["kcat", "-b", bootstrap, "-X", "security.protocol=SASL_SSL",
                            "-X", f"ssl.ca.location={ca}", "-X", "sasl.mechanisms=PLAIN",
                            "-X", f"sasl.username={BOB[0]}", "-X", f"sasl.password={BOB[1]}",
                            "-C", "-t", "secure", "-p", "0", "-o", "beginning", "-e", "-q"],
                           capture_output=True, text=True, timeout=60)
        kcat_b = sum(1 for line in r.stdout.split("\n") if line.startswith("b"))
        if r.returncode != 0 or kcat_b != 50:
            failures.append(f"kcat SASL_SSL PLAIN read {kcat_b} of 50: rc {r.returncode} "
                            f"{r.stderr[-500:]}")
        print(f"kafka-python SASL_SSL SCRAM-SHA-256: {seen} of 50 read back; kcat PLAIN over "
              f"TLS read {kcat_b}", flush=True)

        # 4. PLAIN: over TLS only; a wrong password fails.
        raw = Raw(broker.kafka_port)
        err, names = handshake_mechanisms(raw, "PLAIN")
        raw.close()
        if err != UNSUPPORTED_SASL_MECHANISM or "PLAIN" in names:
            failures.append(f"plaintext listener and PLAIN: error {err}, offers {names}")
        raw = TlsRaw(tls_port, ca)
        code = plain_attempt(raw, BOB[0], "not-bobs")
        raw.close()
        if code != SASL_AUTHENTICATION_FAILED:
            failures.append(f"PLAIN with a wrong password over TLS: {code}")
        raw = TlsRaw(tls_port, ca)
        code = plain_attempt(raw, BOB[0], BOB[1])
        raw.close()
        if code != 0:
            failures.append(f"PLAIN with bob's password over TLS: {code}")

        # 5. Client certificates: the CA's accepted, a rogue CA's refused.
        raw = TlsRaw(tls_port, ca, cert=os.path.join(certs, "alice"))
        if raw.request(18, 0, b"") is None:
            failures.append("a client certificate of the CA was not accepted")
        raw.close()
        try:
            raw = TlsRaw(tls_port, ca, cert=os.path.join(certs, "mallory"))
            answer = raw.request(18, 0, b"")
            raw.close()
            if answer is not None:
                failures.append("a client certificate of a rogue CA was accepted")
        except (ssl.SSLError, ConnectionResetError, BrokenPipeError):
            pass  # refused in the handshake (TLS 1.2) or at the first read (TLS 1.3)

        # 6. The native TLS listener.
        port_named = native_metadata_port(native_tls_port, ca)
        if port_named != native_tls_port:
            failures.append(f"native TLS METADATA names port {port_named}, not {native_tls_port}")
        native = ["--broker", f"127.0.0.1:{native_tls_port}", "--tls-ca", ca]
        lines = "".join(f"n{i}\n" for i in range(100))
        r = subprocess.run([args.sentryctl, *native, "produce", "secure", "--partition", "1"],
                           input=lines, capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            failures.append(f"sentryctl produce over TLS: {r.stdout}{r.stderr}")
        r = subprocess.run([args.sentryctl, *native, "consume", "secure", "--group", "tg"],
                           capture_output=True, text=True, timeout=60)
        read = [v for v in r.stdout.split("\n") if v.startswith("n")]
        if r.returncode != 0 or sorted(read) != sorted(f"n{i}" for i in range(100)):
            failures.append(f"sentryctl consume --group over TLS read {len(read)} of 100: "
                            f"rc {r.returncode} {r.stderr[-500:]}")
        r = subprocess.run([args.sentryctl, "--broker", f"127.0.0.1:{native_tls_port}",
                            "--tls-ca", os.path.join(certs, "rogue-ca.pem"), "topic", "list"],
                           capture_output=True, text=True, timeout=60)
        if r.returncode == 0 or "TLS handshake with 127.0.0.1 failed" not in r.stdout + r.stderr:
            failures.append(f"sentryctl trusting another CA: rc {r.returncode} {r.stdout}"
                            f"{r.stderr}")
        for who, want_ok in (("alice", True), ("mallory", False)):
            r = subprocess.run([args.sentryctl, *native, "--tls-cert",
                                os.path.join(certs, f"{who}.pem"), "--tls-key",
                                os.path.join(certs, f"{who}.key"), "topic", "list"],
                               capture_output=True, text=True, timeout=60)
            if (r.returncode == 0) != want_ok or (want_ok and "secure" not in r.stdout):
                failures.append(f"sentryctl with {who}'s client certificate: rc {r.returncode} "
                                f"{r.stdout}{r.stderr}")
        r = subprocess.run([args.sentry_bench, "produce", *native, "--topic", "bench-tls", "--records",
                            "20000", "--json"], capture_output=True, text=True, timeout=120)
        if r.returncode != 0 or '"tls":true' not in r.stdout or '"errors":0' not in r.stdout:
            failures.append(f"sentry-bench over TLS: rc {r.returncode} {r.stdout}{r.stderr}")
        print(f"PLAIN only over TLS; client certificates checked; native TLS METADATA names "
              f"port {port_named}; sentryctl and sentry-bench over TLS: {len(read)} of 100 "
              "read in a group", flush=True)

        # 7b. Garbage and a handshake cut off: the broker goes on serving.
        failed_before = handshakes("failed")
        for _ in range(20):
            with socket.create_connection(("127.0.0.1", tls_port), timeout=10) as g:
                g.sendall(os.urandom(512))
                closed_by_peer(g, 10)
            with socket.create_connection(("127.0.0.1", tls_port), timeout=10) as g:
                g.sendall(b"\x16\x03\x01\x00\xa0\x01\x00\x00\x9c\x03\x03")
        wait_for(lambda: handshakes("failed") >= failed_before + 40,
                 "40 broken handshakes counted", 20)
        if not closed_by_peer(stuck, max(1.0, 15 - (time.monotonic() - stuck_since))):
            failures.append("a half-done handshake was not closed within 15 s")
        print(f"hostile input: {handshakes('failed') - failed_before:.0f} broken handshakes "
              "counted; the half-done one closed", flush=True)

        # 8. Reload: a new certificate in the same files.
        old_serial = serial_of(os.path.join(certs, "server-1.pem"))
        new_serial = serial_of(os.path.join(certs, "server-2.pem"))
        if served_serial(tls_port, ca) != old_serial:
            failures.append("the first certificate is not the one served")
        shutil.copy(os.path.join(certs, "server-2.key"), key_file + ".tmp")
        shutil.copy(os.path.join(certs, "server-2.pem"), cert_file + ".tmp")
        os.replace(key_file + ".tmp", key_file)
        os.replace(cert_file + ".tmp", cert_file)
        wait_for(lambda: served_serial(tls_port, ca) == new_serial, "the new certificate", 15)
        errors = []
        early.produce("secure", value=b"after-reload", on_delivery=lambda e, _m: errors.append(e))
        early.flush(30)
        if errors != [None]:
            failures.append(f"a producer connected before the reload: {errors}")
        # A key that does not match: the broker keeps serving server-2's.
        refused = broker.output().count("TLS certificates not reloaded")
        shutil.copy(os.path.join(certs, "server-1.pem"), cert_file)
        wait_for(lambda: broker.output().count("TLS certificates not reloaded") > refused,
                 "the refused reload logged", 15)
        if served_serial(tls_port, ca) != new_serial:
            failures.append("a mismatched key replaced the certificate in use")
        shutil.copy(os.path.join(certs, "server-1.key"), key_file)
        reloads = broker.metric('sentry_tls_certificate_reloads_total{listener="kafka-tls"}')
        wait_for(lambda: broker.metric(
            'sentry_tls_certificate_reloads_total{listener="kafka-tls"}') > reloads,
            "the matching pair reloaded", 15)
        before_hup = broker.metric('sentry_tls_certificate_reloads_total{listener="kafka-tls"}')
        broker.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: broker.metric(
            'sentry_tls_certificate_reloads_total{listener="kafka-tls"}') > before_hup,
            "a reload on SIGHUP", 10)
        if served_serial(tls_port, ca) != old_serial:
            failures.append("after restoring server-1's pair, it is not served")
        print(f"reload: serial {old_serial[-6:]} -> {new_serial[-6:]} without dropping the "
              "producer; a mismatched key refused; SIGHUP reloads", flush=True)

        # 9. Metrics, and HTTPS.
        ok_handshakes = handshakes("ok")
        if ok_handshakes < 10:
            failures.append(f"/metrics counts {ok_handshakes} good TLS handshakes")
        if broker.http_get("/health/live").strip() != "live":
            failures.append("GET /health/live over HTTPS")
        http_failed = broker.metric('sentry_tls_handshakes_total{listener="http",result="failed"}')
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{broker.http_port}/metrics",
                                        timeout=5) as r:
                failures.append(f"plain HTTP to the HTTPS listener answered {r.status}")
        except (OSError, http.client.HTTPException):
            pass
        wait_for(lambda: broker.metric(
            'sentry_tls_handshakes_total{listener="http",result="failed"}') > http_failed,
            "the plain HTTP request counted as a failed handshake", 10)
        print(f"HTTPS: /metrics and /health over TLS; plain HTTP refused; {ok_handshakes:.0f} "
              "good Kafka TLS handshakes counted", flush=True)

        if broker.stop() != 0:
            failures.append(f"sentryd exited with {broker.proc.returncode}")

        # 10. A broker whose only Kafka listener is the TLS one.
        tls_only = Broker(args.sentryd, workdir, 1, None, [
            "--kafka.port", "-1", "--kafka.tls.port", "0", "--tls.cert.file", cert_file,
            "--tls.key.file", key_file])
        others.append(tls_only)
        tls_only.start(wait=False)
        out = wait_for(lambda: (lambda o: o if KAFKA_TLS.search(o) else None)(
            tls_only.output()), "the TLS-only Kafka listener", 30)
        only_port = int(KAFKA_TLS.search(out).group(1))
        r = subprocess.run(["kcat", "-b", f"127.0.0.1:{only_port}", "-X", "security.protocol=SSL",
                            "-X", f"ssl.ca.location={ca}", "-L"],
                           capture_output=True, text=True, timeout=60)
        if r.returncode != 0 or f"127.0.0.1:{only_port}" not in r.stdout:
            failures.append(f"kcat -L on a TLS-only Kafka listener: {r.stdout}{r.stderr}")
        print(f"TLS-only Kafka listener (kafka.port=-1): kcat lists broker 127.0.0.1:{only_port}",
              flush=True)

        # 11. The native listeners with native.sasl=required: PLAIN is offered
        # on the TLS port only; SCRAM on both.
        native_sasl = Broker(args.sentryd, workdir, 2, None, [
            "--native.sasl", "required", "--sasl.mechanisms", "SCRAM-SHA-256,SCRAM-SHA-512,PLAIN",
            "--native.tls.port", "0", "--tls.cert.file", cert_file, "--tls.key.file", key_file])
        others.append(native_sasl)
        os.makedirs(native_sasl.data_dir, exist_ok=True)
        for (user, password), mech in ((ALICE, "SCRAM-SHA-512"), (BOB, "SCRAM-SHA-256")):
            subprocess.run([args.sentryctl, "user", "create", user, "--mechanism", mech,
                            "--password", password, "--data-dir", native_sasl.data_dir],
                           check=True, capture_output=True)
        native_sasl.start()
        out = wait_for(lambda: (lambda o: o if NATIVE_TLS.search(o) else None)(
            native_sasl.output()), "the native TLS listener", 30)
        sasl_tls = ["--broker", f"127.0.0.1:{int(NATIVE_TLS.search(out).group(1))}",
                    "--tls-ca", ca]
        bob_plain = ["--user", BOB[0], "--password", BOB[1], "--sasl-mechanism", "PLAIN"]
        r = subprocess.run([args.sentryctl, *sasl_tls, *bob_plain, "topic", "create", "sasl-tls"],
                           capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            failures.append(f"sentryctl --tls-ca --user bob PLAIN topic create: {r.stderr}")
        r = subprocess.run([args.sentryctl, *sasl_tls, *bob_plain, "produce", "sasl-tls"],
                           input="".join(f"s{i}\n" for i in range(50)), capture_output=True,
                           text=True, timeout=60)
        if r.returncode != 0:
            failures.append(f"sentryctl --tls-ca --user bob PLAIN produce: {r.stdout}{r.stderr}")
        r = subprocess.run([args.sentryctl, *sasl_tls, *bob_plain, "consume", "sasl-tls",
                            "--from", "earliest", "--count", "50"],
                           capture_output=True, text=True, timeout=60)
        sasl_read = len(set(r.stdout.split()))
        if r.returncode != 0 or sasl_read != 50:
            failures.append(f"sentryctl --tls-ca --user bob PLAIN consume read {sasl_read} of 50: "
                            f"{r.stderr}")
        r = subprocess.run([args.sentryctl, "--broker", f"127.0.0.1:{native_sasl.port}",
                            *bob_plain, "topic", "list"], capture_output=True, text=True,
                           timeout=60)
        if r.returncode == 0 or "PLAIN would send the password in clear" not in r.stderr:
            failures.append(f"sentryctl PLAIN to the plaintext native port: rc {r.returncode} "
                            f"{r.stderr}")
        r = subprocess.run([args.sentry_bench, "produce", *sasl_tls, "--user", ALICE[0],
                            "--password", ALICE[1], "--topic", "bench-sasl-tls", "--records",
                            "20000", "--json"], capture_output=True, text=True, timeout=120)
        if r.returncode != 0 or '"tls":true' not in r.stdout or '"errors":0' not in r.stdout:
            failures.append(f"sentry-bench over TLS as alice: rc {r.returncode} {r.stdout}{r.stderr}")
        print(f"native.sasl over TLS: sentryctl as bob (PLAIN) read {sasl_read} of 50; PLAIN "
              "refused by sentryctl on the plaintext port; sentry-bench as alice (SCRAM-SHA-512)",
              flush=True)
        for f in failures:
            print("FAIL:", f)
        if failures:
            print(broker.output(False)[-4000:])
            return 1
        print("PASS")
        ok = True
        return 0
    except Exception as e:  # noqa: BLE001
        print(f"FAIL: {type(e).__name__}: {e}")
        print(broker.output(False)[-4000:])
        return 1
    finally:
        broker.kill()
        for b in others:
            b.kill()
        if ok and not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
