#include "group/assignor.h"

#include <algorithm>
#include <set>
#include <utility>

namespace sentry::group {

namespace {

// The assignment being built, with members as indexes into the sorted member
// ids, so that "ties broken by member id" is "smaller index wins".
class Builder {
 public:
  Builder(const std::map<std::string, std::vector<std::string>>& subscriptions,
          const std::map<std::string, int32_t>& partition_counts) {
    for (const auto& [m, topics] : subscriptions) {
      index_[m] = static_cast<int>(ids_.size());
      ids_.push_back(m);
    }
    topics_of_.resize(ids_.size());
    held_.resize(ids_.size());
    count_.assign(ids_.size(), 0);
    for (const auto& [m, topics] : subscriptions) {
      const int i = index_[m];
      for (const auto& t : topics) {
        auto c = partition_counts.find(t);
        if (c == partition_counts.end() || c->second < 1) continue;  // no such topic
        if (!topics_of_[i].insert(t).second) continue;               // listed twice
        members_of_[t].push_back(i);  // ascending: subscriptions is sorted
        owner_[t].assign(static_cast<size_t>(c->second), -1);
      }
    }
  }

  // 1. Keeps `previous` where it is still valid.
  void Keep(const std::map<std::string, TopicPartitions>& previous) {
    for (const auto& [m, tp] : previous) {
      auto it = index_.find(m);
      if (it == index_.end()) continue;  // no longer a member
      const int i = it->second;
      for (const auto& [t, ps] : tp) {
        if (!topics_of_[i].count(t)) continue;  // no longer subscribed, or topic gone
        auto& owners = owner_[t];
        for (int32_t p : ps) {
          if (p < 0 || static_cast<size_t>(p) >= owners.size() || owners[p] != -1) continue;
          Give(t, p, i);
        }
      }
    }
  }

  // 2. Gives every free partition to the eligible member with the fewest.
  void Fill() {
    std::vector<std::string> order;
    for (const auto& [t, ms] : members_of_) order.push_back(t);
    // Topics with fewer subscribers first: their partitions have fewer
    // places to go, so they should not find those places already full.
    std::stable_sort(order.begin(), order.end(), [&](const auto& a, const auto& b) {
      return members_of_[a].size() < members_of_[b].size();
    });
    for (const auto& t : order) {
      const auto& ms = members_of_[t];
      auto& owners = owner_[t];
      for (size_t p = 0; p < owners.size(); p++) {
        if (owners[p] != -1) continue;
        int best = ms.front();
        for (int m : ms) {
          if (count_[m] < count_[best]) best = m;
        }
        Give(t, static_cast<int32_t>(p), best);
      }
    }
  }

  // 3. Moves partitions from the fullest members to the emptiest ones that
  // may take them while two differ by two or more. Each move lowers the sum
  // of squared counts, so this ends.
  void Balance() {
    std::vector<int> order(ids_.size());
    while (true) {
      for (size_t i = 0; i < order.size(); i++) order[i] = static_cast<int>(i);
      std::stable_sort(order.begin(), order.end(),
                       [&](int a, int b) { return count_[a] > count_[b]; });
      bool moved = false;
      for (int from : order) {
        if (count_[from] < 2) break;  // nobody can be two below it
        int to = -1;
        const std::string* topic = nullptr;
        for (const auto& [t, ps] : held_[from]) {
          if (ps.empty()) continue;
          for (int m : members_of_[t]) {
            if (m == from || count_[m] + 2 > count_[from]) continue;
            if (to == -1 || count_[m] < count_[to] || (count_[m] == count_[to] && m < to)) {
              to = m;
              topic = &t;
            }
          }
        }
        if (to == -1) continue;
        // The highest partition moves: low partitions stay with earlier
        // owners, which keeps results easy to read.
        const std::string t = *topic;
        const int32_t p = *held_[from][t].rbegin();
        Take(t, p, from);
        Give(t, p, to);
        moved = true;
        break;
      }
      if (!moved) return;
    }
  }

  std::map<std::string, TopicPartitions> Result() const {
    std::map<std::string, TopicPartitions> out;
    for (size_t i = 0; i < ids_.size(); i++) {
      auto& tp = out[ids_[i]];
      for (const auto& [t, ps] : held_[i]) {
        if (!ps.empty()) tp[t].assign(ps.begin(), ps.end());  // std::set: sorted
      }
    }
    return out;
  }

 private:
  void Give(const std::string& t, int32_t p, int m) {
    owner_[t][static_cast<size_t>(p)] = m;
    held_[m][t].insert(p);
    count_[m]++;
  }
  void Take(const std::string& t, int32_t p, int m) {
    owner_[t][static_cast<size_t>(p)] = -1;
    held_[m][t].erase(p);
    count_[m]--;
  }

  std::vector<std::string> ids_;                        // sorted member ids
  std::map<std::string, int> index_;                    // member id -> index
  std::vector<std::set<std::string>> topics_of_;        // existing subscribed topics
  std::map<std::string, std::vector<int>> members_of_;  // topic -> subscribers, ascending
  std::map<std::string, std::vector<int>> owner_;       // topic -> partition -> member or -1
  std::vector<std::map<std::string, std::set<int32_t>>> held_;  // member -> its partitions
  std::vector<int64_t> count_;                                  // member -> partitions held
};

}  // namespace

std::map<std::string, TopicPartitions> AssignUniformSticky(
    const std::map<std::string, std::vector<std::string>>& subscriptions,
    const std::map<std::string, int32_t>& partition_counts,
    const std::map<std::string, TopicPartitions>& previous) {
  Builder b(subscriptions, partition_counts);
  b.Keep(previous);
  b.Fill();
  b.Balance();
  return b.Result();
}

}  // namespace sentry::group
