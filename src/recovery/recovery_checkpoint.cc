#include "recovery/recovery_checkpoint.h"

#include <fmt/format.h>

#include <sstream>

#include "common/file_util.h"

namespace sentry::recovery {

Result<RecoveryPoints> ReadRecoveryCheckpoint(const std::string& data_dir) {
  const std::string path = data_dir + "/" + kRecoveryCheckpointFile;
  auto text = ReadFile(path);
  if (!text.ok()) return RecoveryPoints{};
  std::istringstream in(text.value());
  int version = -1;
  size_t n = 0;
  if (!(in >> version >> n) || version != 0) {
    return Status::Corruption(path + ": bad header");
  }
  RecoveryPoints points;
  for (size_t i = 0; i < n; i++) {
    std::string key;
    int64_t offset;
    if (!(in >> key >> offset) || offset < 0) {
      return Status::Corruption(fmt::format("{}: bad entry {}", path, i));
    }
    points[key] = offset;
  }
  return points;
}

Status WriteRecoveryCheckpoint(const std::string& data_dir, const RecoveryPoints& points) {
  std::string s = fmt::format("0\n{}\n", points.size());
  for (auto& [k, v] : points) s += fmt::format("{} {}\n", k, v);
  return WriteFileAtomically(data_dir + "/" + kRecoveryCheckpointFile, s);
}

}  // namespace sentry::recovery
