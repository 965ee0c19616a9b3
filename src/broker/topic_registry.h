// TopicRegistry: the topics of this broker, their partitions and their
// persisted metadata (<data>/__topics/<name>.toml, written atomically).
//
// Threads: Find/List from any thread (shared lock, returns shared_ptr so the
// caller keeps using a topic even if it is deleted meanwhile). Create/Delete
// from any thread; they serialise on an admin mutex. LoadAll before serving.
#pragma once

#include <array>
#include <atomic>
#include <functional>
#include <map>
#include <set>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "broker/topic_config.h"
#include "common/mutex.h"
#include "pipeline/partition.h"
#include "pipeline/pipeline.h"
#include "recovery/log_loader.h"
#include "broker/error.h"
#include "storage/prefaulter.h"

namespace sentry::broker {

struct Topic {
  std::string name;
  // A random id given at creation and persisted with the topic (Kafka's
  // topic ID): a topic deleted and created again under the same name has a
  // new one. Topics created before ids existed get one derived from their name.
  std::array<uint8_t, 16> id{};
  TopicConfig config;
  std::vector<std::shared_ptr<pipeline::Partition>> partitions;
};

struct LoadSummary {
  int offline = 0;
  int segments_walked = 0;
  int topics = 0;
  int partitions = 0;
  int segments = 0;
  int64_t records = 0;  // sum of (log end - log start)
  int truncations = 0;
};

class TopicRegistry {
 public:
  TopicRegistry(std::string data_dir, pipeline::Pipeline* pipeline, Prefaulter* prefaulter,
                int64_t max_partitions, TopicConfig defaults);
  ~TopicRegistry();

  Status LoadAll(const recovery::StartupState& startup, LoadSummary* summary);
  // Every partition log (topics and internal), with what keeps them alive.
  std::vector<std::pair<std::string, PartitionLog*>> AllLogs(
      std::vector<std::shared_ptr<const void>>* keep_alive) const;
  Error Create(std::string_view name, int32_t partitions,
               const std::vector<std::pair<std::string_view, std::string_view>>& configs);
  // One change of a topic setting: a value, or nullopt for "back to the
  // broker default" (Kafka's SET and DELETE operations).
  using ConfigChange = std::pair<std::string, std::optional<std::string>>;
  // Changes settings of an existing topic: validated as a whole (an unknown
  // key or a bad value is INVALID_CONFIG and nothing changes), persisted
  // atomically, applied to the partitions (segment layout and timestamps
  // under each append lock, the flush policy), then published (a new Topic
  // with the same partitions). `validate_only`: checks without changing
  // anything.
  Error AlterConfig(std::string_view name, const std::vector<ConfigChange>& changes,
                    bool validate_only = false);
  // What Create would refuse, without creating anything (validate_only);
  // *cfg = the topic's configuration. Racy against a concurrent Create of the
  // same name, as Kafka's validate_only is.
  Error Validate(std::string_view name, int32_t partitions,
                 const std::vector<std::pair<std::string_view, std::string_view>>& configs,
                 TopicConfig* cfg) const;
  const TopicConfig& defaults() const { return defaults_; }
  // Marks the partitions deleted, waits until their writers are past any
  // append in progress, wakes parked fetches (`wake`), then removes the files.
  Error Delete(std::string_view name,
                     const std::function<void(const std::shared_ptr<pipeline::Partition>&)>&
                         wake);
  std::shared_ptr<const Topic> Find(std::string_view name) const;
  // Changes whenever a topic is added or removed: a caller may keep what
  // Find returned while this stays the same (see ClientSession).
  uint64_t version() const { return version_.load(std::memory_order_acquire); }
  std::vector<std::shared_ptr<const Topic>> List() const;
  // Clean shutdown: flush and trim every partition (writers must be stopped).
  Status CloseAll();

  // Opens (or creates) an internal topic of `partitions` partitions, e.g.
  // the consumer offsets log, `segment_bytes` per segment; returns its
  // partitions. `compact`: the log cleaner keeps the latest record per key
  // (what a replay needs).
  Result<std::vector<std::shared_ptr<pipeline::Partition>>> OpenInternal(const std::string& name,
                                                                         int32_t partitions,
                                                                         int64_t segment_bytes,
                                                                         bool compact,
                                                                         LoadSummary* summary);
  // The internal topics (for the log cleaner; List() leaves them out).
  std::vector<std::shared_ptr<const Topic>> ListInternal() const;

  static bool ValidTopicName(std::string_view name);
  // storage.min.free.bytes for every partition opened from now on.
  void set_min_free_bytes(uint64_t n) { min_free_bytes_ = n; }
  // Cluster mode: every topic partition opened from now on starts with no
  // role (not served) and this gate, until the cluster gives it a role.
  void set_cluster_gate(pipeline::ReplicationGate* g) { cluster_gate_.store(g); }
  // storage.drop.behind.bytes for every partition opened from now on.
  void set_drop_behind_bytes(uint64_t n) { drop_behind_bytes_ = n; }

 private:
  // Opens (loading or creating) every partition of a topic. `summary` null:
  // a new topic, whose directories the caller fsyncs in one batch.
  Result<std::shared_ptr<Topic>> OpenTopic(const std::string& name, const std::array<uint8_t, 16>& id,
                                           int32_t partitions,
                                           const TopicConfig& config, LoadSummary* summary);
  std::string PartitionDir(std::string_view topic, int32_t p) const;
  std::string MetadataPath(std::string_view topic) const;

  const std::string data_dir_;
  pipeline::Pipeline* const pipeline_;
  Prefaulter* const prefaulter_;
  const int64_t max_partitions_;
  const TopicConfig defaults_;
  uint64_t min_free_bytes_ = 0;
  uint64_t drop_behind_bytes_ = 0;
  Mutex admin_mu_;  // serialises Create/Delete
  mutable SharedMutex mu_;
  std::map<std::string, std::shared_ptr<Topic>, std::less<>> topics_ GUARDED_BY(mu_);
  std::atomic<uint64_t> version_{0};  // bumped with every change of topics_
  std::atomic<pipeline::ReplicationGate*> cluster_gate_{nullptr};
  recovery::StartupState startup_;  // set by LoadAll, used for every partition opened
  std::vector<std::shared_ptr<pipeline::Partition>> internal_ GUARDED_BY(mu_);
  std::vector<std::shared_ptr<const Topic>> internal_topics_ GUARDED_BY(mu_);
};

}  // namespace sentry::broker
