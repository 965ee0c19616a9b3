// RecoveryCheckpoint: the durable position of every partition, as Kafka's
// recovery-point-offset-checkpoint. Everything below a partition's recovery
// point was msync'ed before the file was written, so an unclean start walks
// (CRC-checks) only the segments holding offsets at or above it.
//
//   file <data.dir>/recovery-point-offset-checkpoint, text:
//     0                      version
//     N                      number of entries
//     <partition-dir> <offset>   N lines, e.g. "orders-3 10432"
//
// Written atomically (temp file, fsync, rename, fsync of the directory).
// Any thread; the file is written by the maintenance thread and at shutdown.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "common/status.h"

namespace sentry::recovery {

constexpr const char* kRecoveryCheckpointFile = "recovery-point-offset-checkpoint";

using RecoveryPoints = std::map<std::string, int64_t>;

// A missing file is an empty map (every segment is walked); a malformed one
// is Corruption (the caller then walks everything too, and says so).
Result<RecoveryPoints> ReadRecoveryCheckpoint(const std::string& data_dir);
Status WriteRecoveryCheckpoint(const std::string& data_dir, const RecoveryPoints& points);

}  // namespace sentry::recovery
