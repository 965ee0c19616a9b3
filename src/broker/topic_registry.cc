#include "broker/topic_registry.h"

#include <dirent.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <toml++/toml.h>

#include <charconv>
#include <cstring>
#include <random>
#include <thread>

#include "common/clock.h"
#include "common/file_util.h"
#include "recovery/log_loader.h"

namespace sentry::broker {

namespace fs = std::filesystem;

namespace {
constexpr const char* kTopicsDir = "__topics";
constexpr size_t kCloseThreads = 4;
constexpr const char* kReservedName = "__consumer_offsets";

using TopicId = std::array<uint8_t, 16>;

std::string IdToHex(const TopicId& id) {
  std::string s;
  for (uint8_t b : id) s += fmt::format("{:02x}", b);
  return s;
}

bool IdFromHex(std::string_view hex, TopicId* id) {
  if (hex.size() != 32) return false;
  for (size_t i = 0; i < 16; i++) {
    unsigned v = 0;
    auto [p, ec] = std::from_chars(hex.data() + 2 * i, hex.data() + 2 * i + 2, v, 16);
    if (ec != std::errc() || p != hex.data() + 2 * i + 2) return false;
    (*id)[i] = static_cast<uint8_t>(v);
  }
  return true;
}

TopicId RandomTopicId() {
  std::random_device rd;
  TopicId id;
  for (size_t i = 0; i < id.size(); i += 4) {
    const uint32_t r = rd();
    std::memcpy(id.data() + i, &r, 4);
  }
  id[6] = static_cast<uint8_t>((id[6] & 0x0F) | 0x40);  // UUID version 4
  id[8] = static_cast<uint8_t>((id[8] & 0x3F) | 0x80);  // RFC 4122 variant
  return id;
}

// For topics persisted before ids existed: stable across restarts.
TopicId TopicIdFromName(std::string_view name) {
  TopicId id;
  uint64_t h1 = 1469598103934665603ULL, h2 = 0x9E3779B97F4A7C15ULL;
  for (unsigned char c : name) {
    h1 = (h1 ^ c) * 1099511628211ULL;
    h2 = (h2 ^ c) * 0x100000001B3ULL + 0x7F;
  }
  std::memcpy(id.data(), &h1, 8);
  std::memcpy(id.data() + 8, &h2, 8);
  id[6] = static_cast<uint8_t>((id[6] & 0x0F) | 0x40);
  id[8] = static_cast<uint8_t>((id[8] & 0x3F) | 0x80);
  return id;
}

std::string SerializeTopic(const std::string& name, const TopicId& id, int32_t partitions,
                           const TopicConfig& c) {
  std::string s = fmt::format("# Sentry topic metadata; written atomically by the broker.\n"
                              "name = \"{}\"\nid = \"{}\"\npartitions = {}\n\n[config]\n",
                              name, IdToHex(id), partitions);
  for (auto& [k, v] : c.ToMap()) s += fmt::format("\"{}\" = \"{}\"\n", k, v);
  return s;
}
}  // namespace

TopicRegistry::TopicRegistry(std::string data_dir, pipeline::Pipeline* pipeline,
                             Prefaulter* prefaulter, int64_t max_partitions,
                             TopicConfig defaults)
    : data_dir_(std::move(data_dir)), pipeline_(pipeline), prefaulter_(prefaulter),
      max_partitions_(max_partitions), defaults_(defaults) {}

TopicRegistry::~TopicRegistry() = default;

bool TopicRegistry::ValidTopicName(std::string_view name) {
  if (name.empty() || name.size() > 249 || name == "." || name == "..") return false;
  for (char c : name) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-')) {
      return false;
    }
  }
  return true;
}

std::string TopicRegistry::PartitionDir(std::string_view topic, int32_t p) const {
  return fmt::format("{}/{}-{}", data_dir_, topic, p);
}
std::string TopicRegistry::MetadataPath(std::string_view topic) const {
  return fmt::format("{}/{}/{}.toml", data_dir_, kTopicsDir, topic);
}

