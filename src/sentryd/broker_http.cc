#include "sentryd/broker_http.h"

#include <sys/statvfs.h>

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "common/clock.h"
#include "group/consumer_protocol.h"
#include "http/assets.h"
#include "sentryd/broker_metrics.h"

namespace sentry::sentryd {

using http::HttpResponse;
using nlohmann::json;

namespace {

constexpr const char* kJson = "application/json";

HttpResponse Json(int status, const json& body) {
  return HttpResponse{status, kJson, body.dump() + "\n", {{"Cache-Control", "no-store"}}};
}

HttpResponse JsonError(int status, const std::string& message) {
  return Json(status, json{{"error", message}});
}

// "%2F" -> "/" in a path segment; nullopt when malformed.
std::optional<std::string> PercentDecode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); i++) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    if (i + 2 >= s.size()) return std::nullopt;
    auto hex = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      return -1;
    };
    const int hi = hex(s[i + 1]), lo = hex(s[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

json Assignment(const group::TopicPartitions& tps) {
  json a = json::array();
  for (const auto& [topic, parts] : tps) a.push_back({{"topic", topic}, {"partitions", parts}});
  return a;
}

}  // namespace

HttpResponse BrokerHttp::Handle(const http::HttpRequest& req) const {
  const std::string& path = req.path;
  const bool ready = ready_->load(std::memory_order_acquire);
  if (path == "/health/live") return {200, "text/plain; charset=utf-8", "live\n", {}};
  if (path == "/health/ready") {
    return ready ? HttpResponse{200, "text/plain; charset=utf-8", "ready\n", {}}
                 : HttpResponse{503, "text/plain; charset=utf-8",
                                "not ready: recovering or starting listeners\n", {}};
  }
  if (path == "/metrics") {
    return {200, "text/plain; version=0.0.4; charset=utf-8", BrokerMetricsText(*view_, ready),
            {}};
  }
  if (const http::Asset* a = http::FindAsset(path)) {
    return {200, std::string(a->content_type), std::string(a->data),
            {{"Cache-Control", "no-cache"}}};
  }
  if (path.rfind("/v1/", 0) == 0) {
    if (!ready) return JsonError(503, "not ready: recovering or starting listeners");
    if (path == "/v1/status") return Status();
    if (path == "/v1/topics") return Topics();
    if (path == "/v1/groups") return Groups();
    for (const auto& [prefix, is_topic] :
         {std::pair<std::string_view, bool>{"/v1/topics/", true}, {"/v1/groups/", false}}) {
      if (path.size() <= prefix.size() || path.compare(0, prefix.size(), prefix) != 0) continue;
      auto name = PercentDecode(std::string_view(path).substr(prefix.size()));
      if (!name || name->empty() || name->find('/') != std::string::npos) {
        return JsonError(400, "malformed name in " + path);
      }
      return is_topic ? Topic(*name) : Group(*name);
    }
  }
  return JsonError(404, "no such path: " + path +
                            " (see /, /metrics, /v1/status, /v1/topics, /v1/groups, "
                            "/health/live, /health/ready)");
}

HttpResponse BrokerHttp::Status() const {
  const BrokerView& v = *view_;
  json dirs = json::array();
  struct statvfs fs {};
  json dir = {{"path", v.cfg->data_dir}};
  if (::statvfs(v.cfg->data_dir.c_str(), &fs) == 0) {
    dir["free_bytes"] = static_cast<uint64_t>(fs.f_bavail) * fs.f_frsize;
    dir["total_bytes"] = static_cast<uint64_t>(fs.f_blocks) * fs.f_frsize;
  }
  int64_t log_bytes = 0, online = 0, offline = 0;
  const auto topics = v.registry->List();
  for (const auto& t : topics) {
    std::vector<broker::PartitionLogState> parts;
    if (v.core->DescribeLog(t->name, &parts) != broker::Errc::kNone) continue;
    for (const auto& p : parts) {
      log_bytes += p.size_bytes;
      (p.offline ? offline : online)++;
    }
  }
  dir["log_bytes"] = log_bytes;
  dirs.push_back(dir);
  json listeners = json::array();
  for (const ListenerView& l : v.listeners) {
    listeners.push_back({{"name", l.name}, {"host", l.host}, {"port", l.port}});
  }
  return Json(200, json{{"version", BuildVersion()},
                        {"commit", BuildCommit()},
                        {"broker_id", v.cfg->broker_id},
                        {"uptime_seconds", (WallMillis() - v.start_wall_ms) / 1000.0},
                        {"ready", true},
                        {"data_dirs", dirs},
                        {"listeners", listeners},
                        {"partitions", {{"online", online}, {"offline", offline}}},
                        {"topics", topics.size()}});
}

HttpResponse BrokerHttp::Topics() const {
  json out = json::array();
  for (const auto& t : view_->registry->List()) {
    std::vector<broker::PartitionLogState> parts;
    if (view_->core->DescribeLog(t->name, &parts) != broker::Errc::kNone) continue;
    int64_t size = 0, hwm = 0, off = 0;
    for (const auto& p : parts) {
      size += p.size_bytes;
      hwm += p.high_watermark;
      off += p.offline ? 1 : 0;
    }
    out.push_back({{"name", t->name},
                   {"partitions", t->partitions.size()},
                   {"size_bytes", size},
                   {"high_watermark_sum", hwm},
                   {"offline_partitions", off}});
  }
  return Json(200, out);
}

HttpResponse BrokerHttp::Topic(const std::string& name) const {
  auto t = view_->core->FindTopic(name);
  std::vector<broker::PartitionLogState> parts;
  if (!t || view_->core->DescribeLog(name, &parts) != broker::Errc::kNone) {
    return JsonError(404, "no such topic: " + name);
  }
  json config = json::object();
  for (const auto& [k, val] : t->config.ToMap()) config[k] = val;
  json ps = json::array();
  for (const auto& p : parts) {
    ps.push_back({{"partition", p.index},
                  {"log_start_offset", p.log_start_offset},
                  {"high_watermark", p.high_watermark},
                  {"durable_offset", p.durable_offset},
                  {"size_bytes", p.size_bytes},
                  {"segments", p.segments},
                  {"offline", p.offline}});
  }
  return Json(200, json{{"name", name}, {"config", config}, {"partitions", ps}});
}

HttpResponse BrokerHttp::Groups() const {
  json out = json::array();
  if (view_->groups) {
    for (const auto& g : view_->groups->List()) {
      out.push_back({{"group_id", g.group_id},
                     {"kind", g.kind == group::GroupKind::kClassic ? "classic" : "consumer"},
                     {"state", g.state},
                     {"protocol_type", g.protocol_type}});
    }
  }
  return Json(200, out);
}

HttpResponse BrokerHttp::Group(const std::string& id) const {
  if (!view_->groups) return JsonError(404, "no such group: " + id);
  bool known = false;
  for (const auto& g : view_->groups->List()) known |= g.group_id == id;
  if (!known) return JsonError(404, "no such group: " + id);
  const group::GroupDescription d = view_->groups->Describe(id);
  json members = json::array();
  for (const auto& m : d.classic_members) {
    auto parts = group::ParseAssignment(m.assignment);
    members.push_back({{"member_id", m.member_id},
                       {"client_id", m.client_id},
                       {"host", m.client_host},
                       {"assignment", parts ? Assignment(*parts) : json::array()}});
  }
  for (const auto& m : d.native_members) {
    members.push_back({{"member_id", m.member_id},
                       {"client_id", m.client_id},
                       {"host", ""},
                       {"member_epoch", m.member_epoch},
                       {"assignment", Assignment(m.assigned)}});
  }
  json offsets = json::array();
  for (const auto& o : view_->core->CommittedOffsetsOf(id)) {
    json row = {{"topic", o.topic},
                {"partition", o.partition},
                {"committed_offset", o.committed.offset}};
    if (auto t = view_->core->FindTopic(o.topic);
        t && o.partition >= 0 && static_cast<size_t>(o.partition) < t->partitions.size()) {
      const int64_t hwm = t->partitions[static_cast<size_t>(o.partition)]->log()->high_watermark();
      row["high_watermark"] = hwm;
      row["lag"] = std::max<int64_t>(0, hwm - o.committed.offset);
    } else {
      row["high_watermark"] = nullptr;
      row["lag"] = nullptr;
    }
    offsets.push_back(row);
  }
  return Json(200, json{{"group_id", id},
                        {"kind", d.kind == group::GroupKind::kClassic ? "classic" : "consumer"},
                        {"state", d.state},
                        {"generation", d.generation},
                        {"members", members},
                        {"offsets", offsets}});
}

}  // namespace sentry::sentryd
