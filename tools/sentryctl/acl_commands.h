// sentryctl acl add|list|remove (docs/security.md): Kafka-model ACLs.
// Online through a running broker's Kafka listener (`--kafka HOST:PORT`,
// CreateAcls / DescribeAcls / DeleteAcls, authenticated with --user and
// --password, TLS with the global --tls-ca), or offline into a stopped
// broker's data directory (`--data-dir`, which it reads at start).
#pragma once

#include <optional>
#include <string>

#include "client/connection.h"

namespace sentry::tools {

struct AclArgs {
  // The binding (add, remove) or the filter (list; unset = any).
  std::string principal;
  std::string host = "*";
  std::string operation;
  std::string topic, topic_prefix, group, group_prefix;
  bool cluster = false;
  bool deny = false;
  // Where: offline, or a broker's Kafka listener.
  std::string data_dir;
  std::string kafka = "127.0.0.1:9092";
  std::optional<client::TlsOptions> tls;
  std::string user, password, password_file;
  std::string mechanism = "SCRAM-SHA-512";
};

int AclAdd(const AclArgs& a);
int AclList(const AclArgs& a);
int AclRemove(const AclArgs& a);

}  // namespace sentry::tools
