// Kafka CreateTopics, DeleteTopics, DeleteRecords, AlterConfigs and
// IncrementalAlterConfigs (one admin operation per topic, partition or
// resource, in turn, on the broker's admin thread) and DescribeConfigs.
#include <spdlog/spdlog.h>

#include <set>

#include "frontend/kafka_errors.h"
#include "frontend/kafka_frontend.h"
#include "frontend/kafka_session.h"

namespace sentry::frontend {

using kafka::ErrorCode;
using net::Outcome;
using net::ResponseOut;

namespace {

constexpr int16_t kCreateTopicsKey = static_cast<int16_t>(kafka::ApiKey::kCreateTopics);
constexpr int16_t kDeleteTopicsKey = static_cast<int16_t>(kafka::ApiKey::kDeleteTopics);
constexpr int16_t kDeleteRecordsKey = static_cast<int16_t>(kafka::ApiKey::kDeleteRecords);
constexpr int16_t kAlterConfigsKey = static_cast<int16_t>(kafka::ApiKey::kAlterConfigs);
constexpr int16_t kIncrementalAlterKey =
    static_cast<int16_t>(kafka::ApiKey::kIncrementalAlterConfigs);
constexpr int8_t kResourceTopic = 2;
constexpr int8_t kResourceBroker = 4;
// Kafka's ConfigSource values.
constexpr int8_t kSourceTopic = 1;         // DYNAMIC_TOPIC_CONFIG
constexpr int8_t kSourceStaticBroker = 4;  // STATIC_BROKER_CONFIG
constexpr int8_t kSourceDefault = 5;       // DEFAULT_CONFIG

struct ConfigEntry {
  std::string name;
  std::string value;
  int8_t source = kSourceDefault;
  bool read_only = false;
};

// A topic's settings; those that differ from the broker default are the
// topic's own (Kafka's "dynamic topic config"), the rest are defaults.
std::vector<ConfigEntry> TopicEntries(const broker::TopicConfig& c,
                                      const broker::TopicConfig& defaults) {
  const auto mine = c.ToMap();
  const auto base = defaults.ToMap();
  std::vector<ConfigEntry> out;
  for (const auto& [k, v] : mine) {
    auto it = base.find(k);
    out.push_back({k, v, it != base.end() && it->second == v ? kSourceDefault : kSourceTopic});
  }
  return out;
}

void Settle(PendingAdmin::Item& item, int16_t error, std::string message) {
  item.error = error;
  if (error != 0) item.message = std::move(message);
  item.settled = true;
}

// An item for one resource of an alter request; settled at once unless it is
// a topic (broker settings are static here).
PendingAdmin::Item AlterItem(int8_t type, std::string_view name) {
  PendingAdmin::Item item;
  item.resource_type = type;
  item.name = std::string(name);
  if (type == kResourceBroker) {
    Settle(item, Code(ErrorCode::kInvalidRequest),
           "broker settings are static: set them at start (docs/operations.md)");
  } else if (type != kResourceTopic) {
    Settle(item, Code(ErrorCode::kInvalidRequest), "only topic resources can be altered");
  }
  return item;
}

// The answer of AlterConfigs or IncrementalAlterConfigs (same fields): one
// result per resource.
template <typename Response>
Response AlterResponse(const PendingAdmin& pa) {
  Response resp;
  for (const auto& item : pa.items) {
    resp.responses.push_back({item.error, item.message, item.resource_type, item.name});
  }
  return resp;
}

// cleanup.policy after APPEND (add) or SUBTRACT (remove) of `value`'s items.
std::optional<std::string> EditPolicy(const broker::TopicConfig& cfg, bool add,
                                      std::string_view value) {
  bool del = cfg.cleanup_delete, compact = cfg.cleanup_compact;
  while (!value.empty()) {
    const size_t comma = value.find(',');
    std::string_view item = value.substr(0, comma);
    if (item == "delete") {
      del = add;
    } else if (item == "compact") {
      compact = add;
    } else {
      return std::nullopt;
    }
    value = comma == std::string_view::npos ? "" : value.substr(comma + 1);
  }
  if (!del && !compact) return std::nullopt;
  if (del && compact) return "compact,delete";
  return del ? "delete" : "compact";
}

}  // namespace

Outcome KafkaFrontend::HandleCreateTopics(Session& s, const Header& h, Reader& r,
                                          ResponseOut& out) {
  kafka::CreateTopicsRequest req;
  if (!kafka::Decode(r, h.api_version, &req)) return Outcome::kClose;
  auto pa = std::make_unique<PendingAdmin>();
  pa->asker = Asker::Of(h);
  pa->validate_only = req.validate_only;
  std::multiset<std::string_view> names;
  for (const auto& t : req.topics) names.insert(t.name);
  const int32_t me = core_->identity().broker_id;
  for (const auto& t : req.topics) {
    PendingAdmin::Item item;
    item.name = std::string(t.name);
    item.partitions = t.num_partitions == -1 ? opt_.default_partitions : t.num_partitions;
    item.replication_factor = t.replication_factor;
    for (const auto& c : t.configs) {
      if (!c.value) {
        Settle(item, Code(ErrorCode::kInvalidConfig), "null value for config " + std::string(c.name));
        break;
      }
      item.configs.emplace_back(std::string(c.name), std::string(*c.value));
    }
    if (item.settled) {
    } else if (names.count(t.name) > 1) {
      Settle(item, Code(ErrorCode::kInvalidRequest), "topic named more than once in the request");
    } else if (t.replication_factor != -1 && t.replication_factor < 1) {
      Settle(item, Code(ErrorCode::kInvalidReplicationFactor),
             "replication factor must be positive");
    } else if (t.replication_factor > 1 && !core_->cluster()) {
      Settle(item, Code(ErrorCode::kInvalidReplicationFactor),
             "replication factor must be 1: this broker runs alone (no cluster.etcd)");
    } else if (!t.assignments.empty() && core_->cluster()) {
      Settle(item, Code(ErrorCode::kInvalidReplicaAssignment),
             "manual replica assignments are not supported: the controller assigns replicas");
    } else if (!t.assignments.empty()) {
      if (t.num_partitions != -1 || t.replication_factor != -1) {
        Settle(item, Code(ErrorCode::kInvalidRequest),
               "with assignments, num_partitions and replication_factor must be -1");
      }
      for (size_t i = 0; i < t.assignments.size() && !item.settled; i++) {
        const auto& a = t.assignments[i];
        if (a.partition_index != static_cast<int32_t>(i) || a.broker_ids.size() != 1 ||
            a.broker_ids[0] != me) {
          Settle(item, Code(ErrorCode::kInvalidReplicaAssignment),
                 "each partition must be assigned to this broker alone, in order");
        }
      }
      item.partitions = static_cast<int32_t>(t.assignments.size());
    } else if (t.num_partitions < 1 && t.num_partitions != -1) {
      Settle(item, Code(ErrorCode::kInvalidPartitions), "partition count must be positive");
    }
    if (!item.settled && req.validate_only) {
      broker::TopicConfig cfg;
      broker::Error e = core_->ValidateCreateTopic(item.name, item.partitions, item.configs, &cfg);
      Settle(item, ToKafkaError(e.code), e.message);
    }
    pa->items.push_back(std::move(item));
  }
  AuthorizeAdmin(s, *pa);
  s.admin = std::move(pa);
  return ContinueAdmin(s, out) ? Outcome::kDone : Outcome::kSubmitted;
}

Outcome KafkaFrontend::HandleDeleteTopics(Session& s, const Header& h, Reader& r,
                                          ResponseOut& out) {
  kafka::DeleteTopicsRequest req;
  if (!kafka::Decode(r, h.api_version, &req)) return Outcome::kClose;
  auto pa = std::make_unique<PendingAdmin>();
  pa->asker = Asker::Of(h);
  auto add = [&](std::string name) {
    PendingAdmin::Item item;
    if (auto topic = core_->FindTopic(name)) item.topic_id = TopicIdOf(*topic);
    item.name = std::move(name);
    pa->items.push_back(std::move(item));
  };
  if (h.api_version < 6) {
    for (auto name : req.topic_names) add(std::string(name));
  } else {
    for (const auto& t : req.topics) {
      if (t.name) {
        add(std::string(*t.name));
        continue;
      }
      // By id: find the topic that has it.
      std::string found;
      for (const auto& ts : core_->Describe({})) {
        auto topic = core_->FindTopic(ts.name);
        if (topic && TopicIdOf(*topic) == t.topic_id) found = ts.name;
      }
      add(found);
      pa->items.back().by_id = true;
      pa->items.back().topic_id = t.topic_id;
      if (found.empty()) {
        Settle(pa->items.back(), Code(ErrorCode::kUnknownTopicId), "no topic has this id");
      }
    }
  }
  AuthorizeAdmin(s, *pa);
  s.admin = std::move(pa);
  return ContinueAdmin(s, out) ? Outcome::kDone : Outcome::kSubmitted;
}

// DeleteRecords (KIP-107): each partition's log start moves to `offset` (-1:
// its high watermark), on the admin thread like the native DELETE_RECORDS;
// the answer carries the new log start (low_watermark).
Outcome KafkaFrontend::HandleDeleteRecords(Session& s, const Header& h, Reader& r,
                                           ResponseOut& out) {
  kafka::DeleteRecordsRequest req;
  if (!kafka::Decode(r, h.api_version, &req)) return Outcome::kClose;
  auto pa = std::make_unique<PendingAdmin>();
  pa->asker = Asker::Of(h);
  for (const auto& t : req.topics) {
    for (const auto& p : t.partitions) {
      PendingAdmin::Item item;
      item.name = std::string(t.name);
      item.partition = p.partition_index;
      item.offset = p.offset;
      if (p.offset < -1) {
        Settle(item, Code(ErrorCode::kOffsetOutOfRange), "offset below -1");
      }
      pa->items.push_back(std::move(item));
    }
  }
  AuthorizeAdmin(s, *pa);
  s.admin = std::move(pa);
  return ContinueAdmin(s, out) ? Outcome::kDone : Outcome::kSubmitted;
}

// AlterConfigs (legacy): the topic's settings become exactly the ones given;
// those not given go back to the broker default (Kafka replaces a resource's
// dynamic configs the same way).
Outcome KafkaFrontend::HandleAlterConfigs(Session& s, const Header& h, Reader& r,
                                          ResponseOut& out) {
  kafka::AlterConfigsRequest req;
  if (!kafka::Decode(r, h.api_version, &req)) return Outcome::kClose;
  auto pa = std::make_unique<PendingAdmin>();
  pa->asker = Asker::Of(h);
  pa->validate_only = req.validate_only;
  for (const auto& res : req.resources) {
    PendingAdmin::Item item = AlterItem(res.resource_type, res.resource_name);
    std::set<std::string> given;
    for (const auto& c : res.configs) {
      given.insert(std::string(c.name));
      item.changes.emplace_back(std::string(c.name),
                                c.value ? std::optional<std::string>(std::string(*c.value))
                                        : std::nullopt);
    }
    for (const char* const* k = broker::TopicConfigKeys(); *k; k++) {
      if (!given.count(*k)) item.changes.emplace_back(*k, std::nullopt);
    }
    pa->items.push_back(std::move(item));
  }
  AuthorizeAdmin(s, *pa);
  s.admin = std::move(pa);
  return ContinueAdmin(s, out) ? Outcome::kDone : Outcome::kSubmitted;
}

// IncrementalAlterConfigs (KIP-339): SET and DELETE (back to the default)
// for every topic setting, APPEND and SUBTRACT for the list setting
// cleanup.policy.
Outcome KafkaFrontend::HandleIncrementalAlterConfigs(Session& s, const Header& h, Reader& r,
                                                     ResponseOut& out) {
  kafka::IncrementalAlterConfigsRequest req;
  if (!kafka::Decode(r, h.api_version, &req)) return Outcome::kClose;
  auto pa = std::make_unique<PendingAdmin>();
  pa->asker = Asker::Of(h);
  pa->validate_only = req.validate_only;
  constexpr int8_t kSet = 0, kDelete = 1, kAppend = 2, kSubtract = 3;
  for (const auto& res : req.resources) {
    PendingAdmin::Item item = AlterItem(res.resource_type, res.resource_name);
    auto topic = core_->FindTopic(res.resource_name);
    for (const auto& c : res.configs) {
      if (item.settled) break;
      const std::string name(c.name);
      if (c.config_operation == kSet || c.config_operation == kDelete) {
        if (c.config_operation == kSet && !c.value) {
          Settle(item, Code(ErrorCode::kInvalidConfig), name + ": SET without a value");
          break;
        }
        item.changes.emplace_back(name, c.config_operation == kSet
                                            ? std::optional<std::string>(std::string(*c.value))
                                            : std::nullopt);
      } else if (c.config_operation == kAppend || c.config_operation == kSubtract) {
        if (name != "cleanup.policy") {
          Settle(item, Code(ErrorCode::kInvalidConfig),
                 name + ": APPEND and SUBTRACT apply to list settings (cleanup.policy) only");
          break;
        }
        if (!topic) break;  // the admin operation answers UNKNOWN_TOPIC_OR_PARTITION
        auto policy = EditPolicy(topic->config, c.config_operation == kAppend,
                                 c.value ? std::string_view(*c.value) : std::string_view());
        if (!policy) {
          Settle(item, Code(ErrorCode::kInvalidConfig),
                 "cleanup.policy: the result must be a non-empty list of delete and compact");
          break;
        }
        item.changes.emplace_back(name, *policy);
      } else {
        Settle(item, Code(ErrorCode::kInvalidRequest),
               fmt::format("{}: unknown config_operation {}", name, c.config_operation));
        break;
      }
    }
    pa->items.push_back(std::move(item));
  }
  AuthorizeAdmin(s, *pa);
  s.admin = std::move(pa);
  return ContinueAdmin(s, out) ? Outcome::kDone : Outcome::kSubmitted;
}

void KafkaFrontend::AuthorizeAdmin(Session& s, PendingAdmin& pa) {
  if (!opt_.authorizer) return;
  using security::AclOperation;
  const int16_t key = pa.asker.api_key;
  const bool may_create_any =
      key == kCreateTopicsKey &&
      Probe(s, AclOperation::kCreate, security::ResourceType::kCluster, security::kClusterName);
  for (PendingAdmin::Item& item : pa.items) {
    // Refused before any other check, so a request learns nothing of a
    // resource it may not touch.
    bool allowed = true;
    int16_t refusal = Code(ErrorCode::kTopicAuthorizationFailed);
    if (key == kCreateTopicsKey) {
      allowed = Record(s,
                       may_create_any ||
                           Probe(s, AclOperation::kCreate, security::ResourceType::kTopic,
                                 item.name),
                       AclOperation::kCreate, security::ResourceType::kTopic, item.name);
    } else if (key == kDeleteTopicsKey) {
      if (item.name.empty()) continue;  // an unknown topic id: UNKNOWN_TOPIC_ID as it is
      allowed = AllowedTopic(s, AclOperation::kDelete, item.name);
    } else if (key == kDeleteRecordsKey) {
      allowed = AllowedTopic(s, AclOperation::kDelete, item.name);
    } else if (key == kAlterConfigsKey || key == kIncrementalAlterKey) {
      if (item.resource_type == kResourceBroker) {
        allowed = AllowedCluster(s, AclOperation::kAlterConfigs);
        refusal = Code(ErrorCode::kClusterAuthorizationFailed);
      } else if (item.resource_type == kResourceTopic) {
        allowed = AllowedTopic(s, AclOperation::kAlterConfigs, item.name);
      }
    }
    if (!allowed) {
      item.settled = false;
      item.message.reset();
      Settle(item, refusal, "not authorized (docs/security.md)");
      if (key == kDeleteTopicsKey) {
        // Tell nothing of a topic it may not touch: by name, no id; by id,
        // no name (as Kafka).
        if (item.by_id) {
          item.name.clear();
        } else {
          item.topic_id = kafka::Uuid{};
        }
      }
    }
  }
}

bool KafkaFrontend::ContinueAdmin(Session& s, ResponseOut& out) {
  PendingAdmin& pa = *s.admin;
  const bool deleting = pa.asker.api_key == kDeleteTopicsKey;
  const bool trimming = pa.asker.api_key == kDeleteRecordsKey;
  const bool altering =
      pa.asker.api_key == kAlterConfigsKey || pa.asker.api_key == kIncrementalAlterKey;
  for (; pa.next < pa.items.size(); pa.next++) {
    PendingAdmin::Item& item = pa.items[pa.next];
    if (item.settled) continue;
    auto c = std::make_unique<broker::AdminCompletion>();
    const bool submitted =
        altering   ? core_->SubmitAlterTopicConfig(s.core, c, item.name, item.changes,
                                                   pa.validate_only)
        : trimming ? core_->SubmitDeleteRecords(s.core, c, item.name, item.partition, item.offset)
        : deleting ? core_->SubmitDeleteTopic(s.core, c, item.name)
                   : core_->SubmitCreateTopic(s.core, c, item.name, item.partitions, item.configs,
                                             item.replication_factor);
    if (!submitted) {  // only while writes of ours are in flight: never here
      Settle(item, Code(ErrorCode::kUnknownServerError), "writes in flight");
      continue;
    }
    s.busy = true;
    return false;  // OnCompletion settles it and comes back here
  }
  AnswerAdmin(s, out);
  return true;
}

void KafkaFrontend::AnswerAdmin(Session& s, ResponseOut& out) {
  std::unique_ptr<PendingAdmin> pa = std::move(s.admin);
  s.busy = false;
  if (pa->asker.api_key == kDeleteTopicsKey) {
    kafka::DeleteTopicsResponse resp;
    for (const auto& item : pa->items) {
      kafka::DeleteTopicsResponse::DeletableTopicResult res;
      if (!item.by_id || !item.name.empty()) res.name = item.name;
      res.topic_id = item.topic_id;
      res.error_code = item.error;
      res.error_message = item.message;
      resp.responses.push_back(std::move(res));
    }
    Respond(out, pa->asker, resp);
  } else if (pa->asker.api_key == kAlterConfigsKey) {
    Respond(out, pa->asker, AlterResponse<kafka::AlterConfigsResponse>(*pa));
  } else if (pa->asker.api_key == kIncrementalAlterKey) {
    Respond(out, pa->asker, AlterResponse<kafka::IncrementalAlterConfigsResponse>(*pa));
  } else if (pa->asker.api_key == kDeleteRecordsKey) {
    kafka::DeleteRecordsResponse resp;
    for (const auto& item : pa->items) {
      if (resp.topics.empty() || resp.topics.back().name != item.name) {
        resp.topics.emplace_back();
        resp.topics.back().name = item.name;
      }
      kafka::DeleteRecordsResponse::DeleteRecordsPartitionResult res;
      res.partition_index = item.partition;
      res.low_watermark = item.error == 0 ? item.low_watermark : -1;
      res.error_code = item.error;
      resp.topics.back().partitions.push_back(res);
    }
    Respond(out, pa->asker, resp);
  } else if (pa->asker.api_key == kCreateTopicsKey) {
    kafka::CreateTopicsResponse resp;
    for (const auto& item : pa->items) {
      kafka::CreateTopicsResponse::CreatableTopicResult res;
      res.name = item.name;
      res.error_code = item.error;
      res.error_message = item.message;
      if (item.error == 0) {
        res.num_partitions = item.partitions;
        res.replication_factor = 1;
        broker::TopicConfig cfg;
        if (auto topic = core_->FindTopic(item.name); topic && !pa->validate_only) {
          res.topic_id = TopicIdOf(*topic);
          cfg = topic->config;
        } else {
          core_->ValidateCreateTopic(item.name, item.partitions, item.configs, &cfg);
        }
        // Its settings only to one who may read them (as Kafka); a creator
        // without that is not refused anything, so this is not counted.
        if (Probe(s, security::AclOperation::kDescribeConfigs, security::ResourceType::kTopic,
                  item.name)) {
          res.configs.emplace();
        }
        for (auto& e : TopicEntries(cfg, core_->topic_defaults())) {
          if (!res.configs) break;
          res.configs->push_back({e.name, e.value, e.read_only, e.source, false});
        }
      }
      resp.topics.push_back(std::move(res));
    }
    Respond(out, pa->asker, resp);
  } else {  // Metadata that auto-created its topics
    WriteMetadata(s, pa->asker, false, pa->metadata_topics, pa->metadata_refused, out);
  }
}

Outcome KafkaFrontend::HandleDescribeConfigs(Session& s, const Header& h, Reader& r,
                                             ResponseOut& out) {
  kafka::DescribeConfigsRequest req;
  if (!kafka::Decode(r, h.api_version, &req)) return Outcome::kClose;
  kafka::DescribeConfigsResponse resp;
  for (const auto& res : req.resources) {
    kafka::DescribeConfigsResponse::DescribeConfigsResult result;
    result.resource_type = res.resource_type;
    result.resource_name = std::string(res.resource_name);
    std::vector<ConfigEntry> entries;
    if (res.resource_type == kResourceTopic &&
        !AllowedTopic(s, security::AclOperation::kDescribeConfigs, res.resource_name)) {
      result.error_code = Code(ErrorCode::kTopicAuthorizationFailed);
      result.error_message = "not authorized (docs/security.md)";
    } else if (res.resource_type == kResourceBroker &&
               !AllowedCluster(s, security::AclOperation::kDescribeConfigs)) {
      result.error_code = Code(ErrorCode::kClusterAuthorizationFailed);
      result.error_message = "not authorized (docs/security.md)";
    } else if (res.resource_type == kResourceTopic) {
      auto topic = core_->FindTopic(res.resource_name);
      if (!topic) {
        result.error_code = Code(ErrorCode::kUnknownTopicOrPartition);
        result.error_message = "unknown topic " + result.resource_name;
      } else {
        entries = TopicEntries(topic->config, core_->topic_defaults());
      }
    } else if (res.resource_type == kResourceBroker &&
               (res.resource_name.empty() ||
                res.resource_name == std::to_string(core_->identity().broker_id))) {
      for (const auto& [k, v] : opt_.broker_configs) {
        entries.push_back({k, v, kSourceStaticBroker, /*read_only=*/true});
      }
    } else {
      result.error_code = Code(ErrorCode::kInvalidRequest);
      result.error_message = "only topic and this broker's configs can be described";
    }
    for (auto& e : entries) {
      if (res.configuration_keys &&
          std::find(res.configuration_keys->begin(), res.configuration_keys->end(), e.name) ==
              res.configuration_keys->end()) {
        continue;
      }
      kafka::DescribeConfigsResponse::DescribeConfigsResourceResult c;
      c.name = e.name;
      c.value = e.value;
      c.read_only = e.read_only;
      c.is_default = e.source == kSourceDefault;
      c.config_source = e.source;
      result.configs.push_back(std::move(c));
    }
    resp.results.push_back(std::move(result));
  }
  Respond(out, Asker::Of(h), resp);
  return Outcome::kDone;
}

}  // namespace sentry::frontend
