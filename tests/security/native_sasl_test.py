"""SASL on the native listener (issue 19): AUTHENTICATE (docs/protocol.md),
with sentryctl, sentry-bench and raw sockets.

Users are made with `sentryctl user create --data-dir` and an ACL written
offline before sentryd starts with `--native.sasl required` and the
authorizer on (super user admin; alice may only write topic "t"). Then:
  1. sentryctl without --user is refused with ILLEGAL_SASL_STATE and told to
     authenticate; with a wrong password it fails with "wrong user name or
     password"; admin (SCRAM-SHA-512, --password-file) creates a topic,
     produces 100 records and reads them back in a group;
  2. the principal is the SASL user: alice (SCRAM-SHA-256) may produce to
     "t" but not read it (TOPIC_AUTHORIZATION_FAILED), and sentry-bench as
     alice produces 5,000 records into "t";
  3. raw sockets: a request before AUTHENTICATE is answered
     ILLEGAL_SASL_STATE and the connection closed; an unoffered mechanism is
     UNSUPPORTED_SASL_MECHANISM with the offered list (PLAIN not offered on
     a plaintext port), and the same connection then authenticates; a
     malformed SCRAM message is SASL_AUTHENTICATION_FAILED and closes the
     connection; a second AUTHENTICATE without
     re-authentication, or a change of mechanism mid-exchange, is
     ILLEGAL_SASL_STATE and closes it; a frame over 512 KiB before
     AUTHENTICATE is MESSAGE_TOO_LARGE and closes the connection, after it
     is served;
  4. 200 wrong-password exchanges in a row (a wrong proof): all refused, counted
     (sentry_request_errors_total), the log rate-limited, admin still
     served;
  5. on a second broker with connections.max.reauth.ms=1500: AUTHENTICATE
     says the session lasts 1500 ms; re-authenticating on the same
     connection keeps it usable past that; a connection that does not is
     refused (ILLEGAL_SASL_STATE, closed) after it; re-authenticating as
     another user, or as the same user with another mechanism, fails; and
     sentryctl consume --follow (the C++ client) re-authenticates by itself
     and reads on across sessions;
  6. on a broker without native.sasl, AUTHENTICATE is ILLEGAL_SASL_STATE and
     the connection stays usable, and sentryctl --user says to drop --user.

usage: native_sasl_test.py --sentryd PATH --sentryctl PATH --sentry-bench PATH [--workdir DIR]
"""

import argparse
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "cluster"))
from cluster_harness import Broker, wait_for  # noqa: E402
from scram_messages import ScramClient  # noqa: E402

ADMIN = ("admin", "admin-secret-0", "SCRAM-SHA-512")
ALICE = ("alice", "alice-secret-1", "SCRAM-SHA-256")
BOB = ("bob", "bob-secret-2", "SCRAM-SHA-512")

API_VERSIONS, METADATA, AUTHENTICATE = 0, 4, 17
TOPIC_AUTHORIZATION_FAILED = 29
UNSUPPORTED_SASL_MECHANISM = 33
ILLEGAL_SASL_STATE = 34
SASL_AUTHENTICATION_FAILED = 58
REAUTH_MS = 1500


def nstring(s):
    b = s.encode()
    return struct.pack(">H", len(b)) + b


def nbytes(b):
    return struct.pack(">i", len(b)) + b


