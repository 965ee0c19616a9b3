// The online sentryctl commands (they talk to a broker). Each returns the
// process exit code: 0 success, 1 the broker refused or could not be reached
// (the message names the protocol error and what to do), 2 bad arguments.
// Output goes to stdout, diagnostics to stderr.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "client/client.h"
#include "client/consumer.h"

namespace sentry::ctl {

struct BrokerAddress {
  std::string host = "127.0.0.1";
  int port = 7070;
  // --tls-ca (the broker's native.tls.port) and --user (native.sasl).
  client::Security security;
};

int TopicCreate(const BrokerAddress& b, const std::string& name, int32_t partitions,
                const std::vector<std::string>& configs, int32_t replication_factor = -1);
// cluster status: live brokers, the controller, partitions under-replicated
// or offline (exit 1 when any is offline).
int ClusterStatus(const BrokerAddress& b);
int TopicDelete(const BrokerAddress& b, const std::string& name);
int TopicTrim(const BrokerAddress& b, const std::string& name, int32_t partition, int64_t before);
int TopicAlter(const BrokerAddress& b, const std::string& name, const std::vector<std::string>& set,
               const std::vector<std::string>& reset);
int TopicList(const BrokerAddress& b);
int TopicDescribe(const BrokerAddress& b, const std::string& name);

struct ProduceArgs {
  std::string topic;
  int32_t partition = -1;
  std::string key_separator;  // empty: no keys
  int acks = -1;
};
int Produce(const BrokerAddress& b, const ProduceArgs& a);

struct ConsumeArgs {
  std::string topic;
  int32_t partition = -1;  // -1: all
  std::string from = "earliest";
  int64_t count = -1;      // -1: no limit
  bool follow = false;
  std::string group;
  std::string format = "%v";
};
int Consume(const BrokerAddress& b, const ConsumeArgs& a);
// consume --group without --partition (group_commands.cc).
int ConsumeInGroup(const BrokerAddress& b, const ConsumeArgs& a, client::StartPosition start);
int GroupList(const BrokerAddress& b);
int GroupDescribe(const BrokerAddress& b, const std::string& group);
// Expands %v %k %o %p %t %T %% and \n \t \\ of a --format string.
std::string FormatRecord(const std::string& fmt, const std::string& topic, int32_t partition,
                         int64_t offset, int64_t timestamp, const std::string* key,
                         const std::string* value);

int Offsets(const BrokerAddress& b, const std::string& topic, int32_t partition);

// Shared by the command files: prints "sentryctl: <message>", returns 1.
int Fail(const Status& s);
Result<std::unique_ptr<client::Client>> Connect(const BrokerAddress& b);
// In a cluster, `group`'s coordinator (the leader of the offsets-log
// partition the group id hashes to); on a single node, the broker itself.
Result<std::unique_ptr<client::Client>> ConnectToCoordinator(const BrokerAddress& b,
                                                             const std::string& group);
int GroupCommit(const BrokerAddress& b, const std::string& group, const std::string& topic,
                int32_t partition, int64_t offset);
int GroupFetch(const BrokerAddress& b, const std::string& group, const std::string& topic,
               int32_t partition);

}  // namespace sentry::ctl
