#include "group/consumer_protocol.h"

#include <algorithm>
#include <cstdint>

#include "common/endian.h"

namespace sentry::group {

namespace {

// Classic (non-flexible) Kafka encoding: i16 string lengths, i32 array counts.
class In {
 public:
  explicit In(std::string_view b) : b_(b) {}
  bool I16(int16_t* v) {
    return Fixed(2, [&](const uint8_t* p) { *v = GetI16(p); });
  }
  bool I32(int32_t* v) {
    return Fixed(4, [&](const uint8_t* p) { *v = GetI32(p); });
  }
  bool String(std::string* s) {
    int16_t n = 0;
    if (!I16(&n) || n < 0 || b_.size() < static_cast<size_t>(n)) return false;
    s->assign(b_.substr(0, n));
    b_.remove_prefix(n);
    return true;
  }
  bool Count(int32_t* n, size_t min_item_bytes) {
    return I32(n) && *n >= 0 && static_cast<size_t>(*n) * min_item_bytes <= b_.size();
  }

 private:
  template <typename F>
  bool Fixed(size_t n, F f) {
    if (b_.size() < n) return false;
    f(reinterpret_cast<const uint8_t*>(b_.data()));
    b_.remove_prefix(n);
    return true;
  }
  std::string_view b_;
};

void PutI16(std::string* out, int16_t v) {
  uint8_t b[2];
  sentry::PutI16(b, v);
  out->append(reinterpret_cast<const char*>(b), 2);
}
void PutI32(std::string* out, int32_t v) {
  uint8_t b[4];
  sentry::PutI32(b, v);
  out->append(reinterpret_cast<const char*>(b), 4);
}
void PutString(std::string* out, const std::string& s) {
  PutI16(out, static_cast<int16_t>(s.size()));
  out->append(s);
}

}  // namespace

std::optional<Subscription> ParseSubscription(std::string_view bytes) {
  In in(bytes);
  int16_t version = 0;
  int32_t n = 0;
  if (!in.I16(&version) || version < 0 || !in.Count(&n, 2)) return std::nullopt;
  Subscription s;
  for (int32_t i = 0; i < n; i++) {
    std::string t;
    if (!in.String(&t)) return std::nullopt;
    s.topics.push_back(std::move(t));
  }
  return s;  // user data, owned partitions, ...: not needed
}

std::optional<TopicPartitions> ParseAssignment(std::string_view bytes) {
  In in(bytes);
  int16_t version = 0;
  int32_t n = 0;
  if (!in.I16(&version) || version < 0 || !in.Count(&n, 6)) return std::nullopt;
  TopicPartitions out;
  for (int32_t i = 0; i < n; i++) {
    std::string t;
    int32_t np = 0;
    if (!in.String(&t) || !in.Count(&np, 4)) return std::nullopt;
    auto& ps = out[t];
    for (int32_t j = 0; j < np; j++) {
      int32_t p = 0;
      if (!in.I32(&p)) return std::nullopt;
      ps.push_back(p);
    }
    std::sort(ps.begin(), ps.end());
    ps.erase(std::unique(ps.begin(), ps.end()), ps.end());
  }
  return out;
}

std::string EncodeAssignment(const TopicPartitions& parts) {
  std::string out;
  PutI16(&out, 0);
  PutI32(&out, static_cast<int32_t>(parts.size()));
  for (const auto& [t, ps] : parts) {
    PutString(&out, t);
    PutI32(&out, static_cast<int32_t>(ps.size()));
    for (int32_t p : ps) PutI32(&out, p);
  }
  PutI32(&out, -1);  // null user data
  return out;
}

std::string EncodeSubscription(const std::vector<std::string>& topics) {
  std::string out;
  PutI16(&out, 0);
  PutI32(&out, static_cast<int32_t>(topics.size()));
  for (const auto& t : topics) PutString(&out, t);
  PutI32(&out, -1);
  return out;
}

}  // namespace sentry::group