class Native:
    """A bare native connection: (error code, body) per request, or None
    once the broker closed it."""

    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.corr = 0

    def request(self, api_key, body=b""):
        self.corr += 1
        msg = struct.pack(">HHI", api_key, 1, self.corr) + body
        try:
            self.s.sendall(struct.pack(">I", len(msg)) + msg)
        except OSError:
            return None
        head = self.recv_exactly(4)
        if head is None:
            return None
        frame = self.recv_exactly(struct.unpack(">I", head)[0])
        if frame is None:
            return None
        key, _version, corr, err = struct.unpack(">HHIh", frame[:10])
        assert key == api_key and corr == self.corr, (key, corr)
        return err, frame[10:]

    def recv_exactly(self, n):
        data = b""
        while len(data) < n:
            try:
                chunk = self.s.recv(n - len(data))
            except OSError:
                return None
            if not chunk:
                return None
            data += chunk
        return data

    def closed(self):
        """True once the broker has closed the connection (EOF, within 10 s).
        Bytes still unread before the EOF are skipped: an answer that came
        while request() failed to send the rest of a frame the broker did
        not read."""
        self.s.settimeout(10)
        try:
            while self.s.recv(1 << 16):
                pass
            return True
        except socket.timeout:
            return False
        except OSError:
            return True

    def authenticate(self, mechanism, message):
        """(error, auth_bytes, authenticated, session_lifetime_ms), or
        (error, body) on an error, or None when closed."""
        answer = self.request(AUTHENTICATE, nstring(mechanism) + nbytes(message))
        if answer is None or answer[0] != 0:
            return answer
        body = answer[1]
        n = struct.unpack(">i", body[:4])[0]
        authenticated, lifetime = struct.unpack(">bq", body[4 + n:4 + n + 9])
        return 0, body[4:4 + n], authenticated, lifetime

    def scram(self, user, password, mechanism):
        """A whole SCRAM exchange: (final error, authenticated, lifetime,
        the server's signature checked), or None when closed."""
        c = ScramClient(user, password, mechanism)
        first = self.authenticate(mechanism, c.first())
        if first is None or first[0] != 0:
            return first and (first[0], 0, 0, False)
        last = self.authenticate(mechanism, c.final(first[1]))
        if last is None or last[0] != 0:
            return last and (last[0], 0, 0, False)
        return 0, last[2], last[3], c.verify(last[1])

    def metadata_ok(self):
        answer = self.request(METADATA, struct.pack(">i", 0))
        return answer is not None and answer[0] == 0

    def close(self):
        self.s.close()


