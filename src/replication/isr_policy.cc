#include "replication/isr_policy.h"

#include <algorithm>
#include <limits>

namespace sentry::replication {

void RecordFetch(FollowerProgress* f, int64_t fetch_offset, int64_t leader_leo, int64_t now_ms) {
  f->leo = fetch_offset;
  if (fetch_offset >= leader_leo) {
    f->caught_up_ms = now_ms;
  } else if (fetch_offset >= f->leader_leo_at_last_fetch) {
    f->caught_up_ms = std::max(f->caught_up_ms, f->last_fetch_ms);
  }
  f->leader_leo_at_last_fetch = leader_leo;
  f->last_fetch_ms = now_ms;
}

bool MayJoinIsr(int64_t fetch_offset, int64_t high_watermark, int64_t epoch_start) {
  return fetch_offset >= high_watermark && fetch_offset >= epoch_start;
}

std::vector<int32_t> WantedIsr(int32_t leader, const std::vector<int32_t>& base,
                               const std::map<int32_t, FollowerProgress>& followers,
                               int64_t now_ms, int64_t lag_max_ms) {
  std::vector<int32_t> isr;
  for (int32_t id : base) {
    auto f = followers.find(id);
    if (id == leader ||
        (f != followers.end() && now_ms - f->second.caught_up_ms <= lag_max_ms)) {
      isr.push_back(id);
    }
  }
  if (std::find(isr.begin(), isr.end(), leader) == isr.end()) isr.insert(isr.begin(), leader);
  return isr;
}

int64_t IsrFollowerMin(int32_t leader, const std::vector<int32_t>& isr,
                       const std::vector<int32_t>& joining,
                       const std::map<int32_t, FollowerProgress>& followers) {
  int64_t min = std::numeric_limits<int64_t>::max();
  auto count = [&](int32_t id) {
    if (id == leader) return;
    auto f = followers.find(id);
    min = std::min(min, f == followers.end() ? 0 : f->second.leo);
  };
  for (int32_t id : isr) count(id);
  for (int32_t id : joining) count(id);
  return min;
}

}  // namespace sentry::replication
