#include "sentryctl/dump.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>

#include "sentryctl/segment_scan.h"

namespace sentry::ctl {

namespace {

std::string JsonString(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += fmt::format("\\u{:04x}", c);
    } else {
      out += c;
    }
  }
  return out + "\"";
}

bool DumpLog(const std::string& path, const std::vector<uint8_t>& bytes, bool json,
             std::FILE* out) {
  const LogScan scan = ScanLog(bytes);
  int64_t records = 0;
  bool clean = scan.stop_reason.empty();
  for (auto& b : scan.batches) {
    records += b.records;
    clean &= b.crc_ok;
  }
  if (json) {
    fmt::print(out, "{{\"file\":{},\"type\":\"log\",\"file_bytes\":{},\"data_bytes\":{},\"batches\":[",
               JsonString(path), scan.file_size, scan.data_end);
    for (size_t i = 0; i < scan.batches.size(); i++) {
      const auto& b = scan.batches[i];
      fmt::print(out,
                 "{}{{\"position\":{},\"size\":{},\"base_offset\":{},\"last_offset\":{},"
                 "\"records\":{},\"base_timestamp\":{},\"max_timestamp\":{},\"compression\":{},"
                 "\"crc\":\"{:#010x}\",\"crc_ok\":{}}}",
                 i ? "," : "", b.position, b.size, b.base_offset, b.last_offset, b.records,
                 b.base_timestamp, b.max_timestamp, b.compression, b.crc, b.crc_ok);
    }
    fmt::print(out, "],\"records\":{},\"stop\":{}}}\n", records,
               scan.stop_reason.empty()
                   ? "null"
                   : fmt::format("{{\"position\":{},\"reason\":{}}}", scan.stop_position,
                                 JsonString(scan.stop_reason)));
    return clean;
  }
  fmt::print(out, "{}: log segment, {} batches, {} records, {} data bytes ({} in file)\n", path,
             scan.batches.size(), records, scan.data_end, scan.file_size);
  if (!scan.batches.empty()) {
    fmt::print(out, "{:>10} {:>12} {:>12} {:>7} {:>8} {:>14} {:>14} {:>4}  {}\n", "position",
               "base_offset", "last_offset", "records", "size", "base_timestamp",
               "max_timestamp", "comp", "crc");
  }
  for (const auto& b : scan.batches) {
    fmt::print(out, "{:>10} {:>12} {:>12} {:>7} {:>8} {:>14} {:>14} {:>4}  {:#010x} {}\n",
               b.position, b.base_offset, b.last_offset, b.records, b.size, b.base_timestamp,
               b.max_timestamp, b.compression, b.crc, b.crc_ok ? "ok" : "BAD: " + b.crc_error);
  }
  if (!scan.stop_reason.empty()) {
    fmt::print(out, "stopped at position {}: {}\n", scan.stop_position, scan.stop_reason);
  }
  return clean;
}

