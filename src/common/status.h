// Status and Result<T>: the one error channel across module boundaries.
//
// Any thread. A Status is a small value (code + message); OK carries no heap
// allocation. Library exceptions (Boost.Interprocess, toml++) are caught where
// they are called and turned into a Status with context.
#pragma once

#include <cassert>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace sentry {

class [[nodiscard]] Status {
 public:
  enum class Code : unsigned char {
    kOk = 0,
    kNotFound,
    kCorruption,
    kInvalidArgument,
    kIoError,
    kNoSpace,       // disk full: a distinct code so callers can say so plainly
    kNotSupported,
    kTooLarge,
    kFull,          // a fixed-capacity structure (segment, index) has no room
    kOutOfRange,
    kAlreadyExists,
    kTimedOut,
    kUnavailable,
    kOutOfOrderSequence,  // an idempotent producer's batch does not follow its last one
    kProducerFenced,      // an idempotent producer's epoch is older than the current one
    kNotLeader,           // cluster mode: this broker does not lead the partition (any more)
    kPermissionDenied,    // authentication failed or not allowed
  };

  Status() = default;
  Status(Code c, std::string m) : code_(c), message_(std::move(m)) {}
  static Status OK() { return Status(); }
  static Status NotFound(std::string m) { return Status(Code::kNotFound, std::move(m)); }
  static Status Corruption(std::string m) { return Status(Code::kCorruption, std::move(m)); }
  static Status InvalidArgument(std::string m) {
    return Status(Code::kInvalidArgument, std::move(m));
  }
  static Status IoError(std::string m) { return Status(Code::kIoError, std::move(m)); }
  static Status NoSpace(std::string m) { return Status(Code::kNoSpace, std::move(m)); }
  static Status NotSupported(std::string m) { return Status(Code::kNotSupported, std::move(m)); }
  static Status TooLarge(std::string m) { return Status(Code::kTooLarge, std::move(m)); }
  static Status OutOfOrderSequence(std::string m) {
    return Status(Code::kOutOfOrderSequence, std::move(m));
  }
  static Status ProducerFenced(std::string m) {
    return Status(Code::kProducerFenced, std::move(m));
  }
  static Status Full(std::string m) { return Status(Code::kFull, std::move(m)); }
  static Status OutOfRange(std::string m) { return Status(Code::kOutOfRange, std::move(m)); }
  static Status AlreadyExists(std::string m) { return Status(Code::kAlreadyExists, std::move(m)); }
  static Status TimedOut(std::string m) { return Status(Code::kTimedOut, std::move(m)); }
  static Status NotLeader(std::string m) { return Status(Code::kNotLeader, std::move(m)); }
  static Status Unavailable(std::string m) { return Status(Code::kUnavailable, std::move(m)); }
  static Status PermissionDenied(std::string m) {
    return Status(Code::kPermissionDenied, std::move(m));
  }
  // From errno: ENOSPC/EDQUOT become kNoSpace, everything else kIoError.
  static Status FromErrno(int err, std::string_view context);

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  bool IsNoSpace() const { return code_ == Code::kNoSpace; }
  bool IsCorruption() const { return code_ == Code::kCorruption; }
  bool IsFull() const { return code_ == Code::kFull; }
  bool IsNotFound() const { return code_ == Code::kNotFound; }
  bool IsIoError() const { return code_ == Code::kIoError; }
  std::string ToString() const;

 private:
  Code code_ = Code::kOk;
  std::string message_;
};

const char* CodeName(Status::Code code);

// Result<T>: either a value or a non-OK Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status s) : v_(std::move(s)) {      // NOLINT
    assert(!std::get<Status>(v_).ok() && "Result built from an OK status");
  }
  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }

 private:
  std::variant<T, Status> v_;
};

// Invariant check that stays on in release builds: logs and aborts.
[[noreturn]] void InvariantFailed(const char* expr, const char* file, int line, const char* msg);
#define SENTRY_CHECK(cond, msg)                                                \
  do {                                                                         \
    if (__builtin_expect(!(cond), 0)) ::sentry::InvariantFailed(#cond, __FILE__, __LINE__, msg); \
  } while (0)

#define SENTRY_RETURN_IF_ERROR(expr) \
  do {                               \
    ::sentry::Status _s = (expr);    \
    if (!_s.ok()) return _s;         \
  } while (0)

// SENTRY_ASSIGN_OR_RETURN(auto x, MakeX()): evaluates a Result<T>; on error
// returns its Status from the enclosing function, else moves the value into
// the declaration (or assignment) `lhs`.
#define SENTRY_ASSIGN_OR_RETURN(lhs, expr) \
  SENTRY_ASSIGN_OR_RETURN_IMPL(SENTRY_STATUS_CONCAT(_result_, __LINE__), lhs, expr)
#define SENTRY_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                  \
  if (!tmp.ok()) return tmp.status();                 \
  lhs = std::move(tmp).value()
#define SENTRY_STATUS_CONCAT_INNER(a, b) a##b
#define SENTRY_STATUS_CONCAT(a, b) SENTRY_STATUS_CONCAT_INNER(a, b)

}  // namespace sentry
