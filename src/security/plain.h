// SASL PLAIN (RFC 4616), the server side, checked against the users' stored
// SCRAM credentials: Sentry keeps no passwords, so a PLAIN password is
// right when it derives the StoredKey of the user's SCRAM-SHA-512 or
// SCRAM-SHA-256 credential (PBKDF2 with that credential's salt and
// iterations). A user without a credential is checked against a made-up
// SCRAM-SHA-512 credential of 4096 iterations: the cost of a default user's
// check (a user with more iterations, or SHA-256 only, takes another time).
// One check is one PBKDF2, milliseconds, on the caller's thread.
//
// PLAIN sends the password itself: the Kafka listener offers it on TLS
// listeners only, unless sasl.plain.allow.plaintext (docs/security.md).
//
// Thread-compatible (pure but for the store, which is thread-safe).
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"
#include "security/credential_store.h"

namespace sentry::security {

// The message is "authzid NUL authcid NUL password"; authzid empty or equal
// to authcid (as Kafka's PlainSaslServer). Returns the user name;
// InvalidArgument for a malformed message, PermissionDenied for a wrong
// password, an unknown user or another authorization id.
Result<std::string> CheckPlain(std::string_view message, const CredentialStore& store);

}  // namespace sentry::security