bool DumpIndex(const std::string& path, const std::vector<uint8_t>& bytes, bool json,
               std::FILE* out) {
  const auto slots = ReadIndexSlots(bytes);
  const size_t used = UsedIndexSlots(slots);
  const auto base = SegmentBaseOffset(path).value_or(0);
  bool clean = true;
  // Consecutive slots pointing at one batch are printed as one run.
  struct Run {
    size_t first, last;
    uint32_t position;
  };
  std::vector<Run> runs;
  std::vector<size_t> bad;
  for (size_t i = 0; i < used; i++) {
    if (slots[i].relative_offset != i) {
      bad.push_back(i);
      clean = false;
      continue;
    }
    if (!runs.empty() && runs.back().last + 1 == i && runs.back().position == slots[i].position) {
      runs.back().last = i;
    } else {
      runs.push_back({i, i, slots[i].position});
    }
  }
  if (json) {
    fmt::print(out, "{{\"file\":{},\"type\":\"index\",\"base_offset\":{},\"slots\":{},"
                    "\"used_slots\":{},\"runs\":[",
               JsonString(path), base, slots.size(), used);
    for (size_t i = 0; i < runs.size(); i++) {
      fmt::print(out, "{}{{\"first_slot\":{},\"last_slot\":{},\"position\":{}}}", i ? "," : "",
                 runs[i].first, runs[i].last, runs[i].position);
    }
    fmt::print(out, "],\"bad_slots\":[");
    for (size_t i = 0; i < bad.size(); i++) {
      fmt::print(out, "{}{{\"slot\":{},\"relative_offset\":{},\"position\":{}}}", i ? "," : "",
                 bad[i], slots[bad[i]].relative_offset, slots[bad[i]].position);
    }
    fmt::print(out, "]}}\n");
    return clean;
  }
  fmt::print(out, "{}: offset index, base_offset {}, {} slots in file, {} in use\n", path, base,
             slots.size(), used);
  for (const auto& r : runs) {
    if (r.first == r.last) {
      fmt::print(out, "  slot {:>8}         offset {:>12}        -> position {}\n", r.first,
                 base + static_cast<int64_t>(r.first), r.position);
    } else {
      fmt::print(out, "  slots {:>7}-{:<8} offsets {:>10}-{:<10} -> position {}\n", r.first,
                 r.last, base + static_cast<int64_t>(r.first), base + static_cast<int64_t>(r.last),
                 r.position);
    }
  }
  for (size_t i : bad) {
    fmt::print(out, "  slot {} at byte {}: BAD: relative_offset {} (expected {}), position {}\n",
               i, i * 8, slots[i].relative_offset, i, slots[i].position);
  }
  return clean;
}

bool DumpTimeIndex(const std::string& path, const std::vector<uint8_t>& bytes, bool json,
                   std::FILE* out) {
  const auto entries = ReadTimeIndex(bytes);
  const size_t used = UsedTimeIndexEntries(entries);
  const auto base = SegmentBaseOffset(path).value_or(0);
  bool clean = true;
  std::vector<size_t> bad;  // timestamps must strictly increase
  for (size_t i = 1; i < used; i++) {
    if (entries[i].timestamp <= entries[i - 1].timestamp) {
      bad.push_back(i);
      clean = false;
    }
  }
  if (json) {
    fmt::print(out, "{{\"file\":{},\"type\":\"timeindex\",\"base_offset\":{},\"entries\":[",
               JsonString(path), base);
    for (size_t i = 0; i < used; i++) {
      fmt::print(out, "{}{{\"timestamp\":{},\"relative_offset\":{},\"offset\":{}}}", i ? "," : "",
                 entries[i].timestamp, entries[i].relative_offset,
                 base + entries[i].relative_offset);
    }
    fmt::print(out, "],\"out_of_order\":[");
    for (size_t i = 0; i < bad.size(); i++) fmt::print(out, "{}{}", i ? "," : "", bad[i]);
    fmt::print(out, "]}}\n");
    return clean;
  }
  fmt::print(out, "{}: time index, base_offset {}, {} entries in file, {} in use\n", path, base,
             entries.size(), used);
  for (size_t i = 0; i < used; i++) {
    fmt::print(out, "  entry {:>6}: timestamp {:>14}  relative_offset {:>8}  offset {}{}\n", i,
               entries[i].timestamp, entries[i].relative_offset,
               base + entries[i].relative_offset,
               std::find(bad.begin(), bad.end(), i) != bad.end() ? "  BAD: not above the previous"
                                                                 : "");
  }
  return clean;
}

}  // namespace

int DumpFiles(const std::vector<std::string>& files, bool json, std::FILE* out, std::FILE* err) {
  int rc = 0;
  for (const auto& f : files) {
    const std::string ext = std::filesystem::path(f).extension().string();
    if (ext != ".log" && ext != ".index" && ext != ".timeindex") {
      fmt::print(err, "sentryctl dump: {}: not a .log, .index or .timeindex file\n", f);
      rc = 1;
      continue;
    }
    auto bytes = ReadWholeFile(f);
    if (!bytes.ok()) {
      fmt::print(err, "sentryctl dump: {}\n", bytes.status().message());
      rc = 1;
      continue;
    }
    bool clean = ext == ".log"     ? DumpLog(f, bytes.value(), json, out)
                 : ext == ".index" ? DumpIndex(f, bytes.value(), json, out)
                                   : DumpTimeIndex(f, bytes.value(), json, out);
    if (!clean) rc = 1;
  }
  return rc;
}

}  // namespace sentry::ctl
