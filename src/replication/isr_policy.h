// The leader's ISR and high-watermark rules as pure functions (Kafka's), so
// they are unit-tested on their own; ReplicaManager applies them under its
// lock and writes the ISR it wants to etcd.
//
// Threads: any (no state).
#pragma once

#include <cstdint>
#include <map>
#include <vector>

namespace sentry::replication {

struct FollowerProgress {
  int64_t leo = 0;            // its log end, from its last fetch
  int64_t caught_up_ms = 0;   // last time it had everything the leader had
  int64_t last_fetch_ms = 0;
  int64_t leader_leo_at_last_fetch = 0;
};

// A fetch at `fetch_offset` (the follower's log end) while the leader's log
// ends at `leader_leo`: caught up now if it has everything; caught up as of
// its previous fetch if it has what the leader had then (a follower that
// keeps up with a busy leader never equals its moving end).
void RecordFetch(FollowerProgress* f, int64_t fetch_offset, int64_t leader_leo, int64_t now_ms);

// Whether a follower outside the ISR may join: it reached the high watermark
// and the start of the leader's epoch (it holds nothing of an older leader's
// that this one does not).
bool MayJoinIsr(int64_t fetch_offset, int64_t high_watermark, int64_t epoch_start);

// The ISR the leader wants now, from `base` (the ISR in etcd, or it plus
// followers about to join): members caught up within `lag_max_ms` stay,
// the others go; the leader is always in it, first when it was missing.
std::vector<int32_t> WantedIsr(int32_t leader, const std::vector<int32_t>& base,
                               const std::map<int32_t, FollowerProgress>& followers,
                               int64_t now_ms, int64_t lag_max_ms);

// The smallest log end among the followers of `isr` and `joining` (INT64_MAX
// when there is none): the high watermark is min(the leader's log end, this).
// A follower never heard of counts as 0.
int64_t IsrFollowerMin(int32_t leader, const std::vector<int32_t>& isr,
                       const std::vector<int32_t>& joining,
                       const std::map<int32_t, FollowerProgress>& followers);

}  // namespace sentry::replication