Result<std::shared_ptr<Topic>> TopicRegistry::OpenTopic(const std::string& name,
                                                        const TopicId& id, int32_t partitions,
                                                        const TopicConfig& config,
                                                        LoadSummary* summary) {
  auto topic = std::make_shared<Topic>();
  topic->name = name;
  topic->id = id;
  topic->config = config;
  LogConfig log_cfg = config.ToLogConfig();
  log_cfg.file.prefaulter = prefaulter_;
  log_cfg.file.min_free_bytes = min_free_bytes_;
  log_cfg.file.drop_behind = drop_behind_bytes_;
  for (int32_t p = 0; p < partitions; p++) {
    recovery::RecoveryReport report;
    std::string dir = PartitionDir(name, p);
    recovery::RecoveryOptions opts = startup_.For(fmt::format("{}-{}", name, p));
    // A new topic's directories are synced by Create, all together.
    opts.sync_new_dirs = summary != nullptr;
    auto log = recovery::LoadPartition(dir, log_cfg, opts, &report);
    if (!log.ok()) {
      return Status(log.status().code(),
                    fmt::format("partition {}-{}: {}", name, p, log.status().message()));
    }
    if (!report.truncation.empty()) {
      spdlog::warn("Truncated {}-{} at {}: dropped {} bytes and {} later segment(s)", name, p,
                   report.truncation, report.bytes_truncated, report.segments_removed);
      if (summary) summary->truncations++;
    }
    if (summary) {
      summary->segments_walked += report.segments_walked;
      if (!report.offline_reason.empty()) summary->offline++;
      summary->segments += report.segments;
      summary->records += (*log)->log_end_offset() - (*log)->log_start_offset();
      summary->partitions++;
    }
    topic->partitions.push_back(std::make_shared<pipeline::Partition>(
        name, p, std::move(log).value(), config.ToFlushPolicy(), pipeline_->WriterFor(name, p)));
    if (auto* gate = cluster_gate_.load()) {
      // Cluster mode: served only once the cluster gives it a role.
      topic->partitions.back()->replica().gate.store(gate);
      topic->partitions.back()->replica().role.store(pipeline::ReplicaRoleState::kNone);
    }
  }
  return topic;
}

Status TopicRegistry::LoadAll(const recovery::StartupState& startup, LoadSummary* summary) {
  startup_ = startup;
  int64_t last_progress = SteadyMillis();
  std::error_code ec;
  fs::create_directories(fs::path(data_dir_) / kTopicsDir, ec);
  if (ec) return Status::IoError(fmt::format("create {}/{}: {}", data_dir_, kTopicsDir, ec.message()));
  std::set<std::string> known_dirs;
  for (auto& entry : fs::directory_iterator(fs::path(data_dir_) / kTopicsDir)) {
    if (entry.path().extension() != ".toml") continue;
    std::string name = entry.path().stem().string();
    TopicConfig cfg = defaults_;
    int64_t partitions = 0;
    TopicId id = TopicIdFromName(name);
    try {
      toml::table t = toml::parse_file(entry.path().string());
      partitions = t["partitions"].value_or<int64_t>(0);
      if (auto hex = t["id"].value<std::string>(); hex && !IdFromHex(*hex, &id)) {
        return Status::Corruption(entry.path().string() + ": bad topic id");
      }
      if (auto* c = t["config"].as_table()) {
        for (auto&& [k, v] : *c) {
          auto sv = v.value<std::string>();
          if (!sv) return Status::Corruption(entry.path().string() + ": config values must be strings");
          Status s = cfg.Set(k.str(), *sv);
          if (!s.ok()) return Status::Corruption(entry.path().string() + ": " + s.message());
        }
      }
    } catch (const toml::parse_error& e) {
      return Status::Corruption(fmt::format("{}: {}", entry.path().string(), e.description()));
    }
    if (!ValidTopicName(name) || partitions < 1 || partitions > max_partitions_) {
      return Status::Corruption(fmt::format("{}: bad topic name or partition count {}",
                                            entry.path().string(), partitions));
    }
    SENTRY_ASSIGN_OR_RETURN(auto topic, OpenTopic(name, id, static_cast<int32_t>(partitions), cfg, summary));
    for (int32_t p = 0; p < partitions; p++) known_dirs.insert(fmt::format("{}-{}", name, p));
    {
      WriterLock l(&mu_);
      topics_.emplace(name, std::move(topic));
      version_.fetch_add(1, std::memory_order_acq_rel);
    }
    summary->topics++;
    if (SteadyMillis() - last_progress > 2000) {
      spdlog::info("Loading log segments: {} topics, {} partitions, {} segments so far",
                   summary->topics, summary->partitions, summary->segments);
      last_progress = SteadyMillis();
    }
  }
  // Partition directories without metadata belong to a topic whose delete was
  // cut short by a crash (metadata goes first): finish the delete.
  for (auto& entry : fs::directory_iterator(data_dir_)) {
    if (!entry.is_directory()) continue;
    std::string d = entry.path().filename().string();
    if (d.rfind(".deleted-", 0) == 0) {  // a delete cut short after its rename
      fs::remove_all(entry.path(), ec);
      continue;
    }
    if (d == kTopicsDir || d.rfind(kReservedName, 0) == 0 || known_dirs.count(d)) continue;
    auto dash = d.rfind('-');
    if (dash == std::string::npos || d.find_first_not_of("0123456789", dash + 1) != std::string::npos) {
      continue;  // not ours
    }
    spdlog::warn("Removing {}: partition directory of a deleted topic", entry.path().string());
    fs::remove_all(entry.path(), ec);
  }
  // One sync for every entry made or removed here (the __topics directory, a
  // partition directory recreated empty, orphans removed), before serving.
  return SyncDirectory(data_dir_);
}

