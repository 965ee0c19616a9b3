// SCRAM-SHA-256 and SCRAM-SHA-512 (RFC 5802, RFC 7677), the server side,
// as Kafka's SASL/SCRAM speaks it: no channel binding ("n,," or
// "n,a=AUTHZID,"), the Kafka "tokenauth" extension refused, usernames with
// "=2C" and "=3D" escapes. Credentials are stored, never passwords: a salt,
// an iteration count, StoredKey = H(ClientKey) and ServerKey.
//
// One ScramServer per authentication exchange: Start() takes the
// client-first message and answers server-first; Finish() takes the
// client-final message and answers server-final once the proof checks
// (compared in constant time). An unknown user gets a made-up salt and the
// same two steps, and fails only at Finish() like a wrong password, so the
// answers do not tell which users exist.
//
// Thread-compatible: one exchange per object; the functions are pure.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace sentry::security {

enum class ScramMechanism { kSha256, kSha512 };

// "SCRAM-SHA-256" / "SCRAM-SHA-512" -> the mechanism; nullopt otherwise.
std::optional<ScramMechanism> ParseScramMechanism(std::string_view name);
const char* ScramMechanismName(ScramMechanism m);

struct ScramCredential {
  ScramMechanism mechanism = ScramMechanism::kSha512;
  std::string salt;  // raw bytes
  int32_t iterations = 4096;
  std::string stored_key;  // raw bytes: H(HMAC(SaltedPassword, "Client Key"))
  std::string server_key;  // raw bytes: HMAC(SaltedPassword, "Server Key")
};

// As Kafka: 4096 to 16384 iterations.
inline constexpr int32_t kScramMinIterations = 4096;
inline constexpr int32_t kScramMaxIterations = 16384;

// The credential for `password` (PBKDF2 with `iterations`); a random
// 32-byte salt unless one is given (tests).
Result<ScramCredential> MakeScramCredential(ScramMechanism m, std::string_view password,
                                            int32_t iterations = kScramMinIterations,
                                            std::optional<std::string> salt = std::nullopt);

// The credential of a password already salted by the client (Kafka's
// AlterUserScramCredentials carries SaltedPassword, never the password).
// InvalidArgument: iterations out of range, an empty salt, or a salted
// password that is not one digest long.
Result<ScramCredential> ScramCredentialFromSalted(ScramMechanism m, std::string salt,
                                                  int32_t iterations,
                                                  std::string_view salted_password);
// SaltedPassword = PBKDF2(password, salt, iterations), for a client that
// sends it (sentryctl user create --kafka); a fresh 32-byte random salt.
std::string ScramSaltedPassword(ScramMechanism m, std::string_view password,
                                std::string_view salt, int32_t iterations);
std::string ScramRandomSalt();

// Whether `password` is the one `c` was made from (PLAIN against a stored
// SCRAM credential). Constant time in the comparison.
bool ScramPasswordMatches(const ScramCredential& c, std::string_view password);

std::string Base64Encode(std::string_view raw);
std::optional<std::string> Base64Decode(std::string_view text);

class ScramServer {
 public:
  // The user's credential for this mechanism, or nullopt if none.
  using Lookup = std::function<std::optional<ScramCredential>(const std::string& user)>;

  // `server_nonce`: random printable characters unless given (tests).
  ScramServer(ScramMechanism m, Lookup lookup, std::string server_nonce = "");

  // client-first -> server-first. InvalidArgument for a malformed message.
  Result<std::string> Start(std::string_view client_first);
  // client-final -> server-final. InvalidArgument for a malformed message,
  // PermissionDenied for a wrong proof or an unknown user.
  Result<std::string> Finish(std::string_view client_final);

  // After Finish() succeeded: the authenticated user name (unescaped).
  const std::string& user() const { return user_; }

 private:
  enum class State { kStart, kFinish, kDone, kFailed };
  ScramMechanism mechanism_;
  Lookup lookup_;
  State state_ = State::kStart;
  std::string user_;
  std::string gs2_header_;
  std::string client_first_bare_;
  std::string server_first_;
  std::string nonce_;  // client + server nonce
  std::optional<ScramCredential> credential_;  // nullopt: unknown user
  std::string fake_salt_;
};

// The client side of one exchange (sentryctl's, and the unit tests'):
// First() is client-first; Final(server_first) checks it and answers
// client-final with the proof; Verify(server_final) checks the broker's
// signature, so a broker that does not hold the credential is caught.
class ScramClient {
 public:
  ScramClient(ScramMechanism m, std::string user, std::string password,
              std::string client_nonce = "");
  std::string First() const;
  // InvalidArgument: a malformed server-first, a nonce that does not extend
  // ours, or an iteration count outside 4096..16384.
  Result<std::string> Final(std::string_view server_first);
  // PermissionDenied when the server's signature is wrong (or an e=error).
  Status Verify(std::string_view server_final) const;

 private:
  ScramMechanism mechanism_;
  std::string user_;
  std::string password_;
  std::string nonce_;
  std::string auth_message_;
  std::string server_key_;
};

}  // namespace sentry::security
