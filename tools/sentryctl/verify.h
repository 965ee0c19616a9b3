// `sentryctl verify DATA_DIR`: offline integrity check of every partition.
//
// For each partition directory (every directory holding .log files, the
// internal __consumer_offsets-N included; __topics and .deleted-* skipped):
//  - every batch parses and its CRC-32C matches;
//  - offsets continue: each batch starts where the previous one ended, the
//    first at the segment's base offset, and each segment at the previous
//    segment's next offset;
//  - the .index has a slot for every offset, carrying its relative offset
//    and the position of the batch that holds it;
//  - the .timeindex holds exactly the entries the log implies (one per batch
//    raising the segment's max timestamp).
// Run it on a stopped broker: a live one changes the files underneath.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace sentry::ctl {

struct VerifyReport {
  int partitions = 0;
  int segments = 0;
  int64_t batches = 0;
  int64_t records = 0;
  std::vector<std::string> problems;  // "FILE: position P: what is wrong"
};

// Fails (problems non-empty) also when DATA_DIR cannot be read.
VerifyReport VerifyDataDir(const std::string& data_dir);

// Prints the report; returns the exit code (0 intact, 1 problems).
int PrintVerifyReport(const std::string& data_dir, const VerifyReport& r, bool json,
                      std::FILE* out);

}  // namespace sentry::ctl
