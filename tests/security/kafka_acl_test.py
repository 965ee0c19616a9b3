"""ACLs (issue 19): authorizer.enabled with real Kafka clients and the native
protocol.

sentryd runs with --kafka.sasl required --authorizer.enabled true
--super.users User:admin; admin, alice and bob are SCRAM users made with
`sentryctl user create --data-dir`. The ACLs are created, listed and deleted
by admin through kafka-python's admin client (CreateAcls, DescribeAcls,
DeleteAcls) and the effect is checked with confluent-kafka (librdkafka) and
kafka-python:
  1. with no ACL, alice sees no topic names, may not produce, read, create
     or delete, and may not manage ACLs (CLUSTER_AUTHORIZATION_FAILED);
  2. the matrix: every operation (write, read, create, delete, describe,
     describe_configs, alter_configs, alter) on topics, groups and the
     cluster, first refused, then allowed by a literal or a prefixed ACL;
  3. deny beats allow: a User:* allow of everything with a deny of READ on
     one prefix for alice;
  4. DescribeAcls lists the ACLs; DeleteAcls removes them and an open
     connection loses the right at once (the per-connection cache is
     dropped); the ACLs survive a restart;
  5. the native listener: User:ANONYMOUS (sentryctl) is refused with
     TOPIC_AUTHORIZATION_FAILED until an ACL allows it;
  6. 200 refused requests in a row are logged rate-limited, and admin keeps
     being served;
  7. users through the running broker: `sentryctl user create/list/delete
     --kafka` as admin (AlterUserScramCredentials / DescribeUserScram-
     Credentials); bob may not; a user created so logs in at once, and no
     longer once deleted.

usage: kafka_acl_test.py --sentryd PATH --sentryctl PATH [--workdir DIR]
"""

import argparse
import os
import socket
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "cluster"))
from cluster_harness import Broker, rmtree  # noqa: E402

from confluent_kafka import Consumer, KafkaError, Producer  # noqa: E402
from kafka import KafkaAdminClient, KafkaConsumer  # noqa: E402
from kafka.admin import (ACL, ACLFilter, ACLOperation, ACLPermissionType,  # noqa: E402
                         ACLResourcePatternType, ConfigResource, ConfigResourceType,
                         NewTopic, ResourcePattern, ResourcePatternFilter, ResourceType)
from kafka.errors import KafkaError as KpError  # noqa: E402

ADMIN = ("admin", "admin-secret-0")
ALICE = ("alice", "alice-secret-1")
BOB = ("bob", "bob-secret-2")
TOPIC_AUTHORIZATION_FAILED = 29
GROUP_AUTHORIZATION_FAILED = 30
CLUSTER_AUTHORIZATION_FAILED = 31

LIT, PRE = ACLResourcePatternType.LITERAL, ACLResourcePatternType.PREFIXED
ALLOW, DENY = ACLPermissionType.ALLOW, ACLPermissionType.DENY


def kp_conf(bootstrap, user):
    return dict(bootstrap_servers=bootstrap, security_protocol="SASL_PLAINTEXT",
                sasl_mechanism="SCRAM-SHA-256", sasl_plain_username=user[0],
                sasl_plain_password=user[1])


def ck_conf(bootstrap, user):
    return {"bootstrap.servers": bootstrap, "security.protocol": "SASL_PLAINTEXT",
            "sasl.mechanism": "SCRAM-SHA-256", "sasl.username": user[0],
            "sasl.password": user[1]}


def acl(principal, op, rtype, name, pattern=LIT, perm=ALLOW):
    return ACL(principal=principal, host="*", operation=op, permission_type=perm,
               resource_pattern=ResourcePattern(rtype, name, pattern))


def any_filter(principal=None):
    return ACLFilter(principal=principal, host=None, operation=ACLOperation.ANY,
                     permission_type=ACLPermissionType.ANY,
                     resource_pattern=ResourcePatternFilter(ResourceType.ANY, None,
                                                            ACLResourcePatternType.ANY))


def error_code(e):
    """The Kafka error code of a kafka-python exception (or None)."""
    return getattr(e, "errno", None)


