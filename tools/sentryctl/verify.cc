#include "sentryctl/verify.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <map>

#include "sentryctl/segment_scan.h"
#include "storage/offset_index.h"
#include "storage/time_index.h"

namespace sentry::ctl {

namespace fs = std::filesystem;

namespace {

// At most this many index problems per file, then a count: one torn index
// should not bury the rest of the report.
constexpr int kMaxIndexProblemsPerFile = 3;

void VerifySegment(const std::string& log_path, int64_t base, int64_t* next_offset,
                   VerifyReport* r) {
  auto bytes = ReadWholeFile(log_path);
  if (!bytes.ok()) {
    r->problems.push_back(bytes.status().message());
    return;
  }
  const LogScan scan = ScanLog(bytes.value());
  int64_t expect = base;
  for (const auto& b : scan.batches) {
    r->batches++;
    r->records += b.records;
    if (!b.crc_ok) {
      r->problems.push_back(fmt::format("{}: position {}: batch with offsets {}-{}: {}", log_path,
                                        b.position, b.base_offset, b.last_offset, b.crc_error));
    }
    if (b.base_offset != expect) {
      r->problems.push_back(fmt::format(
          "{}: position {}: batch base_offset {} does not continue the log (expected {})",
          log_path, b.position, b.base_offset, expect));
    }
    expect = b.last_offset + 1;
  }
  if (!scan.stop_reason.empty()) {
    r->problems.push_back(fmt::format("{}: position {}: {} ({} bytes after the last good batch; "
                                      "recovery truncates a torn tail of the last segment)",
                                      log_path, scan.stop_position, scan.stop_reason,
                                      scan.file_size - scan.stop_position));
  }
  *next_offset = expect;

  // .index: slot i = (i, position of the batch holding base + i).
  const std::string stem = log_path.substr(0, log_path.size() - 4);
  auto index = ReadWholeFile(stem + ".index");
  if (!index.ok()) {
    r->problems.push_back(index.status().message());
  } else {
    const auto slots = ReadIndexSlots(index.value());
    int bad = 0;
    for (const auto& b : scan.batches) {
      for (int64_t o = std::max(b.base_offset, base); o <= b.last_offset; o++) {
        const int64_t rel = o - base;
        std::string what;
        if (rel >= static_cast<int64_t>(slots.size())) {
          what = fmt::format("missing (the index has {} slots, the log {} offsets)", slots.size(),
                             expect - base);
        } else if (slots[rel].relative_offset != rel || slots[rel].position != b.position) {
          what = fmt::format("reads (relative_offset {}, position {}), expected ({}, {})",
                             slots[rel].relative_offset, slots[rel].position, rel, b.position);
        }
        if (what.empty()) continue;
        if (++bad <= kMaxIndexProblemsPerFile) {
          r->problems.push_back(fmt::format("{}.index: slot {} at byte {} (offset {}): {}", stem,
                                            rel, rel * kIndexSlotBytes, o, what));
        }
        if (rel >= static_cast<int64_t>(slots.size())) break;
      }
    }
    if (bad > kMaxIndexProblemsPerFile) {
      r->problems.push_back(fmt::format("{}.index: {} more bad slots", stem,
                                        bad - kMaxIndexProblemsPerFile));
    }
  }

  // .timeindex: one entry per batch that raises the segment's max timestamp.
  auto tindex = ReadWholeFile(stem + ".timeindex");
  if (!tindex.ok()) {
    r->problems.push_back(tindex.status().message());
    return;
  }
  const auto entries = ReadTimeIndex(tindex.value());
  int64_t last_ts = -1;
  size_t i = 0;
  for (const auto& b : scan.batches) {
    if (b.max_timestamp <= last_ts) continue;
    last_ts = b.max_timestamp;
    const uint32_t rel = static_cast<uint32_t>(b.base_offset - base);
    if (i >= entries.size()) {
      r->problems.push_back(fmt::format(
          "{}.timeindex: entry {} missing (batch at position {}, max_timestamp {})", stem, i,
          b.position, b.max_timestamp));
      break;
    }
    if (entries[i].timestamp != b.max_timestamp || entries[i].relative_offset != rel) {
      r->problems.push_back(fmt::format(
          "{}.timeindex: entry {} at byte {} reads (timestamp {}, relative_offset {}), expected "
          "({}, {}) from the batch at position {}",
          stem, i, i * kTimeIndexSlotBytes, entries[i].timestamp, entries[i].relative_offset,
          b.max_timestamp, rel, b.position));
      break;
    }
    i++;
  }
}

void VerifyPartition(const fs::path& dir, VerifyReport* r) {
  std::map<int64_t, std::string> segments;
  std::error_code ec;
  for (auto& e : fs::directory_iterator(dir, ec)) {
    if (e.path().extension() != ".log") continue;
    auto base = SegmentBaseOffset(e.path().string());
    if (!base) {
      r->problems.push_back(e.path().string() + ": not a segment name (20-digit base offset)");
      continue;
    }
    segments[*base] = e.path().string();
  }
  if (ec) {
    r->problems.push_back(fmt::format("{}: {}", dir.string(), ec.message()));
    return;
  }
  r->partitions++;
  int64_t next = -1;
  for (auto& [base, path] : segments) {
    r->segments++;
    if (next >= 0 && base != next) {
      r->problems.push_back(fmt::format("{}: segment starts at offset {} but the previous segment "
                                        "ends before offset {} ({})",
                                        path, base, next, base > next ? "gap" : "overlap"));
    }
    VerifySegment(path, base, &next, r);
  }
}

}  // namespace

VerifyReport VerifyDataDir(const std::string& data_dir) {
  VerifyReport r;
  std::error_code ec;
  if (!fs::is_directory(data_dir, ec)) {
    r.problems.push_back(data_dir + ": not a directory");
    return r;
  }
  std::vector<fs::path> dirs;
  for (auto& e : fs::directory_iterator(data_dir, ec)) {
    const std::string name = e.path().filename().string();
    if (!e.is_directory() || name == "__topics" || name.rfind(".deleted", 0) == 0) continue;
    dirs.push_back(e.path());
  }
  if (ec) r.problems.push_back(fmt::format("{}: {}", data_dir, ec.message()));
  std::sort(dirs.begin(), dirs.end());
  for (auto& d : dirs) VerifyPartition(d, &r);
  return r;
}

int PrintVerifyReport(const std::string& data_dir, const VerifyReport& r, bool json,
                      std::FILE* out) {
  if (json) {
    fmt::print(out, "{{\"data_dir\":\"{}\",\"partitions\":{},\"segments\":{},\"batches\":{},"
                    "\"records\":{},\"intact\":{},\"problems\":[",
               data_dir, r.partitions, r.segments, r.batches, r.records, r.problems.empty());
    for (size_t i = 0; i < r.problems.size(); i++) {
      std::string p;
      for (char c : r.problems[i]) {
        if (c == '"' || c == '\\') p += '\\';
        p += c;
      }
      fmt::print(out, "{}\"{}\"", i ? "," : "", p);
    }
    fmt::print(out, "]}}\n");
  } else {
    for (const auto& p : r.problems) fmt::print(out, "PROBLEM {}\n", p);
    fmt::print(out, "{}: {} partitions, {} segments, {} batches, {} records: {}\n", data_dir,
               r.partitions, r.segments, r.batches, r.records,
               r.problems.empty() ? "intact"
                                  : fmt::format("{} problem{}", r.problems.size(),
                                                r.problems.size() == 1 ? "" : "s"));
  }
  return r.problems.empty() ? 0 : 1;
}

}  // namespace sentry::ctl
