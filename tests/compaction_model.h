// The model both compaction tests compare against (tests/storage/
// log_cleaner_test.cc, tests/integration/compaction_test.cc): every record
// produced, and the key -> value state they leave when applied in order
// (a null value, a tombstone, deletes the key).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace sentry::testing {

struct Rec {
  int64_t offset = 0;
  std::string key;
  std::optional<std::string> value;  // nullopt: tombstone
};

inline std::map<std::string, std::string> Apply(const std::vector<Rec>& recs) {
  std::map<std::string, std::string> m;
  for (const Rec& r : recs) {
    if (r.value) {
      m[r.key] = *r.value;
    } else {
      m.erase(r.key);
    }
  }
  return m;
}

}  // namespace sentry::testing
