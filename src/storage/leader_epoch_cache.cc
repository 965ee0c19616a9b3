#include "storage/leader_epoch_cache.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>

#include "common/file_util.h"

namespace sentry {

namespace {

// Strictly increasing epochs and start offsets, none negative.
Status CheckIncreasing(const std::vector<LeaderEpochCache::Entry>& entries) {
  for (size_t i = 0; i < entries.size(); i++) {
    const auto& e = entries[i];
    if (e.epoch < 0 || e.start_offset < 0) {
      return Status::InvalidArgument(
          fmt::format("entry {} ({} {}) is negative", i, e.epoch, e.start_offset));
    }
    if (i > 0 &&
        (e.epoch <= entries[i - 1].epoch || e.start_offset <= entries[i - 1].start_offset)) {
      return Status::InvalidArgument(fmt::format("entry {} ({} {}) does not follow ({} {})", i,
                                                 e.epoch, e.start_offset, entries[i - 1].epoch,
                                                 entries[i - 1].start_offset));
    }
  }
  return Status::OK();
}

// One decimal integer of the file, followed by whitespace or the end.
bool NextInt(std::string_view* text, int64_t* out) {
  size_t i = 0;
  while (i < text->size() && ((*text)[i] == ' ' || (*text)[i] == '\n' || (*text)[i] == '\r')) i++;
  size_t j = i;
  if (j < text->size() && (*text)[j] == '-') j++;
  const size_t digits = j;
  while (j < text->size() && (*text)[j] >= '0' && (*text)[j] <= '9') j++;
  if (j == digits || j - digits > 18) return false;  // no digits, or could overflow
  const std::string number(text->substr(i, j - i));
  *out = std::strtoll(number.c_str(), nullptr, 10);
  *text = text->substr(j);
  return text->empty() || text->front() == ' ' || text->front() == '\n' || text->front() == '\r';
}

}  // namespace

LeaderEpochCache::LeaderEpochCache(std::string dir) : path_(std::move(dir) + "/" + kFileName) {}

std::string LeaderEpochCache::Format(const std::vector<Entry>& entries) {
  std::string s = fmt::format("0\n{}\n", entries.size());
  for (const Entry& e : entries) s += fmt::format("{} {}\n", e.epoch, e.start_offset);
  return s;
}

Result<std::vector<LeaderEpochCache::Entry>> LeaderEpochCache::Parse(std::string_view text) {
  int64_t version = -1;
  int64_t count = -1;
  if (!NextInt(&text, &version) || version != 0) {
    return Status::Corruption("leader epoch checkpoint: version is not 0");
  }
  // Every entry takes at least four bytes ("0 0\n"): a count beyond that is
  // garbage, not a reason to reserve memory.
  if (!NextInt(&text, &count) || count < 0 || static_cast<size_t>(count) > text.size() / 4) {
    return Status::Corruption("leader epoch checkpoint: bad entry count");
  }
  std::vector<Entry> entries;
  entries.reserve(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; i++) {
    int64_t epoch = -1;
    int64_t offset = -1;
    if (!NextInt(&text, &epoch) || !NextInt(&text, &offset) || epoch < 0 || epoch > INT32_MAX) {
      return Status::Corruption(fmt::format("leader epoch checkpoint: bad entry {}", i));
    }
    entries.push_back({static_cast<int32_t>(epoch), offset});
  }
  if (text.find_first_not_of(" \r\n") != std::string_view::npos) {
    return Status::Corruption("leader epoch checkpoint: bytes after the last entry");
  }
  if (Status s = CheckIncreasing(entries); !s.ok()) {
    return Status::Corruption("leader epoch checkpoint: " + s.message());
  }
  return entries;
}

Result<std::vector<LeaderEpochCache::Entry>> LeaderEpochCache::ReadCheckpoint(
    const std::string& dir) {
  const std::string path = dir + "/" + kFileName;
  auto text = ReadFile(path);
  if (!text.ok()) return Status::NotFound(path + ": no leader epoch checkpoint");
  auto entries = Parse(*text);
  if (!entries.ok()) return Status::Corruption(path + ": " + entries.status().message());
  return entries;
}

std::vector<LeaderEpochCache::Entry> LeaderEpochCache::Copy() const {
  MutexLock l(&mu_);
  return entries_;
}

std::vector<LeaderEpochCache::Entry> LeaderEpochCache::entries() const { return Copy(); }

Status LeaderEpochCache::Commit(std::vector<Entry> next) {
  // The file first: a failed write leaves both the file and the entries as
  // they were.
  SENTRY_RETURN_IF_ERROR(WriteFileAtomically(path_, Format(next)));
  MutexLock l(&mu_);
  entries_ = std::move(next);
  latest_epoch_.store(entries_.empty() ? -1 : entries_.back().epoch, std::memory_order_release);
  return Status::OK();
}

Status LeaderEpochCache::Assign(int32_t epoch, int64_t start_offset) {
  if (epoch < 0 || start_offset < 0) {
    return Status::InvalidArgument(
        fmt::format("{}: leader epoch {} at offset {} is negative", path_, epoch, start_offset));
  }
  MutexLock w(&write_mu_);
  std::vector<Entry> next = Copy();
  if (!next.empty() && epoch == next.back().epoch) return Status::OK();
  if (!next.empty() && epoch < next.back().epoch) {
    return Status::InvalidArgument(fmt::format("{}: leader epoch {} is older than the latest, {}",
                                               path_, epoch, next.back().epoch));
  }
  // A newer epoch cannot start below where older ones started: those
  // entries name no batch any more (the log was cut below them, or an epoch
  // began and wrote nothing), so they go, as in Kafka.
  while (!next.empty() && next.back().start_offset >= start_offset) next.pop_back();
  next.push_back({epoch, start_offset});
  return Commit(std::move(next));
}

Status LeaderEpochCache::TruncateFromEnd(int64_t offset) {
  MutexLock w(&write_mu_);
  std::vector<Entry> next = Copy();
  const size_t before = next.size();
  while (!next.empty() && next.back().start_offset >= offset) next.pop_back();
  if (next.size() == before) return Status::OK();
  return Commit(std::move(next));
}

Status LeaderEpochCache::TruncateFromStart(int64_t offset) {
  MutexLock w(&write_mu_);
  std::vector<Entry> next = Copy();
  // The first entry that starts above `offset`; the one before it (if any)
  // wrote the batch at `offset` and now starts there.
  auto above = std::upper_bound(next.begin(), next.end(), offset,
                                [](int64_t o, const Entry& e) { return o < e.start_offset; });
  if (above == next.begin()) return Status::OK();
  auto first = above - 1;
  if (first == next.begin() && first->start_offset == offset) return Status::OK();
  first->start_offset = offset;
  next.erase(next.begin(), first);
  return Commit(std::move(next));
}

std::pair<int32_t, int64_t> LeaderEpochCache::EndOffsetFor(int32_t epoch,
                                                           int64_t log_end_offset) const {
  MutexLock l(&mu_);
  // The first entry with an epoch above the requested one.
  auto above = std::upper_bound(entries_.begin(), entries_.end(), epoch,
                                [](int32_t e, const Entry& x) { return e < x.epoch; });
  if (above == entries_.begin()) return {-1, -1};  // empty, or below the first epoch
  const Entry& floor = *(above - 1);
  return {floor.epoch, above == entries_.end() ? log_end_offset : above->start_offset};
}

Status LeaderEpochCache::Restore(std::vector<Entry> entries, bool persist) {
  if (Status s = CheckIncreasing(entries); !s.ok()) {
    return Status::InvalidArgument(path_ + ": " + s.message());
  }
  MutexLock w(&write_mu_);
  if (persist) return Commit(std::move(entries));
  MutexLock l(&mu_);
  entries_ = std::move(entries);
  latest_epoch_.store(entries_.empty() ? -1 : entries_.back().epoch, std::memory_order_release);
  return Status::OK();
}

}  // namespace sentry
