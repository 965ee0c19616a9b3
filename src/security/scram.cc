#include "security/scram.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <array>
#include <vector>

namespace sentry::security {
namespace {

const EVP_MD* Digest(ScramMechanism m) {
  return m == ScramMechanism::kSha256 ? EVP_sha256() : EVP_sha512();
}

std::string Hmac(ScramMechanism m, std::string_view key, std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> out{};
  unsigned int len = 0;
  HMAC(Digest(m), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data(), &len);
  return std::string(reinterpret_cast<const char*>(out.data()), len);
}

std::string Hash(ScramMechanism m, std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> out{};
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), out.data(), &len, Digest(m), nullptr);
  return std::string(reinterpret_cast<const char*>(out.data()), len);
}

std::string Xor(std::string a, std::string_view b) {
  for (size_t i = 0; i < a.size() && i < b.size(); i++) a[i] = static_cast<char>(a[i] ^ b[i]);
  return a;
}

bool ConstantTimeEqual(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string RandomBytes(size_t n) {
  std::string out(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) {
    // No entropy is not something to carry on without.
    std::abort();
  }
  return out;
}

// SaltedPassword = Hi(password, salt, i), PBKDF2 with the mechanism's HMAC.
std::string SaltedPassword(ScramMechanism m, std::string_view password, std::string_view salt,
                           int32_t iterations) {
  std::string out(static_cast<size_t>(EVP_MD_get_size(Digest(m))), '\0');
  PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                    reinterpret_cast<const unsigned char*>(salt.data()),
                    static_cast<int>(salt.size()), iterations, Digest(m),
                    static_cast<int>(out.size()), reinterpret_cast<unsigned char*>(out.data()));
  return out;
}

// Splits "a=...,b=...": each attribute a single letter, '=', a value.
std::optional<std::vector<std::pair<char, std::string_view>>> Attributes(std::string_view s) {
  std::vector<std::pair<char, std::string_view>> out;
  while (!s.empty()) {
    const size_t comma = s.find(',');
    std::string_view part = s.substr(0, comma);
    if (part.size() < 2 || part[1] != '=') return std::nullopt;
    out.emplace_back(part[0], part.substr(2));
    if (comma == std::string_view::npos) break;
    s.remove_prefix(comma + 1);
    if (s.empty()) return std::nullopt;  // a trailing comma
  }
  return out;
}

// saslname: "=2C" is ',', "=3D" is '='; any other '=' is malformed.
std::optional<std::string> Unescape(std::string_view name) {
  std::string out;
  for (size_t i = 0; i < name.size(); i++) {
    if (name[i] != '=') {
      out += name[i];
    } else if (name.substr(i, 3) == "=2C") {
      out += ',';
      i += 2;
    } else if (name.substr(i, 3) == "=3D") {
      out += '=';
      i += 2;
    } else {
      return std::nullopt;
    }
  }
  return out;
}

bool Printable(std::string_view nonce) {
  for (char c : nonce) {
    if (c < 0x21 || c > 0x7e || c == ',') return false;
  }
  return !nonce.empty();
}

}  // namespace

std::optional<ScramMechanism> ParseScramMechanism(std::string_view name) {
  if (name == "SCRAM-SHA-256") return ScramMechanism::kSha256;
  if (name == "SCRAM-SHA-512") return ScramMechanism::kSha512;
  return std::nullopt;
}

const char* ScramMechanismName(ScramMechanism m) {
  return m == ScramMechanism::kSha256 ? "SCRAM-SHA-256" : "SCRAM-SHA-512";
}

