#include "cluster/etcd_client.h"

#include <cstring>
#include <memory>
#include <optional>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <nlohmann/json.hpp>

namespace sentry::cluster {

namespace beast = boost::beast;
namespace bhttp = beast::http;
using nlohmann::json;
using tcp = boost::asio::ip::tcp;

namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// The gateway writes 64-bit numbers as strings and leaves zeros out.
int64_t I64(const json& j, const char* field) {
  auto it = j.find(field);
  if (it == j.end() || it->is_null()) return 0;
  if (it->is_string()) return std::stoll(it->get<std::string>());
  return it->get<int64_t>();
}

// The first key after every key starting with `prefix` (etcd's range_end).
std::string PrefixEnd(std::string prefix) {
  while (!prefix.empty()) {
    if (static_cast<unsigned char>(prefix.back()) < 0xff) {
      prefix.back() = static_cast<char>(prefix.back() + 1);
      return prefix;
    }
    prefix.pop_back();
  }
  return std::string(1, '\0');  // every key
}

}  // namespace

std::string EtcdClient::Base64Encode(const std::string& in) {
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const uint32_t v = (static_cast<uint8_t>(in[i]) << 16) | (static_cast<uint8_t>(in[i + 1]) << 8) |
                       static_cast<uint8_t>(in[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out += kAlphabet[(v >> s) & 63];
  }
  if (i + 1 == in.size()) {
    const uint32_t v = static_cast<uint8_t>(in[i]) << 16;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    const uint32_t v = (static_cast<uint8_t>(in[i]) << 16) | (static_cast<uint8_t>(in[i + 1]) << 8);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

std::optional<std::string> EtcdClient::Base64Decode(const std::string& in) {
  if (in.size() % 4 != 0) return std::nullopt;
  auto value = [](char c) -> int {
    const char* p = std::strchr(kAlphabet, c);
    return c != '\0' && p ? static_cast<int>(p - kAlphabet) : -1;
  };
  std::string out;
  for (size_t i = 0; i < in.size(); i += 4) {
    uint32_t v = 0;
    int pad = 0;
    for (size_t k = 0; k < 4; k++) {
      const char c = in[i + k];
      if (c == '=' && i + 4 == in.size() && k >= 2) {
        pad++;
        v <<= 6;
        continue;
      }
      const int x = value(c);
      if (x < 0 || pad > 0) return std::nullopt;
      v = (v << 6) | static_cast<uint32_t>(x);
    }
    out += static_cast<char>((v >> 16) & 0xff);
    if (pad < 2) out += static_cast<char>((v >> 8) & 0xff);
    if (pad < 1) out += static_cast<char>(v & 0xff);
  }
  return out;
}

Result<std::unique_ptr<EtcdClient>> EtcdClient::Create(const std::string& endpoints,
                                                       int64_t timeout_ms) {
  std::vector<Endpoint> eps;
  size_t start = 0;
  while (start <= endpoints.size()) {
    size_t comma = endpoints.find(',', start);
    if (comma == std::string::npos) comma = endpoints.size();
    std::string e = endpoints.substr(start, comma - start);
    start = comma + 1;
    if (e.empty()) continue;
    constexpr std::string_view kScheme = "http://";
    if (e.compare(0, kScheme.size(), kScheme) != 0) {
      return Status::InvalidArgument("etcd endpoint '" + e + "': only http://HOST:PORT is supported");
    }
    e = e.substr(kScheme.size());
    if (!e.empty() && e.back() == '/') e.pop_back();
    const size_t colon = e.rfind(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == e.size() ||
        e.find_first_not_of("0123456789", colon + 1) != std::string::npos) {
      return Status::InvalidArgument("etcd endpoint 'http://" + e + "': expected HOST:PORT");
    }
    eps.push_back({e.substr(0, colon), e.substr(colon + 1)});
  }
  if (eps.empty()) return Status::InvalidArgument("no etcd endpoint given");
  return std::unique_ptr<EtcdClient>(new EtcdClient(std::move(eps), timeout_ms));
}

Result<std::string> EtcdClient::Call(const std::string& path, const std::string& body) {
  std::lock_guard<std::mutex> l(mu_);
  std::string errors;
  for (size_t n = 0; n < endpoints_.size(); n++) {
    const size_t idx = (preferred_ + n) % endpoints_.size();
    const Endpoint& ep = endpoints_[idx];
    boost::asio::io_context ioc;
    beast::tcp_stream stream(ioc);
    beast::error_code ec;
    stream.expires_after(std::chrono::milliseconds(timeout_ms_));
    tcp::resolver resolver(ioc);
    auto addrs = resolver.resolve(ep.host, ep.port, ec);
    if (!ec) stream.connect(addrs, ec);
    bhttp::response<bhttp::string_body> res;
    if (!ec) {
      bhttp::request<bhttp::string_body> req{bhttp::verb::post, path, 11};
      req.set(bhttp::field::host, ep.host);
      req.set(bhttp::field::content_type, "application/json");
      req.body() = body;
      req.prepare_payload();
      bhttp::write(stream, req, ec);
    }
    beast::flat_buffer buf;
    if (!ec) bhttp::read(stream, buf, res, ec);
    if (ec) {
      errors += (errors.empty() ? "" : "; ") + ep.host + ":" + ep.port + ": " + ec.message();
      continue;  // the next endpoint
    }
    preferred_ = idx;
    if (res.result_int() != 200) {
      std::string message = res.body();
      try {
        auto j = json::parse(res.body());
        if (j.contains("message")) message = j["message"].get<std::string>();
        if (j.contains("error") && j["error"].is_string()) message = j["error"].get<std::string>();
      } catch (const json::exception&) {
      }
      if (res.result_int() == 404 || message.find("not found") != std::string::npos) {
        return Status::NotFound("etcd " + path + ": " + message);
      }
      return Status::IoError("etcd " + path + ": HTTP " + std::to_string(res.result_int()) +
                             ": " + message);
    }
    return std::move(res.body());
  }
  return Status::Unavailable("etcd unreachable (" + errors + ")");
}

Result<std::vector<KeyValue>> EtcdClient::Range(const std::string& key,
                                                const std::string& range_end) {
  json req = {{"key", Base64Encode(key)}};
  if (!range_end.empty()) req["range_end"] = Base64Encode(range_end);
  SENTRY_ASSIGN_OR_RETURN(std::string body, Call("/v3/kv/range", req.dump()));
  std::vector<KeyValue> out;
  try {
    const json j = json::parse(body);
    if (!j.contains("kvs")) return out;
    for (const auto& kv : j["kvs"]) {
      auto k = Base64Decode(kv.value("key", ""));
      auto v = Base64Decode(kv.value("value", ""));
      if (!k || !v) return Status::Corruption("etcd range: bad base64 in the answer");
      out.push_back({std::move(*k), std::move(*v), I64(kv, "create_revision"),
                     I64(kv, "mod_revision"), I64(kv, "lease")});
    }
  } catch (const std::exception& e) {
    return Status::Corruption(std::string("etcd range: unreadable answer: ") + e.what());
  }
  return out;
}

Result<std::optional<KeyValue>> EtcdClient::Get(const std::string& key) {
  SENTRY_ASSIGN_OR_RETURN(auto kvs, Range(key, ""));
  if (kvs.empty()) return std::optional<KeyValue>();
  return std::optional<KeyValue>(std::move(kvs.front()));
}

Result<std::vector<KeyValue>> EtcdClient::GetPrefix(const std::string& prefix) {
  return Range(prefix, PrefixEnd(prefix));
}

Result<int64_t> EtcdClient::Put(const std::string& key, const std::string& value, int64_t lease) {
  json req = {{"key", Base64Encode(key)}, {"value", Base64Encode(value)}};
  if (lease != 0) req["lease"] = std::to_string(lease);
  SENTRY_ASSIGN_OR_RETURN(std::string body, Call("/v3/kv/put", req.dump()));
  try {
    return I64(json::parse(body).at("header"), "revision");
  } catch (const std::exception& e) {
    return Status::Corruption(std::string("etcd put: unreadable answer: ") + e.what());
  }
}

Result<bool> EtcdClient::TxnIfModRevision(const std::string& key, int64_t expected,
                                          const std::string& op, const std::string& op_json) {
  const json req = {
      {"compare",
       {{{"key", Base64Encode(key)},
         {"result", "EQUAL"},
         {"target", "MOD"},
         {"mod_revision", std::to_string(expected)}}}},
      {"success", {{{op, json::parse(op_json)}}}}};
  SENTRY_ASSIGN_OR_RETURN(std::string body, Call("/v3/kv/txn", req.dump()));
  try {
    return json::parse(body).value("succeeded", false);  // left out when false
  } catch (const std::exception& e) {
    return Status::Corruption(std::string("etcd txn: unreadable answer: ") + e.what());
  }
}

Result<bool> EtcdClient::PutIf(const std::string& key, const std::string& value, int64_t expected,
                               int64_t lease) {
  json put = {{"key", Base64Encode(key)}, {"value", Base64Encode(value)}};
  if (lease != 0) put["lease"] = std::to_string(lease);
  return TxnIfModRevision(key, expected, "request_put", put.dump());
}

Result<bool> EtcdClient::DeleteIf(const std::string& key, int64_t expected) {
  return TxnIfModRevision(key, expected, "request_delete_range",
                          json{{"key", Base64Encode(key)}}.dump());
}

Result<int64_t> EtcdClient::GrantLease(int64_t ttl_seconds) {
  SENTRY_ASSIGN_OR_RETURN(std::string body,
                          Call("/v3/lease/grant", json{{"TTL", std::to_string(ttl_seconds)}}.dump()));
  try {
    const int64_t id = I64(json::parse(body), "ID");
    if (id == 0) return Status::IoError("etcd lease grant: no lease id in " + body);
    return id;
  } catch (const std::exception& e) {
    return Status::Corruption(std::string("etcd lease grant: unreadable answer: ") + e.what());
  }
}

Result<int64_t> EtcdClient::KeepAlive(int64_t lease) {
  auto body = Call("/v3/lease/keepalive", json{{"ID", std::to_string(lease)}}.dump());
  if (!body.ok()) {
    if (body.status().code() == Status::Code::kNotFound) return int64_t{0};  // expired
    return body.status();
  }
  try {
    // A stream of results; the first is ours.
    const std::string first = body->substr(0, body->find('\n'));
    const json j = json::parse(first);
    if (j.contains("error")) return int64_t{0};
    return I64(j.at("result"), "TTL");
  } catch (const std::exception& e) {
    return Status::Corruption(std::string("etcd keepalive: unreadable answer: ") + e.what());
  }
}

Status EtcdClient::RevokeLease(int64_t lease) {
  auto body = Call("/v3/lease/revoke", json{{"ID", std::to_string(lease)}}.dump());
  if (!body.ok() && body.status().code() != Status::Code::kNotFound) return body.status();
  return Status::OK();
}

}  // namespace sentry::cluster