class Clients:
    def __init__(self, bootstrap):
        self.bootstrap = bootstrap
        self.admin = KafkaAdminClient(**kp_conf(bootstrap, ADMIN))
        self.alice_admin = KafkaAdminClient(**kp_conf(bootstrap, ALICE))

    def grant(self, *acls):
        r = self.admin.create_acls(list(acls))
        if r["failed"]:
            raise AssertionError(f"create_acls failed: {r['failed']}")

    def revoke(self, *filters):
        for _f, matches, err in self.admin.delete_acls(list(filters)):
            if err is not None and getattr(err, "errno", 0) != 0:
                raise AssertionError(f"delete_acls failed: {err}")

    def produce(self, user, topic, n=5):
        """confluent-kafka: the error code of the first failed delivery, or 0."""
        errors = []
        p = Producer(dict(ck_conf(self.bootstrap, user), **{"message.timeout.ms": 10000}))
        for i in range(n):
            p.produce(topic, value=b"v%d" % i,
                      on_delivery=lambda err, _m: errors.append(err) if err else None)
        p.flush(20)
        return errors[0].code() if errors else 0

    def consume(self, user, topic, group, want):
        """confluent-kafka in `group`: (records read, first error code or 0)."""
        c = Consumer(dict(ck_conf(self.bootstrap, user),
                          **{"group.id": group, "auto.offset.reset": "earliest"}))
        c.subscribe([topic])
        got, err = 0, 0
        deadline = time.time() + 20
        while time.time() < deadline and got < want and err == 0:
            m = c.poll(0.2)
            if m is None:
                continue
            if m.error():
                if m.error().code() != KafkaError._PARTITION_EOF:
                    err = m.error().code()
            else:
                got += 1
        c.close()
        return got, err

    def topic_names(self, user):
        c = KafkaConsumer(**kp_conf(self.bootstrap, user))
        names = c.topics()
        c.close()
        return names

    def kp_error(self, fn):
        """Runs fn (kafka-python admin): the Kafka error code it raised, or 0."""
        try:
            r = fn()
        except KpError as e:
            return error_code(e)
        # create_topics / delete_topics answer per topic.
        for attr in ("topic_errors", "topic_error_codes"):
            for item in getattr(r, attr, []) or []:
                if item[1] != 0:
                    return item[1]
        return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sentryd", required=True)
    ap.add_argument("--sentryctl", required=True)
    ap.add_argument("--workdir")
    args = ap.parse_args()
    workdir = args.workdir or tempfile.mkdtemp(prefix="sentry-acl-")
    os.makedirs(workdir, exist_ok=True)
    broker = Broker(args.sentryd, workdir, 0, None,
                    ["--kafka.sasl", "required", "--authorizer.enabled", "true",
                     "--super.users", "User:admin", "--auto.create.topics.enable", "true"])
    os.makedirs(broker.data_dir, exist_ok=True)
    for user, password in (ADMIN, ALICE, BOB):
        r = subprocess.run([args.sentryctl, "user", "create", user, "--mechanism",
                            "SCRAM-SHA-256", "--password", password, "--data-dir",
                            broker.data_dir], capture_output=True, text=True)
        if r.returncode != 0:
            print(f"FAIL: sentryctl user create {user}: {r.stdout}{r.stderr}")
            return 1
    failures = []
    # Offline, before the start: an ACL written into the data directory.
    r = subprocess.run([args.sentryctl, "acl", "add", "--data-dir", broker.data_dir,
                        "--principal", "User:carol", "--operation", "read", "--topic", "c"],
                       capture_output=True, text=True)
    if r.returncode != 0 or "added: ALLOW User:carol from * to read topic:c" not in r.stdout:
        print(f"FAIL: sentryctl acl add --data-dir: {r.stdout}{r.stderr}")
        return 1

    def check(cond, what):
        print(("ok   " if cond else "FAIL ") + what, flush=True)
        if not cond:
            failures.append(what)

    ok = False
    try:
        broker.start()
        cl = Clients(broker.bootstrap)

        def sentryctl_acl(*argv, user=ADMIN):
            login = ["--kafka", broker.bootstrap]
            if user:
                login += ["--user", user[0], "--password", user[1], "--mechanism",
                          "SCRAM-SHA-256"]
            return subprocess.run([args.sentryctl, "acl"] + list(argv) + login,
                                  capture_output=True, text=True, timeout=60)

        r = sentryctl_acl("list", "--principal", "User:carol")
        check(r.returncode == 0 and r.stdout == "ALLOW User:carol from * to read topic:c (literal)\n",
              f"sentryctl acl list (online, SCRAM as admin) shows the offline ACL: {r.stdout!r}"
              f"{r.stderr!r}")
        r = sentryctl_acl("list", user=(ADMIN[0], "wrong"))
        check(r.returncode == 1 and "authentication as admin failed" in r.stderr,
              f"sentryctl acl with a wrong password fails: {r.stderr.strip()!r}")
        r = sentryctl_acl("list", user=None)
        check(r.returncode == 1, f"sentryctl acl without SASL is refused: {r.stderr.strip()!r}")
        cl.admin.create_topics([NewTopic("orders", 1, 1), NewTopic("logs.app", 1, 1),
                                NewTopic("secret.plans", 1, 1)])
        for t in ("orders", "logs.app", "secret.plans"):
            check(cl.produce(ADMIN, t) == 0, f"the super user produces to {t}")

        # 1. No ACL: nothing but refusals, and no topic names.
        check(cl.topic_names(ALICE) == set(), "alice without ACLs sees no topic names")
        check(cl.produce(ALICE, "orders") == TOPIC_AUTHORIZATION_FAILED,
              "alice may not produce without an ACL (TOPIC_AUTHORIZATION_FAILED)")
        check(cl.kp_error(lambda: cl.alice_admin.create_topics([NewTopic("alice.t", 1, 1)]))
              == TOPIC_AUTHORIZATION_FAILED, "alice may not create a topic")
        check(_create_acl_error(cl.alice_admin) == CLUSTER_AUTHORIZATION_FAILED,
              "alice may not create ACLs")
        check(_describe_acl_error(cl.alice_admin) == CLUSTER_AUTHORIZATION_FAILED,
              "alice may not describe ACLs")

        # 2. The matrix, operation by operation.
        # write (literal): produce; write implies describe.
        cl.grant(acl("User:alice", ACLOperation.WRITE, ResourceType.TOPIC, "orders"))
        check(cl.produce(ALICE, "orders") == 0, "WRITE on topic orders (literal): alice produces")
        check(cl.produce(ALICE, "orders2") == TOPIC_AUTHORIZATION_FAILED,
              "a literal ACL does not cover orders2 (nor lets alice auto-create it)")
        check(cl.topic_names(ALICE) == {"orders"}, "WRITE implies DESCRIBE: alice sees orders only")
        got, err = cl.consume(ALICE, "orders", "g-alice", 1)
        check(got == 0 and err in (TOPIC_AUTHORIZATION_FAILED, GROUP_AUTHORIZATION_FAILED),
              f"alice may not read orders yet (read {got}, error {err})")
        # read (prefixed topic, literal group).
        cl.grant(acl("User:alice", ACLOperation.READ, ResourceType.TOPIC, "logs.", PRE),
                 acl("User:alice", ACLOperation.READ, ResourceType.GROUP, "g-alice"))
        got, err = cl.consume(ALICE, "logs.app", "g-alice", 5)
        check(got == 5 and err == 0,
              f"READ on prefix logs. and group g-alice: alice reads 5 of 5 (read {got}, error {err})")
        got, err = cl.consume(ALICE, "logs.app", "g-other", 1)
        check(got == 0 and err == GROUP_AUTHORIZATION_FAILED,
              f"alice may not use group g-other (read {got}, error {err})")
        # create and delete (prefixed).
        cl.grant(acl("User:alice", ACLOperation.CREATE, ResourceType.TOPIC, "alice.", PRE))
        check(cl.kp_error(lambda: cl.alice_admin.create_topics([NewTopic("alice.t", 1, 1)])) == 0,
              "CREATE on prefix alice.: alice creates alice.t")
        check(cl.kp_error(lambda: cl.alice_admin.delete_topics(["alice.t"]))
              == TOPIC_AUTHORIZATION_FAILED, "alice may not delete alice.t yet")
        cl.grant(acl("User:alice", ACLOperation.DELETE, ResourceType.TOPIC, "alice.", PRE))
        check(cl.kp_error(lambda: cl.alice_admin.delete_topics(["alice.t"])) == 0,
              "DELETE on prefix alice.: alice deletes alice.t")
        # create on the cluster: any topic, also by auto-creation.
        check(cl.produce(ALICE, "auto.x") == TOPIC_AUTHORIZATION_FAILED,
              "alice may not auto-create auto.x")
        cl.grant(acl("User:alice", ACLOperation.CREATE, ResourceType.CLUSTER, "kafka-cluster"),
                 acl("User:alice", ACLOperation.WRITE, ResourceType.TOPIC, "auto.", PRE))
        check(cl.produce(ALICE, "auto.x") == 0, "CREATE on the cluster: alice auto-creates auto.x")
        # describe_configs / alter_configs.
        res = ConfigResource(ConfigResourceType.TOPIC, "orders", configs={"retention.ms": "600000"})
        check(_config_error(lambda: cl.alice_admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, "orders")])) == TOPIC_AUTHORIZATION_FAILED,
            "alice may not describe orders' configs")
        check(_config_error(lambda: cl.alice_admin.alter_configs([res]))
              == TOPIC_AUTHORIZATION_FAILED, "alice may not alter orders' configs")
        cl.grant(acl("User:alice", ACLOperation.ALTER_CONFIGS, ResourceType.TOPIC, "orders"))
        check(_config_error(lambda: cl.alice_admin.alter_configs([res])) == 0,
              "ALTER_CONFIGS on orders: alice alters retention.ms")
        check(_config_error(lambda: cl.alice_admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, "orders")])) == 0,
            "ALTER_CONFIGS implies DESCRIBE_CONFIGS")
        # alter / describe on the cluster: ACL management.
        cl.grant(acl("User:alice", ACLOperation.DESCRIBE, ResourceType.CLUSTER, "kafka-cluster"))
        check(_describe_acl_error(cl.alice_admin) == 0, "DESCRIBE on the cluster: alice lists ACLs")
        check(_create_acl_error(cl.alice_admin) == CLUSTER_AUTHORIZATION_FAILED,
              "... but may not create them without ALTER")
        cl.grant(acl("User:alice", ACLOperation.ALTER, ResourceType.CLUSTER, "kafka-cluster"))
        check(_create_acl_error(cl.alice_admin) == 0, "ALTER on the cluster: alice creates an ACL")

        # 3. Deny beats allow.
        check(cl.topic_names(BOB) == set(), "bob without ACLs sees no topic names")
        cl.grant(acl("User:*", ACLOperation.ALL, ResourceType.TOPIC, "*"),
                 acl("User:*", ACLOperation.READ, ResourceType.GROUP, "g-", PRE),
                 acl("User:alice", ACLOperation.READ, ResourceType.TOPIC, "secret.", PRE,
                     perm=DENY))
        check({"orders", "logs.app", "secret.plans"} <= cl.topic_names(BOB),
              "User:* ALL on topic *: bob sees every topic")
        got, err = cl.consume(BOB, "secret.plans", "g-bob", 5)
        check(got == 5 and err == 0, f"bob reads secret.plans (read {got}, error {err})")
        got, err = cl.consume(ALICE, "secret.plans", "g-alice", 1)
        check(got == 0 and err == TOPIC_AUTHORIZATION_FAILED,
              f"a DENY of READ on secret. beats alice's allow (read {got}, error {err})")
        check(cl.produce(ALICE, "secret.plans") == 0, "the deny names READ only: alice writes")

        # 4. DescribeAcls, DeleteAcls on a live connection, restart.
        acls, err = cl.admin.describe_acls(any_filter("User:alice"))
        check(len(acls) == 11 and getattr(err, "errno", 0) == 0,
              f"DescribeAcls lists alice's 11 ACLs (got {len(acls)})")
        live = Producer(dict(ck_conf(broker.bootstrap, BOB), **{"message.timeout.ms": 5000}))
        errs = []
        live.produce("orders", b"before", on_delivery=lambda e, _m: errs.append(e) if e else None)
        live.flush(10)
        cl.revoke(ACLFilter(principal="User:*", host=None, operation=ACLOperation.ANY,
                            permission_type=ACLPermissionType.ANY,
                            resource_pattern=ResourcePatternFilter(ResourceType.TOPIC, "*",
                                                                   LIT)))
        live.produce("orders", b"after", on_delivery=lambda e, _m: errs.append(e) if e else None)
        live.flush(10)
        check(len(errs) == 1 and errs[0].code() == TOPIC_AUTHORIZATION_FAILED,
              f"after DeleteAcls bob's open connection is refused at once ({errs})")
        broker.stop()
        broker.start()
        cl = Clients(broker.bootstrap)
        acls, _ = cl.admin.describe_acls(any_filter())
        check(len(acls) == 13, f"the ACLs survive a restart (13, got {len(acls)})")
        check(cl.produce(ALICE, "orders") == 0, "alice still produces to orders after a restart")

        # 5. The native listener: User:ANONYMOUS.
        native = f"127.0.0.1:{broker.port}"

        def native_produce(topic):
            return subprocess.run([args.sentryctl, "--broker", native, "produce", topic],
                                  input="n1\nn2\n", capture_output=True, text=True, timeout=60)

        r = native_produce("orders")
        check(r.returncode != 0 and "TOPIC_AUTHORIZATION_FAILED" in r.stdout + r.stderr,
              f"native produce as User:ANONYMOUS is refused: {(r.stdout + r.stderr).strip()!r}")
        r = sentryctl_acl("add", "--principal", "User:ANONYMOUS", "--operation", "write",
                          "--topic", "orders", user=BOB)
        check(r.returncode == 1 and "CLUSTER_AUTHORIZATION_FAILED" in r.stderr,
              f"bob may not add ACLs with sentryctl: {r.stderr.strip()!r}")
        r = sentryctl_acl("add", "--principal", "User:ANONYMOUS", "--operation", "write",
                          "--topic", "orders")
        check(r.returncode == 0, f"sentryctl acl add as admin: {r.stdout}{r.stderr}")
        r = native_produce("orders")
        check(r.returncode == 0, f"with WRITE for User:ANONYMOUS it produces: {r.stderr.strip()!r}")
        # A native consumer that may read the topic but not use the group:
        # its offset commit is refused, not stored.
        cl.grant(acl("User:ANONYMOUS", ACLOperation.READ, ResourceType.TOPIC, "orders"))
        r = subprocess.run([args.sentryctl, "--broker", native, "consume", "orders",
                            "--partition", "0", "--group", "ng", "--count", "1"],
                           capture_output=True, text=True, timeout=60)
        check(r.returncode != 0 and "GROUP_AUTHORIZATION_FAILED" in r.stdout + r.stderr,
              f"a native commit into a group without READ on it is refused: "
              f"{(r.stdout + r.stderr).strip()[-160:]!r}")
        # The same commit sent raw, as a group member commits (v2) and as a
        # standalone one (v1), and a v2 body cut short.
        def native_commit(version, tail):
            s_ = lambda t: struct.pack(">H", len(t)) + t  # noqa: E731
            body = s_(b"ng") + s_(b"orders") + struct.pack(">iq", 0, 1) + s_(b"") + tail
            frame = struct.pack(">HHI", 7, version, 42) + body
            with socket.create_connection(("127.0.0.1", broker.port), timeout=10) as sock:
                sock.sendall(struct.pack(">I", len(frame)) + frame)
                head = b""
                while len(head) < 14:
                    chunk = sock.recv(14 - len(head))
                    if not chunk:
                        return None
                    head += chunk
            return struct.unpack(">h", head[12:14])[0]

        codes = (native_commit(2, struct.pack(">H", 0) + struct.pack(">i", -1)),
                 native_commit(1, b""), native_commit(2, b"\x00"))
        check(codes == (GROUP_AUTHORIZATION_FAILED, GROUP_AUTHORIZATION_FAILED, 42),
              f"raw native OFFSET_COMMIT v2 and v1 refused, a cut v2 body INVALID_REQUEST {codes}")
        offsets = cl.admin.list_consumer_group_offsets("ng")
        check(not offsets, f"... and nothing was committed ({offsets})")
        r = subprocess.run([args.sentryctl, "acl", "add", "--data-dir", broker.data_dir,
                            "--principal", "User:x", "--operation", "read", "--topic", "x"],
                           capture_output=True, text=True)
        check(r.returncode == 1 and "a sentryd runs on" in r.stderr,
              f"offline sentryctl acl add is refused while the broker runs: {r.stderr.strip()!r}")
        r = sentryctl_acl("remove", "--principal", "User:ANONYMOUS", "--operation", "write",
                          "--topic", "orders")
        check(r.returncode == 0 and native_produce("orders").returncode != 0,
              f"sentryctl acl remove takes it back: {r.stdout}{r.stderr}")
        r = sentryctl_acl("remove", "--principal", "User:ANONYMOUS", "--operation", "write",
                          "--topic", "orders")
        check(r.returncode == 1 and "no such ACL" in r.stderr,
              f"removing it twice says there is none: {r.stderr.strip()!r}")

        # 7 (before 6, which fills the log). Users through the running broker.
        def sentryctl_user(*argv, login=ADMIN):
            return subprocess.run([args.sentryctl, "user"] + list(argv) +
                                  ["--kafka", broker.bootstrap, "--login-user", login[0],
                                   "--login-password", login[1], "--login-mechanism",
                                   "SCRAM-SHA-256"],
                                  capture_output=True, text=True, timeout=60)

        dave = ("dave", "dave-secret-4")
        r = sentryctl_user("create", dave[0], "--mechanism", "SCRAM-SHA-256", "--password",
                           dave[1], login=BOB)
        check(r.returncode == 1 and "Kafka error 31" in r.stderr,
              f"bob may not create users: {r.stderr.strip()!r}")
        r = sentryctl_user("create", dave[0], "--mechanism", "SCRAM-SHA-256", "--password", dave[1])
        check(r.returncode == 0, f"sentryctl user create --kafka as admin: {r.stdout}{r.stderr}")
        check(cl.produce(dave, "orders") == TOPIC_AUTHORIZATION_FAILED,
              "dave, created online, authenticates (and is refused by the ACLs, not at login)")
        r = sentryctl_user("list")
        check("dave SCRAM-SHA-256" in r.stdout.splitlines(),
              f"sentryctl user list --kafka shows dave: {r.stdout!r}{r.stderr!r}")
        r = sentryctl_user("delete", dave[0])
        check(r.returncode == 0, f"sentryctl user delete --kafka: {r.stdout}{r.stderr}")
        code = cl.produce(dave, "orders")
        check(code not in (0, TOPIC_AUTHORIZATION_FAILED),
              f"deleted online, dave can no longer log in (error {code})")
        r = sentryctl_user("delete", dave[0])
        check(r.returncode == 1 and "Kafka error 91" in r.stderr,
              f"deleting dave again: RESOURCE_NOT_FOUND: {r.stderr.strip()!r}")

        # 6. Refusals at a high rate: 200 metadata requests naming a topic bob
        # may not describe; counted, logged rate-limited, admin served.
        denied_before = broker.metric('sentry_authorizer_decisions_total{result="denied"}') or 0
        p = Producer(ck_conf(broker.bootstrap, BOB))
        refused = 0
        for _ in range(200):
            md = p.list_topics(topic="logs.app", timeout=10)
            t = md.topics.get("logs.app")
            if t is not None and t.error is not None and \
                    t.error.code() == TOPIC_AUTHORIZATION_FAILED:
                refused += 1
        check(refused == 200, f"200 of bob's metadata requests refused ({refused})")
        denied = (broker.metric('sentry_authorizer_decisions_total{result="denied"}') or 0) \
            - denied_before
        check(denied >= 200, f"sentry_authorizer_decisions_total counts them ({denied})")
        # One line per 10 s at most on the Kafka listener (and the native one).
        lines = sum(1 for ln in broker.output().splitlines() if " may not " in ln)
        check(1 <= lines <= 4, f"the refusals are logged rate-limited ({lines} lines)")
        check(cl.produce(ADMIN, "logs.app") == 0, "admin still produces")
        ok = not failures
    except Exception as e:  # noqa: BLE001
        import traceback
        traceback.print_exc()
        failures.append(f"exception: {e}")
    finally:
        log = broker.output(False)
        broker.stop()
    if failures:
        print("FAIL:\n  " + "\n  ".join(failures))
        print("--- broker log (tail) ---\n" + "\n".join(log.splitlines()[-40:]))
        return 1
    if ok and not args.workdir:
        rmtree(workdir)
    print("PASS")
    return 0


def _create_acl_error(admin):
    r = admin.create_acls([acl("User:carol", ACLOperation.READ, ResourceType.TOPIC, "c")])
    if r["failed"]:
        return error_code(r["failed"][0][1])
    return 0


def _describe_acl_error(admin):
    try:
        _acls, err = admin.describe_acls(any_filter())
    except KpError as e:
        return error_code(e)
    return getattr(err, "errno", 0) or 0


def _config_error(fn):
    try:
        resps = fn()
    except KpError as e:
        return error_code(e)
    # describe_configs answers a list of responses, alter_configs one.
    for resp in resps if isinstance(resps, list) else [resps]:
        for res in resp.resources:
            if res[0] != 0:
                return res[0]
    return 0


if __name__ == "__main__":
    sys.exit(main())
