// sentryctl: the operator's command line for sentryd (topics, produce,
// consume, offsets, groups) and for its data directory offline (dump, verify).
// Exit codes: 0 success, 1 the operation failed (a protocol error name and
// what to do are printed) or verify found problems, 2 bad arguments.
#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "client/client.h"
#include "sentryctl/acl_commands.h"
#include "sentryctl/commands.h"
#include "sentryctl/dump.h"
#include "sentryctl/user_commands.h"
#include "sentryctl/verify.h"

using namespace sentry::ctl;

int main(int argc, char** argv) {
  // A broker that closes while we write (through TLS, which writes with
  // write(2), not send(MSG_NOSIGNAL)) is an error to report, not a signal.
  std::signal(SIGPIPE, SIG_IGN);
  CLI::App app{"sentryctl: manage a sentryd broker and inspect its data directory"};
  app.require_subcommand(1);
  app.fallthrough();  // --broker may come before or after the command
  std::string broker = "127.0.0.1:7070";
  app.add_option("--broker", broker, "broker address HOST:PORT")->capture_default_str();
  std::string tls_ca, tls_cert, tls_key;
  app.add_option("--tls-ca", tls_ca,
                 "speak TLS to the broker (its native.tls.port), trusting the CAs in this PEM "
                 "file");
  app.add_option("--tls-cert", tls_cert,
                 "with --tls-ca: present this client certificate (PEM chain; mutual TLS)");
  app.add_option("--tls-key", tls_key, "the private key of --tls-cert (PEM)");
  // SASL on the native listener (native.sasl=required). The acl commands
  // take their own --user/--password for the Kafka listener, and `user
  // create --password` is the new user's.
  std::string sasl_user, sasl_password, sasl_password_file, sasl_mechanism = "SCRAM-SHA-512";
  app.add_option("--user", sasl_user, "authenticate (SASL, the broker's native.sasl) as this user");
  app.add_option("--password", sasl_password, "with --user: the password (visible to ps)");
  app.add_option("--password-file", sasl_password_file,
                 "with --user: a file whose first line is the password");
  app.add_option("--sasl-mechanism", sasl_mechanism, "SCRAM-SHA-512, SCRAM-SHA-256 or PLAIN")
      ->capture_default_str();
  std::function<int(const BrokerAddress&)> run;

  // topic create|delete|trim|alter|list|describe
  auto* topic = app.add_subcommand("topic", "create, delete, trim, alter, list and describe topics");
  topic->require_subcommand(1);
  std::string name;
  int32_t partitions = 1;
  std::vector<std::string> configs;
  auto* create = topic->add_subcommand("create", "create a topic");
  create->add_option("NAME", name, "topic name: 1-249 of [a-zA-Z0-9._-]")->required();
  create->add_option("--partitions", partitions, "number of partitions")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  int32_t replication_factor = -1;
  create->add_option("--replication-factor", replication_factor,
                     "replicas of each partition (cluster mode; default: the broker's "
                     "default.replication.factor)")
      ->check(CLI::PositiveNumber);
  create->add_option("--config", configs,
                     "topic setting KEY=VALUE (segment.bytes, retention.ms, ...); repeatable")
      ->allow_extra_args(false);
  create->callback([&] {
    run = [&](const BrokerAddress& b) {
      return TopicCreate(b, name, partitions, configs, replication_factor);
    };
  });
  auto* del = topic->add_subcommand("delete", "delete a topic and its files");
  del->add_option("NAME", name, "topic name")->required();
  del->callback([&] { run = [&](const BrokerAddress& b) { return TopicDelete(b, name); }; });
  int32_t trim_partition = 0;
  int64_t trim_before = -1;
  auto* trim = topic->add_subcommand(
      "trim", "delete a partition's records below an offset (Kafka's DeleteRecords)");
  trim->add_option("NAME", name, "topic name")->required();
  trim->add_option("--partition", trim_partition, "partition")
      ->required()
      ->check(CLI::NonNegativeNumber);
  trim->add_option("--before", trim_before,
                   "the new log start offset: records below it are deleted (-1: all)")
      ->required();
  trim->callback([&] {
    run = [&](const BrokerAddress& b) { return TopicTrim(b, name, trim_partition, trim_before); };
  });
  std::vector<std::string> alter_set, alter_delete;
  auto* alter = topic->add_subcommand(
      "alter", "change settings of an existing topic (Kafka's IncrementalAlterConfigs)");
  alter->add_option("NAME", name, "topic name")->required();
  alter->add_option("--config", alter_set,
                    "set KEY=VALUE (any topic setting: retention.ms, cleanup.policy, "
                    "segment.bytes, flush.ms, ...); repeatable")
      ->allow_extra_args(false);
  alter->add_option("--delete-config", alter_delete,
                    "put KEY back to the broker default; repeatable")
      ->allow_extra_args(false);
  alter->callback([&] {
    run = [&](const BrokerAddress& b) { return TopicAlter(b, name, alter_set, alter_delete); };
  });
  auto* list = topic->add_subcommand("list", "list topics and their partition counts");
  list->callback([&] { run = [&](const BrokerAddress& b) { return TopicList(b); }; });
  auto* describe = topic->add_subcommand(
      "describe",
      "partitions of a topic: offsets, size on disk, segments, compaction progress, state");
  describe->add_option("NAME", name, "topic name")->required();
  describe->callback(
      [&] { run = [&](const BrokerAddress& b) { return TopicDescribe(b, name); }; });

  // cluster status
  auto* cluster = app.add_subcommand("cluster", "a cluster's brokers, controller and partitions");
  cluster->require_subcommand(1);
  cluster->add_subcommand("status", "live brokers, the controller, under-replicated and offline "
                                    "partitions (exit 1 when any partition is offline)")
      ->callback([&] { run = [&](const BrokerAddress& b) { return ClusterStatus(b); }; });

  // produce
  ProduceArgs pa;
  auto* produce = app.add_subcommand(
      "produce", "send one record per stdin line (batched; waits for every acknowledgement)");
  produce->add_option("TOPIC", pa.topic, "topic")->required();
  produce->add_option("--partition", pa.partition,
                      "partition (default: murmur2 of the key, round-robin without one)")
      ->check(CLI::NonNegativeNumber);
  produce->add_option("--key-separator", pa.key_separator,
                      "split each line at the first SEP into key and value");
  produce->add_option("--acks", pa.acks,
                      "-1: flushed to disk, 1: in the log, 0: no acknowledgement")
      ->capture_default_str()
      ->check(CLI::IsMember({-1, 0, 1}));
  produce->callback([&] { run = [&](const BrokerAddress& b) { return Produce(b, pa); }; });

  // consume
  ConsumeArgs ca;
  auto* consume = app.add_subcommand(
      "consume", "print records, one per line (stops at the log end unless --follow)");
  consume->add_option("TOPIC", ca.topic, "topic")->required();
  consume->add_option("--partition", ca.partition, "only this partition (default: all)")
      ->check(CLI::NonNegativeNumber);
  consume->add_option("--from", ca.from, "earliest, latest, an OFFSET, or @UNIX_MS")
      ->capture_default_str();
  consume->add_option("--count", ca.count, "stop after N records")->check(CLI::NonNegativeNumber);
  consume->add_flag("--follow", ca.follow, "keep waiting for new records");
  consume->add_option("--group", ca.group,
                      "consumer group: join it and read the partitions the broker assigns, "
                      "from the committed offsets, committing as it goes (with --partition: "
                      "that partition by hand, committing at the end)");
  consume->add_option("--format", ca.format,
                      "line format: %v value, %k key, %o offset, %p partition, %t timestamp, "
                      "%T topic, %% percent; \\t and \\n escapes")
      ->capture_default_str();
  consume->callback([&] { run = [&](const BrokerAddress& b) { return Consume(b, ca); }; });

  // offsets
  std::string otopic;
  int32_t opart = -1;
  auto* offsets = app.add_subcommand("offsets", "log start and log end offsets of a topic");
  offsets->add_option("TOPIC", otopic, "topic")->required();
  offsets->add_option("--partition", opart, "only this partition")
      ->check(CLI::NonNegativeNumber);
  offsets->callback(
      [&] { run = [&](const BrokerAddress& b) { return Offsets(b, otopic, opart); }; });

  // group commit|fetch
  auto* group = app.add_subcommand("group", "consumer groups: members, offsets, lag");
  group->require_subcommand(1);
  std::string g, gtopic;
  int32_t gpart = 0;
  int64_t goffset = 0;
  auto* commit = group->add_subcommand("commit", "commit OFFSET for GROUP on TOPIC PARTITION");
  commit->add_option("GROUP", g, "group")->required();
  commit->add_option("TOPIC", gtopic, "topic")->required();
  commit->add_option("PARTITION", gpart, "partition")->required()->check(CLI::NonNegativeNumber);
  commit->add_option("OFFSET", goffset, "next offset to consume")
      ->required()
      ->check(CLI::NonNegativeNumber);
  commit->callback([&] {
    run = [&](const BrokerAddress& b) { return GroupCommit(b, g, gtopic, gpart, goffset); };
  });
  group->add_subcommand("list", "every group: kind, state, protocol type")->callback([&] {
    run = [&](const BrokerAddress& b) { return GroupList(b); };
  });
  auto* gdescribe = group->add_subcommand(
      "describe", "a group's members and their partitions; committed offset, log end and lag");
  gdescribe->add_option("GROUP", g, "group")->required();
  gdescribe->callback([&] { run = [&](const BrokerAddress& b) { return GroupDescribe(b, g); }; });
  auto* gfetch = group->add_subcommand("fetch", "print the offset GROUP committed (-1: none)");
  gfetch->add_option("GROUP", g, "group")->required();
  gfetch->add_option("TOPIC", gtopic, "topic")->required();
  gfetch->add_option("PARTITION", gpart, "partition")->required()->check(CLI::NonNegativeNumber);
  gfetch->callback(
      [&] { run = [&](const BrokerAddress& b) { return GroupFetch(b, g, gtopic, gpart); }; });

  // dump / verify (offline: no broker)
  std::vector<std::string> files;
  bool json = false;
  auto* dump = app.add_subcommand(
      "dump", "decode .log, .index and .timeindex files offline (no broker needed)");
  dump->add_option("FILE", files, "segment files")->required();
  dump->add_flag("--json", json, "one JSON object per file");
  dump->callback([&] {
    run = [&](const BrokerAddress&) { return DumpFiles(files, json, stdout, stderr); };
  });
  std::string data_dir;
  auto* verify = app.add_subcommand(
      "verify",
      "offline integrity check of a (stopped) broker's data directory: batch CRCs, offset "
      "continuity, indexes; exit 0 when intact, 1 with a report otherwise");
  verify->add_option("DATA_DIR", data_dir, "the broker's --data-dir")->required();
  verify->add_flag("--json", json, "the report as one JSON object");
  verify->callback([&] {
    run = [&](const BrokerAddress&) {
      return PrintVerifyReport(data_dir, VerifyDataDir(data_dir), json, stdout);
    };
  });

  // user create / delete / list (offline for now: --data-dir)
  sentry::tools::UserArgs ua;
  auto* user = app.add_subcommand(
      "user", "SCRAM users: through a broker's Kafka listener (--kafka) or offline (--data-dir)");
  user->require_subcommand(1);
  auto login_options = [&ua](CLI::App* c) {
    c->add_option("--kafka", ua.kafka, "online: the broker's Kafka listener HOST:PORT")
        ->capture_default_str();
    c->add_option("--login-user", ua.login_user, "log in with SASL/SCRAM as this user");
    c->add_option("--login-password", ua.login_password, "its password");
    c->add_option("--login-password-file", ua.login_password_file,
                  "a file whose first line is it");
    c->add_option("--login-mechanism", ua.login_mechanism, "SCRAM-SHA-256 or SCRAM-SHA-512")
        ->capture_default_str();
  };
  auto* ucreate = user->add_subcommand("create", "add a user, or replace its credential");
  ucreate->add_option("NAME", ua.name, "user name")->required();
  ucreate->add_option("--mechanism", ua.mechanism, "SCRAM-SHA-256 or SCRAM-SHA-512")
      ->capture_default_str();
  ucreate->add_option("--password", ua.password, "the password (visible to ps: prefer a file)");
  ucreate->add_option("--password-file", ua.password_file, "a file whose first line is it");
  ucreate->add_option("--iterations", ua.iterations, "PBKDF2 iterations (4096-16384)")
      ->capture_default_str();
  ucreate->add_option("--data-dir", ua.data_dir, "offline: the stopped broker's --data-dir");
  login_options(ucreate);
  ucreate->callback([&] {
    run = [&](const BrokerAddress& b) {
      ua.tls = b.security.tls;
      return sentry::tools::UserCreate(ua);
    };
  });
  auto* udelete = user->add_subcommand("delete", "remove a user's credentials");
  udelete->add_option("NAME", ua.name, "user name")->required();
  std::string delete_mechanism;  // empty: every mechanism
  udelete->add_option("--mechanism", delete_mechanism, "only this mechanism's (default: all)");
  udelete->add_option("--data-dir", ua.data_dir, "offline: the stopped broker's --data-dir");
  login_options(udelete);
  udelete->callback([&] {
    ua.mechanism = delete_mechanism;
    run = [&](const BrokerAddress& b) {
      ua.tls = b.security.tls;
      return sentry::tools::UserDelete(ua);
    };
  });
  auto* ulist = user->add_subcommand("list", "users and their mechanisms");
  ulist->add_option("--data-dir", ua.data_dir, "offline: the broker's --data-dir");
  login_options(ulist);
  ulist->callback([&] {
    run = [&](const BrokerAddress& b) {
      ua.tls = b.security.tls;
      return sentry::tools::UserList(ua);
    };
  });

  // acl add / list / remove: online (--kafka, --user) or offline (--data-dir)
  sentry::tools::AclArgs aa;
  auto* acl = app.add_subcommand(
      "acl", "ACLs: through a broker's Kafka listener (--kafka, --user) or offline (--data-dir)");
  acl->require_subcommand(1);
  auto acl_options = [&aa](CLI::App* c, bool filter) {
    c->add_option("--principal", aa.principal, "e.g. User:alice, or User:* for everyone");
    c->add_option("--operation", aa.operation,
                  "read, write, create, delete, describe, alter, describe_configs, "
                  "alter_configs, idempotent_write, cluster_action or all");
    c->add_option("--topic", aa.topic, "a topic (literal name; * for every topic)");
    c->add_option("--topic-prefix", aa.topic_prefix, "every topic whose name starts so");
    c->add_option("--group", aa.group, "a consumer group (literal; * for every group)");
    c->add_option("--group-prefix", aa.group_prefix, "every group whose id starts so");
    c->add_flag("--cluster", aa.cluster, "the cluster (ACL and broker administration)");
    if (!filter) {
      c->add_flag("--deny", aa.deny, "a DENY (it beats every ALLOW); default ALLOW");
      c->add_option("--host", aa.host, "the client address it applies to")
          ->capture_default_str();
    }
    c->add_option("--data-dir", aa.data_dir,
                  "offline: the stopped broker's --data-dir instead of --kafka");
    c->add_option("--kafka", aa.kafka, "the broker's Kafka listener HOST:PORT")
        ->capture_default_str();
    c->add_option("--user", aa.user, "authenticate with SASL/SCRAM as this user");
    c->add_option("--password", aa.password, "its password (visible to ps: prefer a file)");
    c->add_option("--password-file", aa.password_file, "a file whose first line is it");
    c->add_option("--mechanism", aa.mechanism, "SCRAM-SHA-256 or SCRAM-SHA-512")
        ->capture_default_str();
  };
  auto* aadd = acl->add_subcommand("add", "allow (or --deny) an operation on a resource");
  acl_options(aadd, false);
  aadd->callback([&] {
    run = [&](const BrokerAddress& b) {
      aa.tls = b.security.tls;
      return sentry::tools::AclAdd(aa);
    };
  });
  auto* alist = acl->add_subcommand("list", "the ACLs (of a principal, operation or resource)");
  acl_options(alist, true);
  alist->callback([&] {
    run = [&](const BrokerAddress& b) {
      aa.tls = b.security.tls;
      return sentry::tools::AclList(aa);
    };
  });
  auto* aremove = acl->add_subcommand("remove", "remove exactly this ACL");
  acl_options(aremove, false);
  aremove->callback([&] {
    run = [&](const BrokerAddress& b) {
      aa.tls = b.security.tls;
      return sentry::tools::AclRemove(aa);
    };
  });

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  auto hp = sentry::client::ParseHostPort(broker);
  if (!hp.ok()) {
    std::fprintf(stderr, "sentryctl: --broker: %s\n", hp.status().message().c_str());
    return 2;
  }
  if (!run) return 2;
  BrokerAddress address{hp->first, hp->second, {}};
  if (tls_cert.empty() != tls_key.empty() || (!tls_cert.empty() && tls_ca.empty())) {
    std::fprintf(stderr, "sentryctl: --tls-cert and --tls-key go together, with --tls-ca\n");
    return 2;
  }
  if (!tls_ca.empty()) {
    address.security.tls = sentry::client::TlsOptions{tls_ca, tls_cert, tls_key};
  }
  auto sasl = sentry::client::SaslFromFlags(sasl_user, sasl_password, sasl_password_file,
                                            sasl_mechanism);
  if (!sasl.ok()) {
    std::fprintf(stderr, "sentryctl: %s\n", sasl.status().message().c_str());
    return sasl.status().code() == sentry::Status::Code::kInvalidArgument ? 2 : 1;
  }
  address.security.sasl = *sasl;
  return run(address);
}
