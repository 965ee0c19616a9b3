// SizedAnswers: a test front end that answers each frame (a u32 n) with a
// frame of n bytes of a known pattern, the first 100 from the output buffer
// and the rest by reference (as fetches send mapped segments). For network
// layer tests (TLS, flow control) that need big, checkable answers.
#pragma once

#include <algorithm>
#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "common/endian.h"
#include "net/frame_handler.h"

namespace sentry::net {

// Shared payload sent by reference (as fetches send mapped segments).
inline std::shared_ptr<std::vector<uint8_t>> Payload() {
  static auto p = [] {
    auto v = std::make_shared<std::vector<uint8_t>>(1 << 20);
    for (size_t i = 0; i < v->size(); i++) (*v)[i] = static_cast<uint8_t>(i * 7 + 3);
    return v;
  }();
  return p;
}

// Frame = u32 n; answer = a frame of n bytes: payload[0..n) (the first
// 100 from the output buffer, the rest by reference).
class SizedAnswers final : public FrameHandler {
 public:
  std::unique_ptr<Session> NewSession(const pipeline::Route&, const std::string&) override {
    return std::make_unique<Session>();
  }
  void OnTlsEstablished(Session&, const std::string&) override { established++; }
  bool Paused(const Session&) const override { return false; }
  uint32_t min_frame_bytes() const override { return 4; }
  Outcome OnFrame(Session&, std::span<const uint8_t> frame, const std::shared_ptr<const void>&,
                  ResponseOut& out, ParkedRead*) override {
    const uint32_t n = std::min<uint32_t>(GetU32(frame.data()), 1 << 20);
    auto payload = Payload();
    std::vector<uint8_t>& b = *out.bytes();
    uint8_t len[4];
    PutU32(len, n);
    b.insert(b.end(), len, len + 4);
    const uint32_t inline_bytes = std::min<uint32_t>(n, 100);
    b.insert(b.end(), payload->begin(), payload->begin() + inline_bytes);
    if (n > inline_bytes) {
      out.AppendPayload({payload->data() + inline_bytes, n - inline_bytes}, payload);
    }
    return Outcome::kDone;
  }
  void OnBadLength(Session&, uint32_t, std::span<const uint8_t>, ResponseOut&) override {}
  int OnCompletion(pipeline::CompletionPtr, Session&, ResponseOut&) override { return 0; }
  bool OnParkedReady(ParkedRead&, bool, Session&, ResponseOut&) override { return true; }
  std::atomic<int> established{0};
};

}  // namespace sentry::net
