#include "common/status.h"

#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace sentry {

const char* CodeName(Status::Code code) {
  switch (code) {
    case Status::Code::kOk: return "OK";
    case Status::Code::kNotFound: return "NotFound";
    case Status::Code::kCorruption: return "Corruption";
    case Status::Code::kInvalidArgument: return "InvalidArgument";
    case Status::Code::kIoError: return "IoError";
    case Status::Code::kNoSpace: return "NoSpace";
    case Status::Code::kNotSupported: return "NotSupported";
    case Status::Code::kTooLarge: return "TooLarge";
    case Status::Code::kFull: return "Full";
    case Status::Code::kOutOfRange: return "OutOfRange";
    case Status::Code::kAlreadyExists: return "AlreadyExists";
    case Status::Code::kTimedOut: return "TimedOut";
    case Status::Code::kUnavailable: return "Unavailable";
    case Status::Code::kNotLeader: return "Not leader";
    case Status::Code::kOutOfOrderSequence: return "OutOfOrderSequence";
    case Status::Code::kProducerFenced: return "ProducerFenced";
    case Status::Code::kPermissionDenied: return "PermissionDenied";
  }
  return "Unknown";
}

Status Status::FromErrno(int err, std::string_view context) {
  std::string m(context);
  m += ": ";
  m += std::strerror(err);
  if (err == ENOSPC || err == EDQUOT) return NoSpace(std::move(m));
  return IoError(std::move(m));
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  std::string s = CodeName(code_);
  s += ": ";
  s += message_;
  return s;
}

void InvariantFailed(const char* expr, const char* file, int line, const char* msg) {
  // stderr first: it is unbuffered and survives a logger in a bad state.
  std::fprintf(stderr, "invariant failed: %s (%s) at %s:%d\n", expr, msg, file, line);
  spdlog::critical("invariant failed: {} ({}) at {}:{}", expr, msg, file, line);
  spdlog::default_logger()->flush();
  std::abort();
}

}  // namespace sentry