Result<std::vector<std::shared_ptr<pipeline::Partition>>> TopicRegistry::OpenInternal(
    const std::string& name, int32_t partitions, int64_t segment_bytes, bool compact,
    LoadSummary* summary) {
  TopicConfig cfg;
  cfg.segment_bytes = segment_bytes;
  cfg.index_max_entries = 1 << 20;
  cfg.cleanup_compact = compact;
  cfg.cleanup_delete = false;
  SENTRY_ASSIGN_OR_RETURN(auto topic,
                          OpenTopic(name, TopicIdFromName(name), partitions, cfg, summary));
  SENTRY_RETURN_IF_ERROR(SyncDirectory(data_dir_));  // its directories may be new
  WriterLock l(&mu_);
  internal_.insert(internal_.end(), topic->partitions.begin(), topic->partitions.end());
  internal_topics_.push_back(topic);
  return topic->partitions;
}

std::vector<std::shared_ptr<const Topic>> TopicRegistry::ListInternal() const {
  ReaderLock l(&mu_);
  return internal_topics_;
}

Error TopicRegistry::Validate(
    std::string_view name, int32_t partitions,
    const std::vector<std::pair<std::string_view, std::string_view>>& configs,
    TopicConfig* cfg) const {
  if (!ValidTopicName(name) || name == kReservedName) {
    return {Errc::kInvalidTopic, fmt::format("invalid topic name '{}'", name)};
  }
  if (partitions < 1 || partitions > max_partitions_) {
    return {Errc::kInvalidPartitions,
            fmt::format("partition count {} is outside [1, {}]", partitions, max_partitions_)};
  }
  *cfg = defaults_;
  for (auto& [k, v] : configs) {
    Status s = cfg->Set(k, v);
    if (!s.ok()) return {Errc::kInvalidConfig, s.message()};
  }
  if (Find(name)) {
    return {Errc::kTopicAlreadyExists, fmt::format("topic '{}' already exists", name)};
  }
  return {};
}

