// AssignUniformSticky: the target assignment of a native (server-assigned)
// consumer group, in the spirit of Kafka's server-side "uniform" assignor
// (KIP-848): every partition of every subscribed topic goes to exactly one
// member subscribed to that topic, counts are balanced, and partitions stay
// where they were unless balance needs them elsewhere.
//
// How it works, in three passes over sorted input (so the same input always
// gives the same output):
//   1. keep: every partition of `previous` stays with its owner while that
//      owner is still a member, still subscribed to the topic, and the
//      partition still exists (first owner in member id order wins if
//      `previous` names a partition twice);
//   2. fill: each partition without an owner goes to the eligible member with
//      the fewest partitions (ties: smallest member id); topics with fewer
//      subscribers are filled first, as they have fewer choices;
//   3. balance: while some member holds at least two more partitions than a
//      member that could take one of them, the fullest such member gives its
//      highest partition of that topic to the emptiest (ties by member id).
// When every member subscribes to the same topics this ends with counts that
// differ by at most one, and moves the fewest partitions that any balanced
// result could (a member that leaves moves only its partitions; a member that
// joins receives exactly its share and nothing else moves). With differing
// subscriptions it is a best effort: a move is only made directly between two
// members, never along a chain.
//
// Pure function: no state, any thread.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "group/types.h"

namespace sentry::group {

// member id -> its target partitions. Every partition of every topic some member subscribes
// to (topics with a count < 1, or absent from `partition_counts`, are skipped) goes to exactly
// one member subscribed to that topic. Every member of `subscriptions` appears in the result
// (possibly with an empty map); partitions are sorted within each topic; no topic entry is
// empty.
std::map<std::string, TopicPartitions> AssignUniformSticky(
    const std::map<std::string, std::vector<std::string>>& subscriptions,  // member -> topics
    const std::map<std::string, int32_t>& partition_counts,                // topic -> count
    const std::map<std::string, TopicPartitions>& previous);               // last target

}  // namespace sentry::group
