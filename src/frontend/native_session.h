// The native front end's per-connection state and response helpers; private
// to the native_*.cc files of this folder.
#pragma once

#include "broker/broker_core.h"
#include "frontend/native_errors.h"
#include "net/frame_handler.h"
#include "protocol/codec.h"
#include "protocol/messages.h"
#include "security/authorizer.h"
#include "security/sasl_session.h"

namespace sentry::frontend {

struct NativeSession final : net::Session {
  broker::ClientSession core;
  // Authorization (authorizer.enabled): the principal is the one SASL
  // proved (native.sasl=required), else User:ANONYMOUS, or the client
  // certificate's subject on a mutual-TLS listener.
  std::string principal = "User:ANONYMOUS";
  std::string host;
  std::string peer;  // "ip:port", for the log
  security::AuthCache auth_cache;
  // native.sasl=required: nothing but API_VERSIONS and AUTHENTICATE until
  // an exchange succeeded (native_sasl.cc).
  bool authenticated = true;
  security::SaslSession sasl;
};

inline broker::ClientSession& CoreOf(net::Session& s) {
  return static_cast<NativeSession&>(s).core;
}

// A response that is only a header with `code`.
inline void WriteError(net::ResponseOut& out, const protocol::RequestHeader& h,
                       protocol::ErrorCode code) {
  protocol::ByteWriter w(out.bytes());
  size_t start = BeginResponse(&w, h, static_cast<int16_t>(code));
  FinishFrame(&w, start);
}

inline net::Outcome Refuse(net::ResponseOut& out, const protocol::RequestHeader& h,
                           broker::Errc e) {
  WriteError(out, h, ToNativeError(e));
  return net::Outcome::kDone;
}

inline net::Outcome Malformed(net::ResponseOut& out, const protocol::RequestHeader& h) {
  return Refuse(out, h, broker::Errc::kInvalidRequest);
}

// A successful response carrying `msg`.
template <typename Message>
net::Outcome Respond(net::ResponseOut& out, const protocol::RequestHeader& h, const Message& msg) {
  protocol::ByteWriter w(out.bytes());
  size_t start = BeginResponse(&w, h, 0);
  Encode(&w, msg);
  FinishFrame(&w, start);
  return net::Outcome::kDone;
}

}  // namespace sentry::frontend