Error TopicRegistry::Create(
    std::string_view name, int32_t partitions,
    const std::vector<std::pair<std::string_view, std::string_view>>& configs) {
  TopicConfig cfg;
  MutexLock admin(&admin_mu_);
  if (Error e = Validate(name, partitions, configs, &cfg); !e.ok()) return e;
  std::string sname(name);
  const TopicId id = RandomTopicId();
  auto topic = OpenTopic(sname, id, partitions, cfg, nullptr);
  // The partition directories are new entries of the data directory, and the
  // segment files new entries of theirs: a power cut before these fsyncs
  // could forget them (and everything in them), whatever was synced inside.
  // One pass after creating them all: the first fsync commits the file
  // system's journal for every entry, the rest find little to do. Then the
  // metadata, which makes the topic exist.
  Status s = topic.status();
  for (int32_t p = 0; s.ok() && p < partitions; p++) s = SyncDirectory(PartitionDir(name, p));
  if (s.ok()) s = SyncDirectory(data_dir_);
  if (s.ok()) s = WriteFileAtomically(MetadataPath(name), SerializeTopic(sname, id, partitions, cfg));
  if (!s.ok()) {
    std::error_code ec;
    for (int32_t p = 0; p < partitions; p++) fs::remove_all(PartitionDir(name, p), ec);
    spdlog::error("create topic {} failed: {}", name, s.ToString());
    return {Errc::kStorage, s.message()};
  }
  {
    WriterLock l(&mu_);
    topics_.emplace(sname, std::move(topic).value());
    version_.fetch_add(1, std::memory_order_acq_rel);
  }
  spdlog::info("Created topic {} with {} partitions", name, partitions);
  return {};
}

Error TopicRegistry::AlterConfig(std::string_view name, const std::vector<ConfigChange>& changes,
                                 bool validate_only) {
  MutexLock admin(&admin_mu_);
  std::shared_ptr<Topic> old;
  {
    ReaderLock l(&mu_);
    auto it = topics_.find(name);
    if (it == topics_.end()) {
      return {Errc::kUnknownTopicOrPartition, fmt::format("no topic '{}'", name)};
    }
    old = it->second;
  }
  TopicConfig cfg = old->config;
  const auto defaults = defaults_.ToMap();
  for (const auto& [key, value] : changes) {
    auto d = defaults.find(key);
    if (d == defaults.end()) {
      return {Errc::kInvalidConfig, fmt::format("unknown topic config key '{}'", key)};
    }
    Status s = cfg.Set(key, value ? *value : d->second);
    if (!s.ok()) return {Errc::kInvalidConfig, s.message()};
  }
  const auto before = old->config.ToMap();
  const auto after = cfg.ToMap();
  if (validate_only || after == before) return {};
  Status s = WriteFileAtomically(MetadataPath(name),
                                 SerializeTopic(old->name, old->id,
                                                static_cast<int32_t>(old->partitions.size()), cfg));
  if (!s.ok()) {
    spdlog::error("alter topic {} failed: {}", name, s.ToString());
    return {Errc::kStorage, s.message()};
  }
  // Most settings are read where they are used (produce checks, retention,
  // the cleaner) from the published Topic. What the partitions hold
  // themselves changes under each one's append lock: segment layout and
  // timestamps for the appender, the flush policy for the writer and flusher.
  for (const auto& p : old->partitions) {
    MutexLock append(&p->append_mu());
    p->log()->UpdateAppendConfig(static_cast<uint32_t>(cfg.segment_bytes),
                                 static_cast<uint32_t>(cfg.index_max_entries), cfg.segment_ms,
                                 cfg.log_append_time, cfg.cleanup_compact);
    p->set_policy(cfg.ToFlushPolicy());
  }
  auto fresh = std::make_shared<Topic>(*old);
  fresh->config = cfg;
  {
    WriterLock l(&mu_);
    topics_[old->name] = fresh;
    version_.fetch_add(1, std::memory_order_acq_rel);
  }
  std::string changed;
  for (const auto& [k, v] : after) {
    if (before.at(k) != v) changed += fmt::format(" {}={}", k, v);
  }
  spdlog::info("Altered topic {}:{}", name, changed);
  return {};
}