def decode_mechanisms(body):
    n = struct.unpack(">i", body[:4])[0]
    out, pos = [], 4
    for _ in range(n):
        ln = struct.unpack(">H", body[pos:pos + 2])[0]
        out.append(body[pos + 2:pos + 2 + ln].decode())
        pos += 2 + ln
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sentryd", required=True)
    ap.add_argument("--sentryctl", required=True)
    ap.add_argument("--sentry-bench", required=True)
    ap.add_argument("--workdir")
    args = ap.parse_args()
    workdir = args.workdir or tempfile.mkdtemp(prefix="sentry-native-sasl-")
    os.makedirs(workdir, exist_ok=True)
    failures = []

    def check(cond, what):
        print(("ok   " if cond else "FAIL ") + what, flush=True)
        if not cond:
            failures.append(what)

    def ctl(*argv, user=None, password_file=None, stdin=None):
        login = []
        if user:
            login = ["--user", user[0], "--sasl-mechanism", user[2]]
            login += ["--password-file", password_file] if password_file else ["--password", user[1]]
        return subprocess.run([args.sentryctl, "--broker", native] + login + list(argv),
                              input=stdin, capture_output=True, text=True, timeout=60)

    broker = Broker(args.sentryd, workdir, 0, None,
                    ["--native.sasl", "required", "--authorizer.enabled", "true",
                     "--super.users", "User:admin"])
    reauth = Broker(args.sentryd, workdir, 1, None,
                    ["--native.sasl", "required", "--connections.max.reauth.ms", str(REAUTH_MS)])
    plain = Broker(args.sentryd, workdir, 2, None, [])
    # On the re-authentication broker everyone also has SCRAM-SHA-512, and
    # bob SCRAM-SHA-256 too: a change of user and a change of mechanism are
    # tested apart.
    more = [(ALICE[0], ALICE[1], "SCRAM-SHA-512"), (BOB[0], BOB[1], "SCRAM-SHA-256")]
    for b, users in ((broker, [ADMIN, ALICE, BOB]), (reauth, [ADMIN, ALICE, BOB] + more)):
        os.makedirs(b.data_dir, exist_ok=True)
        for user, password, mechanism in users:
            r = subprocess.run([args.sentryctl, "user", "create", user, "--mechanism", mechanism,
                                "--password", password, "--data-dir", b.data_dir],
                               capture_output=True, text=True)
            if r.returncode != 0:
                print(f"FAIL: sentryctl user create {user}: {r.stdout}{r.stderr}")
                return 1
    r = subprocess.run([args.sentryctl, "acl", "add", "--data-dir", broker.data_dir,
                        "--principal", "User:alice", "--operation", "write", "--topic", "t"],
                       capture_output=True, text=True)
    if r.returncode != 0:
        print(f"FAIL: sentryctl acl add --data-dir: {r.stdout}{r.stderr}")
        return 1
    password_file = os.path.join(workdir, "admin.password")
    with open(password_file, "w") as f:
        f.write(ADMIN[1] + "\n")

    ok = False
    try:
        broker.start()
        broker_started = time.monotonic()
        native = f"127.0.0.1:{broker.port}"

        # 1. sentryctl: no user, a wrong password, then admin.
        r = ctl("topic", "list")
        check(r.returncode == 1 and "ILLEGAL_SASL_STATE" in r.stderr
              and "--user" in r.stderr,
              f"sentryctl without --user is refused and told to authenticate: {r.stderr.strip()!r}")
        r = ctl("topic", "list", user=(ADMIN[0], "wrong", ADMIN[2]))
        check(r.returncode == 1 and "wrong user name or password" in r.stderr,
              f"a wrong password is refused clearly: {r.stderr.strip()!r}")
        r = ctl("topic", "create", "t", "--partitions", "2", user=ADMIN,
                password_file=password_file)
        check(r.returncode == 0, f"admin (--password-file) creates topic t: {r.stderr.strip()!r}")
        lines = "".join(f"r{i}\n" for i in range(100))
        r = ctl("produce", "t", user=ADMIN, stdin=lines)
        check(r.returncode == 0, f"admin produces 100 records: {r.stderr.strip()!r}")
        r = ctl("consume", "t", "--group", "g", "--count", "100", user=ADMIN)
        got = set(r.stdout.split())
        check(r.returncode == 0 and got == {f"r{i}" for i in range(100)},
              f"admin reads the 100 records back in a group ({len(got)} distinct, "
              f"{r.stderr.strip()[-120:]!r})")

        # 2. The principal is the SASL user.
        r = ctl("produce", "t", user=ALICE, stdin="a1\na2\n")
        check(r.returncode == 0, f"alice (SCRAM-SHA-256) may write t: {r.stderr.strip()!r}")
        r = ctl("consume", "t", "--partition", "0", "--count", "1", user=ALICE)
        check(r.returncode != 0 and "TOPIC_AUTHORIZATION_FAILED" in r.stdout + r.stderr,
              f"alice may not read t: {(r.stdout + r.stderr).strip()[-120:]!r}")
        r = ctl("produce", "t", user=BOB, stdin="b1\n")
        check(r.returncode != 0 and "TOPIC_AUTHORIZATION_FAILED" in r.stdout + r.stderr,
              f"bob, without an ACL, may not write t: {(r.stdout + r.stderr).strip()[-120:]!r}")
        r = subprocess.run([args.sentry_bench, "produce", "--broker", native, "--topic", "t",
                            "--partitions", "2", "--records", "5000", "--user", ALICE[0],
                            "--password", ALICE[1], "--sasl-mechanism", ALICE[2]],
                           capture_output=True, text=True, timeout=120)
        check(r.returncode == 0, f"sentry-bench as alice produces 5000 records: "
              f"{(r.stdout + r.stderr).strip()[-200:]!r}")
        r = ctl("topic", "describe", "t", user=ADMIN)
        check(r.returncode == 0, f"admin describes t: {r.stderr.strip()!r}")

        # 3. Raw sockets.
        c = Native(broker.port)
        answer = c.request(API_VERSIONS)
        check(answer is not None and answer[0] == 0, "API_VERSIONS is served before AUTHENTICATE")
        answer = c.request(METADATA, struct.pack(">i", 0))
        check(answer is not None and answer[0] == ILLEGAL_SASL_STATE and c.closed(),
              f"METADATA before AUTHENTICATE: ILLEGAL_SASL_STATE, then closed ({answer})")
        c.close()
        c = Native(broker.port)
        answer = c.authenticate("GSSAPI", b"x")
        offered = decode_mechanisms(answer[1]) if answer and answer[0] != 0 else None
        check(answer is not None and answer[0] == UNSUPPORTED_SASL_MECHANISM
              and offered == ["SCRAM-SHA-256", "SCRAM-SHA-512"],
              f"an unoffered mechanism gets the offered list {offered}")
        # (Not admin's real password: PLAIN would put it on the wire in clear.)
        answer = c.authenticate("PLAIN", b"\0admin\0not-the-password")
        check(answer is not None and answer[0] == UNSUPPORTED_SASL_MECHANISM,
              "PLAIN is not offered on a plaintext port")
        answer = c.scram(*ADMIN)
        check(answer == (0, 1, 0, True),
              f"the same connection then authenticates, the broker's signature checks ({answer})")
        check(c.metadata_ok(), "and is served")
        answer = c.scram(*ADMIN)
        check(answer is not None and answer[0] == ILLEGAL_SASL_STATE and c.closed(),
              f"AUTHENTICATE again without re-authentication: ILLEGAL_SASL_STATE, closed ({answer})")
        c.close()
        c = Native(broker.port)
        answer = c.authenticate("SCRAM-SHA-512", b"not a scram message")
        check(answer is not None and answer[0] == SASL_AUTHENTICATION_FAILED and c.closed(),
              f"a malformed SCRAM message: SASL_AUTHENTICATION_FAILED, closed ({answer})")
        c.close()
        c = Native(broker.port)
        first = c.authenticate("SCRAM-SHA-512", ScramClient("admin", "x", "SCRAM-SHA-512").first())
        answer = c.authenticate("SCRAM-SHA-256", b"c=biws,r=x,p=AAAA")
        check(first is not None and first[0] == 0 and answer is not None
              and answer[0] == ILLEGAL_SASL_STATE and c.closed(),
              f"a change of mechanism mid-exchange: ILLEGAL_SASL_STATE, closed ({answer})")
        c.close()
        c = Native(broker.port)
        body = nstring("SCRAM-SHA-512") + struct.pack(">i", 50) + b"short"
        answer = c.request(AUTHENTICATE, body)
        check(answer is not None and answer[0] == 42,
              f"a cut AUTHENTICATE body is INVALID_REQUEST ({answer})")
        c.close()
        # A frame over 512 KiB before AUTHENTICATE is not read: it is
        # answered MESSAGE_TOO_LARGE (10) and the connection closed, as for
        # any frame over max.frame.bytes (Kafka: sasl.server.max.receive.size);
        # after AUTHENTICATE the same frame is served.
        # (Read, the same AUTHENTICATE would be SASL_AUTHENTICATION_FAILED:
        # not a SCRAM message. The answer can be lost when the broker closes
        # while the frame is still being sent: None.)
        big = nstring("SCRAM-SHA-512") + nbytes(b"x" * (600 << 10))
        c = Native(broker.port)
        answer = c.request(AUTHENTICATE, big)
        check((answer is None or answer[0] == 10) and c.closed(),
              f"a 600 KiB AUTHENTICATE before authenticating: MESSAGE_TOO_LARGE, closed unread "
              f"({answer and answer[0]})")
        c.close()
        c = Native(broker.port)
        answer = c.scram(*ADMIN)
        big_metadata = struct.pack(">i", 0) + b"\0" * (600 << 10)
        after = c.request(METADATA, big_metadata) if answer == (0, 1, 0, True) else None
        check(after is not None and after[0] != 10,
              f"after AUTHENTICATE a 600 KiB frame is read and answered ({answer}, "
              f"{after and after[0]})")
        c.close()

        # 4. Wrong passwords at a high rate.
        def failed_count():
            return broker.metric('sentry_request_errors_total{listener="native",'
                                 'api="authenticate",error="SASL_AUTHENTICATION_FAILED"}') or 0
        before = failed_count()
        started = time.monotonic()
        refused = 0
        for _ in range(200):
            c = Native(broker.port)
            answer = c.scram("bob", "not-bobs", "SCRAM-SHA-512")
            refused += answer is not None and answer[0] == SASL_AUTHENTICATION_FAILED
            c.close()
        elapsed = time.monotonic() - started
        check(refused == 200, f"200 wrong passwords all refused ({refused}, {elapsed:.1f} s)")
        wait_for(lambda: failed_count() - before >= 200, "the failures to be counted", 10)
        check(failed_count() - before == 200,
              f"and counted in sentry_request_errors_total ({failed_count() - before})")
        # One line per 10 s at most, for the refusals before authentication
        # and the failed exchanges together, since the broker started.
        lines = broker.output().count("SASL authentication")
        check(1 <= lines <= 1 + int((time.monotonic() - broker_started) / 10),
              f"the log rate-limits them: {lines} line(s) for {refused + 4} refusals")
        r = ctl("topic", "list", user=ADMIN)
        check(r.returncode == 0 and "t" in r.stdout.split(), "admin is still served")

        # 5. Re-authentication (connections.max.reauth.ms).
        reauth.start()
        keep, lapse = Native(reauth.port), Native(reauth.port)
        answer = keep.scram(*BOB)
        check(answer == (0, 1, REAUTH_MS, True),
              f"AUTHENTICATE says the session lasts {REAUTH_MS} ms ({answer})")
        check(lapse.scram(*ALICE)[:2] == (0, 1), "a second connection authenticates")
        started = time.monotonic()
        time.sleep(REAUTH_MS * 0.6 / 1000)
        answer = keep.scram(*BOB)
        check(answer is not None and answer[:2] == (0, 1), f"bob re-authenticates ({answer})")
        time.sleep(max(0.0, REAUTH_MS * 1.2 / 1000 - (time.monotonic() - started)))
        check(keep.metadata_ok(), "the re-authenticated connection is served past the first "
              "session's end")
        answer = lapse.request(METADATA, struct.pack(">i", 0))
        check(answer is not None and answer[0] == ILLEGAL_SASL_STATE and lapse.closed(),
              f"the one that did not: ILLEGAL_SASL_STATE, closed ({answer})")
        answer = keep.scram(BOB[0], BOB[1], "SCRAM-SHA-256")
        check(answer is not None and answer[0] == SASL_AUTHENTICATION_FAILED and keep.closed(),
              f"re-authenticating as the same user with another mechanism fails and closes "
              f"({answer})")
        other = Native(reauth.port)
        check(other.scram(*BOB)[:2] == (0, 1), "a third connection authenticates as bob")
        answer = other.scram(ALICE[0], ALICE[1], "SCRAM-SHA-512")
        check(answer is not None and answer[0] == SASL_AUTHENTICATION_FAILED and other.closed(),
              f"re-authenticating as another user (same mechanism) fails and closes ({answer})")
        for c in (keep, lapse, other):
            c.close()

        # The C++ client re-authenticates by itself: a following consumer
        # (long-poll fetches on one connection) outlives several sessions.
        reauth_ctl = [args.sentryctl, "--broker", f"127.0.0.1:{reauth.port}", "--user",
                      ADMIN[0], "--password", ADMIN[1], "--sasl-mechanism", ADMIN[2]]
        r = subprocess.run(reauth_ctl + ["topic", "create", "r"], capture_output=True, text=True,
                           timeout=60)
        check(r.returncode == 0, f"admin creates topic r on the re-authentication broker: "
              f"{r.stderr.strip()!r}")

        def authentications():
            return reauth.metric('sentry_requests_total{listener="native",api="authenticate"}') or 0

        follower = subprocess.Popen(reauth_ctl + ["consume", "r", "--partition", "0", "--from",
                                                  "earliest", "--follow"],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            subprocess.run(reauth_ctl + ["produce", "r", "--partition", "0"], input="early\n",
                           capture_output=True, text=True, timeout=60)
            first_line = follower.stdout.readline().strip()
            base = authentications()
            # Two exchanges (four AUTHENTICATE requests) of the follower's own.
            wait_for(lambda: authentications() >= base + 4 or follower.poll() is not None,
                     "the following consumer to re-authenticate twice", 30)
            subprocess.run(reauth_ctl + ["produce", "r", "--partition", "0"], input="late\n",
                           capture_output=True, text=True, timeout=60)
            second_line = follower.stdout.readline().strip()
            alive = follower.poll() is None
        finally:
            follower.kill()
            _, err = follower.communicate()
        check((first_line, second_line, alive) == ("early", "late", True),
              f"sentryctl consume --follow re-authenticates and reads on past two sessions "
              f"({first_line!r}, {second_line!r}, alive {alive}, {err.strip()[-160:]!r})")
        reauth.stop()

        # 6. A broker without native.sasl.
        plain.start()
        c = Native(plain.port)
        answer = c.authenticate("SCRAM-SHA-512", b"n,,n=admin,r=abc")
        check(answer is not None and answer[0] == ILLEGAL_SASL_STATE and c.metadata_ok(),
              "without native.sasl: AUTHENTICATE is ILLEGAL_SASL_STATE, the connection serves on")
        c.close()
        r = subprocess.run([args.sentryctl, "--broker", f"127.0.0.1:{plain.port}", "--user",
                            "admin", "--password", "x", "topic", "list"],
                           capture_output=True, text=True, timeout=60)
        check(r.returncode == 1 and "connect without --user" in r.stderr,
              f"sentryctl --user there says to drop --user: {r.stderr.strip()!r}")
        ok = not failures
    finally:
        for b in (broker, reauth, plain):
            b.stop()
    if failures:
        print(f"{len(failures)} check(s) failed; logs in {workdir}")
        return 1
    if not args.workdir:
        shutil.rmtree(workdir, ignore_errors=True)
    print("native SASL: all checks passed")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