std::string Base64Encode(std::string_view raw) {
  std::string out(4 * ((raw.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(raw.data()),
                                static_cast<int>(raw.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

std::optional<std::string> Base64Decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::string out(3 * text.size() / 4 + 1, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(text.data()),
                                static_cast<int>(text.size()));
  if (n < 0) return std::nullopt;
  // EVP_DecodeBlock counts the padding as zero bytes.
  size_t len = static_cast<size_t>(n);
  for (size_t i = text.size(); i > 0 && text[i - 1] == '=' && len > 0; i--) len--;
  out.resize(len);
  return out;
}

Result<ScramCredential> MakeScramCredential(ScramMechanism m, std::string_view password,
                                            int32_t iterations, std::optional<std::string> salt) {
  if (iterations < kScramMinIterations || iterations > kScramMaxIterations) {
    return Status::InvalidArgument("SCRAM iterations must be " +
                                   std::to_string(kScramMinIterations) + " to " +
                                   std::to_string(kScramMaxIterations));
  }
  if (password.empty()) return Status::InvalidArgument("an empty password");
  std::string the_salt = salt ? std::move(*salt) : RandomBytes(32);
  const std::string salted = SaltedPassword(m, password, the_salt, iterations);
  return ScramCredentialFromSalted(m, std::move(the_salt), iterations, salted);
}

Result<ScramCredential> ScramCredentialFromSalted(ScramMechanism m, std::string salt,
                                                  int32_t iterations,
                                                  std::string_view salted_password) {
  if (iterations < kScramMinIterations || iterations > kScramMaxIterations) {
    return Status::InvalidArgument("SCRAM iterations must be " +
                                   std::to_string(kScramMinIterations) + " to " +
                                   std::to_string(kScramMaxIterations));
  }
  if (salt.empty()) return Status::InvalidArgument("an empty salt");
  if (salted_password.size() != static_cast<size_t>(EVP_MD_get_size(Digest(m)))) {
    return Status::InvalidArgument("the salted password is not one " +
                                   std::string(ScramMechanismName(m)) + " digest long");
  }
  ScramCredential c;
  c.mechanism = m;
  c.iterations = iterations;
  c.salt = std::move(salt);
  c.stored_key = Hash(m, Hmac(m, salted_password, "Client Key"));
  c.server_key = Hmac(m, salted_password, "Server Key");
  return c;
}

std::string ScramSaltedPassword(ScramMechanism m, std::string_view password,
                                std::string_view salt, int32_t iterations) {
  return SaltedPassword(m, password, salt, iterations);
}

std::string ScramRandomSalt() { return RandomBytes(32); }

bool ScramPasswordMatches(const ScramCredential& c, std::string_view password) {
  const std::string salted = SaltedPassword(c.mechanism, password, c.salt, c.iterations);
  return ConstantTimeEqual(Hash(c.mechanism, Hmac(c.mechanism, salted, "Client Key")),
                           c.stored_key);
}

ScramServer::ScramServer(ScramMechanism m, Lookup lookup, std::string server_nonce)
    : mechanism_(m), lookup_(std::move(lookup)) {
  if (server_nonce.empty()) {
    // 24 random bytes, base64: printable and comma-free.
    server_nonce = Base64Encode(RandomBytes(24));
  }
  nonce_ = std::move(server_nonce);
}

Result<std::string> ScramServer::Start(std::string_view client_first) {
  if (state_ != State::kStart) return Status::InvalidArgument("SCRAM: client-first out of order");
  state_ = State::kFailed;
  // gs2-header: "n," or "y," (no channel binding either way), then an
  // optional "a=authzid", then ','. "p=" asks for channel binding.
  if (client_first.size() < 3 || (client_first[0] != 'n' && client_first[0] != 'y') ||
      client_first[1] != ',') {
    return Status::InvalidArgument("SCRAM: client-first must start with 'n,' (no channel "
                                   "binding)");
  }
  const size_t second_comma = client_first.find(',', 2);
  if (second_comma == std::string_view::npos) {
    return Status::InvalidArgument("SCRAM: client-first has no gs2 header");
  }
  const std::string_view authzid = client_first.substr(2, second_comma - 2);
  if (!authzid.empty() && authzid.substr(0, 2) != "a=") {
    return Status::InvalidArgument("SCRAM: malformed authzid");
  }
  gs2_header_ = std::string(client_first.substr(0, second_comma + 1));
  client_first_bare_ = std::string(client_first.substr(second_comma + 1));
  auto attrs = Attributes(client_first_bare_);
  if (!attrs || attrs->size() < 2 || (*attrs)[0].first != 'n' || (*attrs)[1].first != 'r') {
    return Status::InvalidArgument("SCRAM: client-first-bare must be 'n=USER,r=NONCE'");
  }
  for (size_t i = 2; i < attrs->size(); i++) {
    // Kafka's only extension is delegation tokens ("tokenauth"), not served.
    return Status::InvalidArgument(std::string("SCRAM: extension '") + (*attrs)[i].first +
                                   "' is not supported");
  }
  auto user = Unescape((*attrs)[0].second);
  if (!user || user->empty()) return Status::InvalidArgument("SCRAM: malformed user name");
  if (!authzid.empty() && authzid.substr(2) != (*attrs)[0].second) {
    return Status::InvalidArgument("SCRAM: authzid differs from the user name");
  }
  const std::string_view client_nonce = (*attrs)[1].second;
  if (!Printable(client_nonce)) return Status::InvalidArgument("SCRAM: malformed nonce");
  user_ = std::move(*user);
  credential_ = lookup_(user_);
  if (credential_ && credential_->mechanism != mechanism_) credential_.reset();
  nonce_ = std::string(client_nonce) + nonce_;
  std::string salt;
  int32_t iterations = kScramMinIterations;
  if (credential_) {
    salt = credential_->salt;
    iterations = credential_->iterations;
  } else {
    // An unknown user: a salt that stays the same for the same name (a
    // keyed hash), so repeated tries do not reveal it as made up.
    static const std::string key = RandomBytes(32);
    salt = Hmac(mechanism_, key, user_).substr(0, 32);
  }
  server_first_ = "r=" + nonce_ + ",s=" + Base64Encode(salt) + ",i=" + std::to_string(iterations);
  state_ = State::kFinish;
  return server_first_;
}

Result<std::string> ScramServer::Finish(std::string_view client_final) {
  if (state_ != State::kFinish) return Status::InvalidArgument("SCRAM: client-final out of order");
  state_ = State::kFailed;
  const size_t proof_at = client_final.rfind(",p=");
  if (proof_at == std::string_view::npos) {
    return Status::InvalidArgument("SCRAM: client-final has no proof");
  }
  const std::string_view without_proof = client_final.substr(0, proof_at);
  auto attrs = Attributes(without_proof);
  if (!attrs || attrs->size() < 2 || (*attrs)[0].first != 'c' || (*attrs)[1].first != 'r') {
    return Status::InvalidArgument("SCRAM: client-final must be 'c=...,r=...,p=...'");
  }
  if ((*attrs)[0].second != Base64Encode(gs2_header_)) {
    return Status::InvalidArgument("SCRAM: channel binding data differs from the gs2 header");
  }
  // RFC 5802 wants the nonce back as sent; Kafka accepts any nonce that ends
  // with it, and librdkafka relies on that (it sends its own part twice).
  // The proof covers the message as sent either way.
  if (!(*attrs)[1].second.ends_with(nonce_)) {
    return Status::InvalidArgument("SCRAM: nonce mismatch");
  }
  auto proof = Base64Decode(client_final.substr(proof_at + 3));
  if (!proof) return Status::InvalidArgument("SCRAM: proof is not base64");
  const std::string auth_message =
      client_first_bare_ + "," + server_first_ + "," + std::string(without_proof);
  if (!credential_) return Status::PermissionDenied("Authentication failed: invalid credentials");
  const std::string signature = Hmac(mechanism_, credential_->stored_key, auth_message);
  if (proof->size() != signature.size()) {
    return Status::PermissionDenied("Authentication failed: invalid credentials");
  }
  const std::string client_key = Xor(*proof, signature);
  if (!ConstantTimeEqual(Hash(mechanism_, client_key), credential_->stored_key)) {
    return Status::PermissionDenied("Authentication failed: invalid credentials");
  }
  state_ = State::kDone;
  return "v=" + Base64Encode(Hmac(mechanism_, credential_->server_key, auth_message));
}

namespace {

// saslname: ',' is "=2C" and '=' is "=3D".
std::string Escape(std::string_view name) {
  std::string out;
  for (char c : name) {
    if (c == ',') {
      out += "=2C";
    } else if (c == '=') {
      out += "=3D";
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

ScramClient::ScramClient(ScramMechanism m, std::string user, std::string password,
                         std::string client_nonce)
    : mechanism_(m), user_(std::move(user)), password_(std::move(password)),
      nonce_(std::move(client_nonce)) {
  if (nonce_.empty()) {
    nonce_ = Base64Encode(RandomBytes(18));  // 24 printable characters, no ','
  }
}

std::string ScramClient::First() const { return "n,,n=" + Escape(user_) + ",r=" + nonce_; }

Result<std::string> ScramClient::Final(std::string_view server_first) {
  auto attrs = Attributes(server_first);
  if (!attrs || attrs->size() < 3 || (*attrs)[0].first != 'r' || (*attrs)[1].first != 's' ||
      (*attrs)[2].first != 'i') {
    return Status::InvalidArgument("SCRAM: server-first must be 'r=...,s=...,i=...'");
  }
  const std::string_view nonce = (*attrs)[0].second;
  if (!nonce.starts_with(nonce_) || nonce.size() == nonce_.size() || !Printable(nonce)) {
    return Status::InvalidArgument("SCRAM: the server's nonce does not extend ours");
  }
  auto salt = Base64Decode((*attrs)[1].second);
  if (!salt || salt->empty()) return Status::InvalidArgument("SCRAM: the salt is not base64");
  int64_t iterations = 0;
  for (char c : (*attrs)[2].second) {
    if (c < '0' || c > '9' || iterations > kScramMaxIterations) {
      return Status::InvalidArgument("SCRAM: a bad iteration count");
    }
    iterations = iterations * 10 + (c - '0');
  }
  if (iterations < kScramMinIterations || iterations > kScramMaxIterations) {
    return Status::InvalidArgument("SCRAM: an iteration count outside 4096..16384");
  }
  const std::string salted =
      SaltedPassword(mechanism_, password_, *salt, static_cast<int32_t>(iterations));
  const std::string client_key = Hmac(mechanism_, salted, "Client Key");
  server_key_ = Hmac(mechanism_, salted, "Server Key");
  const std::string without_proof = "c=biws,r=" + std::string(nonce);
  auth_message_ = First().substr(3) + "," + std::string(server_first) + "," + without_proof;
  const std::string signature = Hmac(mechanism_, Hash(mechanism_, client_key), auth_message_);
  return without_proof + ",p=" + Base64Encode(Xor(client_key, signature));
}

Status ScramClient::Verify(std::string_view server_final) const {
  if (server_final.starts_with("e=")) {
    return Status::PermissionDenied("SCRAM: the server says " +
                                    std::string(server_final.substr(2)));
  }
  if (auth_message_.empty() || !server_final.starts_with("v=")) {
    return Status::PermissionDenied("SCRAM: no server signature");
  }
  auto v = Base64Decode(server_final.substr(2));
  if (!v || !ConstantTimeEqual(*v, Hmac(mechanism_, server_key_, auth_message_))) {
    return Status::PermissionDenied("SCRAM: the server's signature is wrong");
  }
  return Status::OK();
}

}  // namespace sentry::security