Error TopicRegistry::Delete(
    std::string_view name,
    const std::function<void(const std::shared_ptr<pipeline::Partition>&)>& wake) {
  MutexLock admin(&admin_mu_);
  std::shared_ptr<Topic> topic;
  {
    WriterLock l(&mu_);
    auto it = topics_.find(name);
    if (it == topics_.end()) {
      return {Errc::kUnknownTopicOrPartition, fmt::format("no topic '{}'", name)};
    }
    topic = it->second;
    topics_.erase(it);
    version_.fetch_add(1, std::memory_order_acq_rel);
  }
  std::set<uint32_t> writers;
  for (auto& p : topic->partitions) {
    p->MarkDeleted();
    writers.insert(p->writer_index());
  }
  // A network thread appending inline holds the partition's append lock and
  // looks at deleted() under it: taking the lock once waits out such an
  // append, and none starts afterwards.
  for (auto& p : topic->partitions) {
    MutexLock wait_out(&p->append_mu());
    MutexLock wait_out_retention(&p->retention_mu());  // likewise for retention
  }
  for (uint32_t w : writers) pipeline_->Barrier(w);
  for (auto& p : topic->partitions) wake(p);
  // Metadata first: a crash after this point leaves orphan directories that
  // the next start removes, never a topic with missing partitions.
  Status s = RemoveFileDurably(MetadataPath(name));
  if (!s.ok()) {
    // The delete is not durable: answer so, and keep the partitions' files,
    // so that what a restart finds (the metadata, perhaps) is a whole topic.
    spdlog::error("delete topic {}: {}; its files stay, and a restart may bring it back", name,
                  s.ToString());
    return {Errc::kStorage, fmt::format("delete of topic '{}' was not made durable: {}", name,
                                        s.message())};
  }
  std::error_code ec;
  for (auto& p : topic->partitions) {
    // Rename first so a writer that still holds the partition can never
    // create files in a directory of a new topic with the same name.
    std::string dir = PartitionDir(name, p->index());
    static std::atomic<uint64_t> trash_counter{0};
    std::string trash = fmt::format("{}/.deleted-{}-{}", data_dir_, ::getpid(),
                                    trash_counter.fetch_add(1));
    fs::rename(dir, trash, ec);
    fs::remove_all(ec ? dir : trash, ec);
  }
  // Not needed for safety (the next start removes directories without
  // metadata) but keeps what a crash leaves behind small.
  if (Status synced = SyncDirectory(data_dir_); !synced.ok()) {
    spdlog::warn("delete topic {}: {}", name, synced.ToString());
  }
  spdlog::info("Deleted topic {}", name);
  return {};
}

std::shared_ptr<const Topic> TopicRegistry::Find(std::string_view name) const {
  ReaderLock l(&mu_);
  auto it = topics_.find(name);
  return it == topics_.end() ? nullptr : it->second;
}

std::vector<std::shared_ptr<const Topic>> TopicRegistry::List() const {
  ReaderLock l(&mu_);
  std::vector<std::shared_ptr<const Topic>> out;
  for (auto& [n, t] : topics_) out.push_back(t);
  return out;
}

std::vector<std::pair<std::string, PartitionLog*>> TopicRegistry::AllLogs(
    std::vector<std::shared_ptr<const void>>* keep_alive) const {
  std::vector<std::pair<std::string, PartitionLog*>> out;
  auto add = [&](const std::shared_ptr<pipeline::Partition>& p) {
    keep_alive->push_back(p);
    out.emplace_back(fmt::format("{}-{}", p->topic(), p->index()), p->log());
  };
  for (auto& t : List()) {
    for (auto& p : t->partitions) add(p);
  }
  {
    ReaderLock l(&mu_);
    for (auto& p : internal_) add(p);
  }
  return out;
}

Status TopicRegistry::CloseAll() {
  std::vector<std::shared_ptr<pipeline::Partition>> all;
  for (auto& t : List()) all.insert(all.end(), t->partitions.begin(), t->partitions.end());
  {
    ReaderLock l(&mu_);
    all.insert(all.end(), internal_.begin(), internal_.end());
  }
  // The writers are stopped: partitions close independently. Each close is
  // a few syscalls and fsyncs (trim, index sync, producer snapshot), so a
  // 10,000-partition broker closes them on a few threads to stop in seconds.
  std::atomic<size_t> next{0};
  Mutex first_mu;
  Status first;
  auto work = [&] {
    for (size_t i = next.fetch_add(1); i < all.size(); i = next.fetch_add(1)) {
      const auto& p = all[i];
      Status s = p->log()->Close();
      if (!s.ok()) {
        spdlog::error("close {}-{}: {}", p->topic(), p->index(), s.ToString());
        MutexLock l(&first_mu);
        if (first.ok()) first = s;
      }
    }
  };
  const size_t threads = std::min<size_t>(kCloseThreads, (all.size() + 255) / 256);
  std::vector<std::thread> pool;
  for (size_t t = 1; t < threads; t++) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  return first;
}

}  // namespace sentry::broker
