// Fuzz target: the SCRAM server's parsers (src/security/scram.h), the first
// thing an unauthenticated client reaches on a kafka.sasl=required listener.
// The input is client-first, a NUL byte, client-final (no NUL: client-first
// only). The server knows one user, "user" with password "pencil" (RFC
// 7677's), and uses RFC 7677's server nonce, so the saved RFC exchange in
// regressions/scram/ goes all the way through. Nothing may crash, read out
// of bounds or succeed for another user.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "security/scram.h"

using namespace sentry::security;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const ScramCredential pencil =
      MakeScramCredential(ScramMechanism::kSha256, "pencil", 4096,
                          Base64Decode("W22ZaJ0SNY7soEsUEjb6gQ==").value())
          .value();
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const size_t nul = in.find('\0');
  ScramServer s(
      ScramMechanism::kSha256,
      [](const std::string& user) -> std::optional<ScramCredential> {
        if (user == "user") return pencil;
        return std::nullopt;
      },
      "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0");
  if (!s.Start(in.substr(0, nul)).ok() || nul == std::string_view::npos) return 0;
  if (s.Finish(in.substr(nul + 1)).ok() && s.user() != "user") std::abort();
  return 0;
}
