// Small file helpers with the durability rules metadata files need. Any thread.
#pragma once

#include <string>

#include "common/status.h"

namespace sentry {

// Writes `contents` to `path` atomically: temp file in the same directory,
// fsync, rename over `path`, fsync of the directory. A crash leaves either the
// old file or the new one, never a mix. `mode`: the new file's permissions
// (before the umask), from its creation on.
Status WriteFileAtomically(const std::string& path, const std::string& contents,
                           unsigned mode = 0644);
// Removes `path` (missing is OK) and fsyncs its directory.
Status RemoveFileDurably(const std::string& path);
Status SyncDirectory(const std::string& dir);
Result<std::string> ReadFile(const std::string& path);

// The file in a data directory that a running sentryd holds an exclusive
// flock on (one broker per data directory).
inline constexpr const char* kDataDirLockFile = ".lock";
// OK when no process holds `data_dir`'s lock (no broker runs on it);
// Unavailable otherwise. For tools that write into a stopped broker's files.
Status CheckDataDirUnlocked(const std::string& data_dir);

}  // namespace sentry
