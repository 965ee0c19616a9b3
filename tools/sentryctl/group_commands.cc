// sentryctl's consumer-group commands: consume as a member of a group,
// group list, group describe (members, partitions, committed offset, lag).
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cstdio>
#include <map>

#include "client/admin.h"
#include "client/broker_pool.h"
#include "client/error_status.h"
#include "client/group_consumer.h"
#include "sentryctl/commands.h"

namespace sentry::ctl {

int ConsumeInGroup(const BrokerAddress& b, const ConsumeArgs& a, client::StartPosition start) {
  client::GroupConsumerOptions o;
  o.consumer.host = b.host;
  o.consumer.port = b.port;
  o.consumer.security = b.security;
  o.consumer.group = a.group;
  o.client_id = "sentryctl";
  o.start = start;
  auto gc = client::GroupConsumer::Create(o, a.topic);
  if (!gc.ok()) return Fail(gc.status());
  client::GroupConsumer& cons = *gc.value();
  // Log ends are asked of each partition's leader.
  client::BrokerPool leaders(b.host, b.port, 5000, 100, b.security);
  if (Status s = leaders.Refresh(a.topic); !s.ok()) return Fail(s);
  // Without --follow: stop once every partition this member owns is read up
  // to the log end it had when the member got it (and it owns at least one).
  std::map<int32_t, int64_t> end, next;
  int64_t printed = 0;
  auto done = [&] {
    if (a.follow || end.empty()) return false;
    for (auto& [p, e] : end) {
      if (next[p] < e) return false;
    }
    return true;
  };
  while ((a.count < 0 || printed < a.count) && !done()) {
    auto records = cons.Poll(500);
    if (!records.ok()) return Fail(records.status());
    const auto owned = cons.assignment();
    for (auto it = end.begin(); it != end.end();) {
      it =
          std::binary_search(owned.begin(), owned.end(), it->first) ? std::next(it) : end.erase(it);
    }
    for (int32_t p : owned) {
      if (end.count(p)) continue;
      if (leaders.Leader(p) == -1) (void)leaders.Refresh(a.topic);
      auto lc = leaders.Get(leaders.Leader(p));
      if (!lc.ok()) return Fail(lc.status());
      auto e = client::Admin(lc.value()).ListOffset(a.topic, p, -1);
      if (!e.ok()) return Fail(e.status());
      end[p] = e.value();
      next[p] = cons.position(p);
    }
    bool cut = false;
    for (const auto& r : records.value()) {
      if (a.count >= 0 && printed >= a.count) {
        cut = true;
        break;
      }
      std::string line = FormatRecord(a.format, a.topic, r.partition, r.offset, r.timestamp,
                                      r.key ? &*r.key : nullptr, r.value ? &*r.value : nullptr);
      line += '\n';
      std::fwrite(line.data(), 1, line.size(), stdout);
      next[r.partition] = r.offset + 1;
      printed++;
    }
    std::fflush(stdout);
    if (cut) {
      // Records read past --count were not printed: the group's position
      // goes back to the one after the last record printed.
      for (int32_t p : owned) {
        Status s = cons.Seek(p, next[p]);
        if (!s.ok()) return Fail(s);
      }
    }
    Status s = cons.Commit();  // what was printed is processed
    if (!s.ok()) return Fail(s);
  }
  Status s = cons.Close();
  if (!s.ok()) return Fail(s);
  return 0;
}

int GroupList(const BrokerAddress& b) {
  auto c = Connect(b);
  if (!c.ok()) return Fail(c.status());
  // Each broker lists the groups it coordinates; in a cluster, ask them all
  // (as Kafka's admin client does).
  auto cl = c.value()->DescribeCluster({});
  if (!cl.ok()) return Fail(cl.status());
  if (!cl->ok()) return Fail(client::ErrorStatus(cl->error, "describe cluster"));
  std::vector<std::unique_ptr<client::Client>> others;
  std::vector<client::Client*> ask{c.value().get()};
  bool incomplete = false;
  if (cl->body.cluster_mode != 0) {
    ask.clear();
    for (const auto& broker : cl->body.brokers) {
      auto o = client::Client::Connect(broker.host, broker.port, 5000, b.security);
      if (!o.ok()) {
        // The others' groups are still listed; the exit status says some are missing.
        fmt::print(stderr, "sentryctl: broker {} ({}:{}): {}; its groups are not listed\n",
                   broker.broker_id, broker.host, broker.port, o.status().ToString());
        incomplete = true;
        continue;
      }
      others.push_back(std::move(o).value());
      ask.push_back(others.back().get());
    }
  }
  std::vector<protocol::GroupListingEntry> groups;
  for (client::Client* broker : ask) {
    auto r = broker->ListGroups();
    Status s = r.ok() ? (r->ok() ? Status::OK() : client::ErrorStatus(r->error, "list groups"))
                      : r.status();
    if (!s.ok()) {
      fmt::print(stderr, "sentryctl: {}; that broker's groups are not listed\n", s.ToString());
      incomplete = true;
      continue;
    }
    groups.insert(groups.end(), r->body.groups.begin(), r->body.groups.end());
  }
  std::sort(groups.begin(), groups.end(),
            [](const auto& x, const auto& y) { return x.group < y.group; });
  fmt::print("{:<32} {:<8} {:<20} {:<14}\n", "GROUP", "KIND", "STATE", "PROTOCOL_TYPE");
  for (const auto& g : groups) {
    fmt::print("{:<32} {:<8} {:<20} {:<14}\n", g.group, g.kind, g.state, g.protocol_type);
  }
  return incomplete ? 1 : 0;
}

int GroupDescribe(const BrokerAddress& b, const std::string& group) {
  auto c = ConnectToCoordinator(b, group);
  if (!c.ok()) return Fail(c.status());
  auto r = c.value()->DescribeGroup(group);
  if (!r.ok()) return Fail(r.status());
  if (!r->ok()) return Fail(client::ErrorStatus(r->error, "describe group '" + group + "'"));
  const auto& d = r->body;
  fmt::print("Group {} ({}, {}, protocol type '{}'{}), {} {}\n", d.group, d.kind, d.state,
             d.protocol_type, d.protocol_name.empty() ? "" : ", assignor " + d.protocol_name,
             d.kind == "native" ? "group epoch" : "generation", d.generation);
  fmt::print("\n{:<48} {:<16} {:<16} {}\n", "MEMBER", "CLIENT", "HOST", "PARTITIONS");
  for (const auto& m : d.members) {
    std::string parts;
    for (const auto& t : m.assigned) {
      if (!parts.empty()) parts += ' ';
      parts += t.topic + ":" + fmt::format("{}", fmt::join(t.partitions, ","));
    }
    fmt::print("{:<48} {:<16} {:<16} {}\n", m.member_id, m.client_id, m.client_host, parts);
  }
  fmt::print("\n{:<24} {:>9} {:>16} {:>14} {:>10}  {}\n", "TOPIC", "PARTITION", "COMMITTED_OFFSET",
             "LOG_END_OFFSET", "LAG", "MEMBER");
  for (const auto& o : d.offsets) {
    fmt::print("{:<24} {:>9} {:>16} {:>14} {:>10}  {}\n", o.topic, o.partition, o.committed_offset,
               o.log_end_offset, o.lag, o.member_id.empty() ? "-" : o.member_id);
  }
  return 0;
}

}  // namespace sentry::ctl
