// AssignUniformSticky: the native groups' target assignment. Pure function,
// so every test is input -> output; "moved" counts partitions whose owner
// differs from `previous` (new partitions included).
#include "group/assignor.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>

namespace sentry::group {
namespace {

using Subs = std::map<std::string, std::vector<std::string>>;
using Counts = std::map<std::string, int32_t>;
using Assignment = std::map<std::string, TopicPartitions>;

size_t Count(const TopicPartitions& tp) {
  size_t n = 0;
  for (const auto& [t, ps] : tp) n += ps.size();
  return n;
}

bool Has(const TopicPartitions& tp, const std::string& t, int32_t p) {
  auto it = tp.find(t);
  return it != tp.end() && std::find(it->second.begin(), it->second.end(), p) != it->second.end();
}

// The promises every result keeps: every member present, every partition of
// every subscribed existing topic exactly once and only to a subscriber,
// partitions sorted, no empty topic entries.
void CheckValid(const Assignment& a, const Subs& subs, const Counts& counts) {
  ASSERT_EQ(a.size(), subs.size());
  std::set<std::pair<std::string, int32_t>> seen;
  for (const auto& [m, tp] : a) {
    ASSERT_TRUE(subs.count(m)) << m << " is not a member";
    const auto& topics = subs.at(m);
    for (const auto& [t, ps] : tp) {
      EXPECT_FALSE(ps.empty()) << m << ": empty entry for " << t;
      EXPECT_TRUE(std::is_sorted(ps.begin(), ps.end())) << m << ": " << t << " not sorted";
      EXPECT_NE(std::find(topics.begin(), topics.end(), t), topics.end())
          << m << " got " << t << " without subscribing to it";
      for (int32_t p : ps) {
        EXPECT_TRUE(seen.insert({t, p}).second) << t << "-" << p << " given twice";
        auto c = counts.find(t);
        EXPECT_TRUE(c != counts.end() && p >= 0 && p < c->second) << t << "-" << p;
      }
    }
  }
  std::set<std::string> subscribed;
  for (const auto& [m, ts] : subs) subscribed.insert(ts.begin(), ts.end());
  size_t expected = 0;
  for (const auto& t : subscribed) {
    auto c = counts.find(t);
    if (c != counts.end() && c->second > 0) expected += static_cast<size_t>(c->second);
  }
  EXPECT_EQ(seen.size(), expected) << "some partition has no owner";
}

size_t Moved(const Assignment& before, const Assignment& after) {
  size_t moved = 0;
  for (const auto& [m, tp] : after) {
    auto b = before.find(m);
    for (const auto& [t, ps] : tp) {
      for (int32_t p : ps) {
        if (b == before.end() || !Has(b->second, t, p)) moved++;
      }
    }
  }
  return moved;
}

size_t Spread(const Assignment& a) {
  size_t lo = SIZE_MAX, hi = 0;
  for (const auto& [m, tp] : a) {
    lo = std::min(lo, Count(tp));
    hi = std::max(hi, Count(tp));
  }
  return a.empty() ? 0 : hi - lo;
}

Subs Uniform(int members, std::vector<std::string> topics) {
  Subs s;
  for (int i = 0; i < members; i++) s["m" + std::to_string(i)] = topics;
  return s;
}

TEST(AssignorTest, FreshAssignmentIsCompleteAndBalanced) {
  const Counts counts{{"a", 7}, {"b", 3}};
  const Subs subs = Uniform(3, {"a", "b"});
  const Assignment a = AssignUniformSticky(subs, counts, {});
  CheckValid(a, subs, counts);
  EXPECT_LE(Spread(a), 1u);
}

TEST(AssignorTest, SameInputSameOutput) {
  const Counts counts{{"a", 11}, {"b", 5}, {"c", 2}};
  Subs subs = Uniform(4, {"a", "b", "c"});
  const Assignment first = AssignUniformSticky(subs, counts, {});
  EXPECT_EQ(AssignUniformSticky(subs, counts, {}), first);
  // The order topics are listed in, and duplicates, do not matter.
  subs["m2"] = {"c", "a", "b", "a"};
  EXPECT_EQ(AssignUniformSticky(subs, counts, {}), first);
  // Nor does building on an identical previous result: nothing moves.
  EXPECT_EQ(AssignUniformSticky(subs, counts, first), first);
}

TEST(AssignorTest, OneMemberLeavingMovesOnlyItsPartitions) {
  const Counts counts{{"t", 12}};
  Subs subs = Uniform(4, {"t"});
  const Assignment before = AssignUniformSticky(subs, counts, {});
  const size_t leaver = Count(before.at("m3"));
  subs.erase("m3");
  const Assignment after = AssignUniformSticky(subs, counts, before);
  CheckValid(after, subs, counts);
  EXPECT_LE(Spread(after), 1u);
  EXPECT_EQ(Moved(before, after), leaver);
  EXPECT_EQ(leaver, 3u);
}

TEST(AssignorTest, LeavingAnUnevenGroupStillMovesOnlyTheLeaversPartitions) {
  const Counts counts{{"a", 5}, {"b", 6}};  // 11 over 4: 3,3,3,2
  Subs subs = Uniform(4, {"a", "b"});
  const Assignment before = AssignUniformSticky(subs, counts, {});
  for (const auto& [leaver, tp] : before) {
    Subs fewer = subs;
    fewer.erase(leaver);
    const Assignment after = AssignUniformSticky(fewer, counts, before);
    CheckValid(after, fewer, counts);
    EXPECT_LE(Spread(after), 1u);
    EXPECT_EQ(Moved(before, after), Count(tp)) << leaver << " left";
  }
}

TEST(AssignorTest, OneMemberJoiningTakesOnlyItsShare) {
  const Counts counts{{"t", 12}};
  Subs subs = Uniform(3, {"t"});
  const Assignment before = AssignUniformSticky(subs, counts, {});
  subs["m9"] = {"t"};
  const Assignment after = AssignUniformSticky(subs, counts, before);
  CheckValid(after, subs, counts);
  EXPECT_LE(Spread(after), 1u);
  EXPECT_EQ(Count(after.at("m9")), 3u);
  EXPECT_EQ(Moved(before, after), 3u) << "only the newcomer's three move";
}

TEST(AssignorTest, JoiningAnUnevenGroupMovesTheMinimum) {
  const Counts counts{{"t", 10}};  // 3 members: 4,3,3. 4 members: 3,3,2,2.
  Subs subs = Uniform(3, {"t"});
  const Assignment before = AssignUniformSticky(subs, counts, {});
  subs["m9"] = {"t"};
  const Assignment after = AssignUniformSticky(subs, counts, before);
  CheckValid(after, subs, counts);
  EXPECT_LE(Spread(after), 1u);
  EXPECT_EQ(Moved(before, after), 2u);
  EXPECT_EQ(Count(after.at("m9")), 2u);
}

TEST(AssignorTest, NewPartitionsGoWhereTheyBalanceWithoutMovingOldOnes) {
  Counts counts{{"t", 4}};
  const Subs subs = Uniform(2, {"t"});
  const Assignment before = AssignUniformSticky(subs, counts, {});
  counts["t"] = 8;
  const Assignment after = AssignUniformSticky(subs, counts, before);
  CheckValid(after, subs, counts);
  EXPECT_LE(Spread(after), 1u);
  EXPECT_EQ(Moved(before, after), 4u) << "the four new partitions, nothing else";
  for (const auto& [m, tp] : before) {
    for (int32_t p : tp.at("t")) EXPECT_TRUE(Has(after.at(m), "t", p));
  }
}

TEST(AssignorTest, StalePreviousEntriesAreIgnored) {
  const Counts counts{{"t", 4}, {"u", 2}};
  const Subs subs{{"m1", {"t"}}, {"m2", {"t", "u"}}};
  const Assignment previous{
      {"gone", {{"t", {0}}}},                      // no longer a member
      {"m1", {{"t", {1, 1, 9, -1}}, {"u", {0}}}},  // duplicate, beyond count, unsubscribed
      {"m2", {{"t", {1, 2}}}},                     // t-1 claimed by m1 first
  };
  const Assignment a = AssignUniformSticky(subs, counts, previous);
  CheckValid(a, subs, counts);
  EXPECT_TRUE(Has(a.at("m1"), "t", 1));
  EXPECT_TRUE(Has(a.at("m2"), "t", 2));
  EXPECT_FALSE(a.at("m1").count("u"));
}

TEST(AssignorTest, DifferingSubscriptionsGoOnlyToSubscribers) {
  const Counts counts{{"a", 4}, {"b", 2}};
  const Subs subs{{"m1", {"a"}}, {"m2", {"a", "b"}}};
  const Assignment a = AssignUniformSticky(subs, counts, {});
  CheckValid(a, subs, counts);
  ASSERT_TRUE(a.at("m2").count("b"));
  EXPECT_EQ(a.at("m2").at("b").size(), 2u) << "only m2 reads b";
  EXPECT_EQ(Count(a.at("m1")), 3u);
  EXPECT_EQ(Count(a.at("m2")), 3u);
}

TEST(AssignorTest, DifferingSubscriptionsRebalanceWhenAMemberCanTakeMore) {
  // m1 had all of a; m2 joins reading a and b: it gets b, then enough of a
  // to even the counts, and m1 keeps the rest.
  const Counts counts{{"a", 6}, {"b", 2}};
  Subs subs{{"m1", {"a"}}};
  const Assignment before = AssignUniformSticky(subs, counts, {});
  subs["m2"] = {"a", "b"};
  const Assignment after = AssignUniformSticky(subs, counts, before);
  CheckValid(after, subs, counts);
  EXPECT_EQ(Count(after.at("m1")), 4u);
  EXPECT_EQ(Count(after.at("m2")), 4u);
  EXPECT_EQ(Moved(before, after), 4u) << "b's two and two of a";
}

TEST(AssignorTest, DisjointSubscriptionsAreEachBalancedByThemselves) {
  const Counts counts{{"a", 9}, {"b", 2}};
  const Subs subs{{"m1", {"a"}}, {"m2", {"a"}}, {"m3", {"b"}}, {"m4", {"b"}}};
  const Assignment a = AssignUniformSticky(subs, counts, {});
  CheckValid(a, subs, counts);
  EXPECT_EQ(Count(a.at("m1")) + Count(a.at("m2")), 9u);
  EXPECT_LE(std::max(Count(a.at("m1")), Count(a.at("m2"))) -
                std::min(Count(a.at("m1")), Count(a.at("m2"))),
            1u);
  EXPECT_EQ(Count(a.at("m3")), 1u);
  EXPECT_EQ(Count(a.at("m4")), 1u);
}

TEST(AssignorTest, TopicsThatDoNotExistAreSkipped) {
  const Counts counts{{"a", 3}, {"empty", 0}, {"gone", -1}};
  const Subs subs{{"m1", {"a", "missing"}}, {"m2", {"gone", "empty"}}, {"m3", {}}};
  const Assignment a = AssignUniformSticky(subs, counts, {});
  CheckValid(a, subs, counts);
  EXPECT_EQ(Count(a.at("m1")), 3u);
  EXPECT_TRUE(a.at("m2").empty()) << "present, with nothing";
  EXPECT_TRUE(a.at("m3").empty());
}

TEST(AssignorTest, MoreMembersThanPartitions) {
  const Counts counts{{"t", 2}};
  const Subs subs = Uniform(5, {"t"});
  const Assignment a = AssignUniformSticky(subs, counts, {});
  CheckValid(a, subs, counts);
  EXPECT_LE(Spread(a), 1u);
}

TEST(AssignorTest, NoMembers) { EXPECT_TRUE(AssignUniformSticky({}, {{"t", 3}}, {}).empty()); }

// Uniform subscriptions, random membership changes: always valid, counts
// within one, and exactly the fewest moves any balanced result allows: with
// c_i still-valid previous partitions per member, base = total / n and
// extra = total % n, the most that can stay is
// sum(min(c_i, base)) + min(extra, #{c_i > base}).
TEST(AssignorTest, RandomUniformChangesAreBalancedAndMoveTheMinimum) {
  std::mt19937 rng(20240607);
  const std::vector<std::string> topics{"a", "b", "c"};
  Assignment previous;
  for (int round = 0; round < 400; round++) {
    Counts counts;
    std::vector<std::string> subscribed;
    for (const auto& t : topics) {
      counts[t] = static_cast<int32_t>(rng() % 14) - 1;  // -1 .. 12
      if (rng() % 3 != 0) subscribed.push_back(t);
    }
    if (round % 7 == 0) subscribed = topics;
    Subs subs;
    const int n = 1 + static_cast<int>(rng() % 8);
    for (int i = 0; i < 10 && static_cast<int>(subs.size()) < n; i++) {
      if (rng() % 3 != 0) subs["m" + std::to_string(i)] = subscribed;
    }
    if (subs.empty()) subs["m0"] = subscribed;
    const Assignment a = AssignUniformSticky(subs, counts, previous);
    CheckValid(a, subs, counts);
    ASSERT_LE(Spread(a), 1u) << "round " << round;

    size_t total = 0;
    for (const auto& t : subscribed) total += static_cast<size_t>(std::max(counts[t], 0));
    const size_t base = total / subs.size();
    const size_t extra = total % subs.size();
    size_t can_stay = 0, above = 0;
    for (const auto& [m, ts] : subs) {
      size_t c = 0;
      auto p = previous.find(m);
      if (p != previous.end()) {
        for (const auto& [t, ps] : p->second) {
          if (std::find(ts.begin(), ts.end(), t) == ts.end()) continue;
          for (int32_t x : ps) c += x < counts[t] ? 1 : 0;
        }
      }
      can_stay += std::min(c, base);
      above += c > base ? 1 : 0;
    }
    can_stay += std::min(extra, above);
    ASSERT_EQ(Moved(previous, a), total - can_stay) << "round " << round;
    EXPECT_EQ(AssignUniformSticky(subs, counts, previous), a) << "deterministic";
    previous = a;
  }
}

// Differing subscriptions: always valid and deterministic.
TEST(AssignorTest, RandomDifferingSubscriptionsAreValid) {
  std::mt19937 rng(7);
  const std::vector<std::string> topics{"a", "b", "c", "d"};
  Assignment previous;
  for (int round = 0; round < 300; round++) {
    Counts counts;
    for (const auto& t : topics) counts[t] = static_cast<int32_t>(rng() % 10) - 1;
    Subs subs;
    const int n = 1 + static_cast<int>(rng() % 7);
    for (int i = 0; i < n; i++) {
      std::vector<std::string> ts;
      for (const auto& t : topics) {
        if (rng() % 2) ts.push_back(t);
      }
      subs["m" + std::to_string(rng() % 9)] = ts;
    }
    const Assignment a = AssignUniformSticky(subs, counts, previous);
    CheckValid(a, subs, counts);
    EXPECT_EQ(AssignUniformSticky(subs, counts, previous), a);
    previous = a;
  }
}

}  // namespace
}  // namespace sentry::group
