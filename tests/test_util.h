// Helpers shared by tests: temporary directories and batch builders.
#pragma once

#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "storage/record_batch_builder.h"

namespace sentry::testing {

// A fresh directory under $TMPDIR, removed (recursively) on destruction.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "sentry-test-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// A batch of `records` records, values "v<i>" padded to value_bytes.
inline std::vector<uint8_t> MakeBatch(int records, size_t value_bytes = 16,
                                      int64_t timestamp = 1000, int first_value = 0) {
  RecordBatchBuilder b(timestamp);
  for (int i = 0; i < records; i++) {
    std::string v = "v" + std::to_string(first_value + i);
    if (v.size() < value_bytes) v.resize(value_bytes, '.');
    b.Add(std::nullopt, v, timestamp);
  }
  return b.Build();
}

}  // namespace sentry::testing
