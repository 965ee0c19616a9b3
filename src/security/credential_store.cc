#include "security/credential_store.h"

#include <filesystem>
#include <sstream>

#include "common/file_util.h"

namespace sentry::security {

Result<std::unique_ptr<CredentialStore>> CredentialStore::Open(const std::string& data_dir) {
  std::unique_ptr<CredentialStore> store(new CredentialStore(data_dir + "/" + kFileName));
  std::error_code ec;
  if (!std::filesystem::exists(store->path_, ec)) return store;
  SENTRY_ASSIGN_OR_RETURN(std::string text, ReadFile(store->path_));
  std::istringstream in(text);
  std::string line;
  for (int n = 1; std::getline(in, line); n++) {
    if (line.empty()) continue;
    std::istringstream fields(line);
    std::string user64, mech, salt64, stored64, server64;
    int32_t iterations = 0;
    fields >> user64 >> mech >> iterations >> salt64 >> stored64 >> server64;
    auto user = Base64Decode(user64);
    auto m = ParseScramMechanism(mech);
    auto salt = Base64Decode(salt64);
    auto stored = Base64Decode(stored64);
    auto server = Base64Decode(server64);
    if (fields.fail() || !user || user->empty() || !m || !salt || !stored || !server ||
        iterations < kScramMinIterations || iterations > kScramMaxIterations) {
      return Status::Corruption(store->path_ + " line " + std::to_string(n) +
                                " is not a SCRAM credential");
    }
    store->creds_[{*user, *m}] = ScramCredential{*m, *salt, iterations, *stored, *server};
  }
  return store;
}

std::optional<ScramCredential> CredentialStore::Find(const std::string& user,
                                                     ScramMechanism m) const {
  std::lock_guard l(mu_);
  auto it = creds_.find({user, m});
  if (it == creds_.end()) return std::nullopt;
  return it->second;
}

Status CredentialStore::Upsert(const std::string& user, const ScramCredential& c) {
  if (user.empty()) return Status::InvalidArgument("an empty user name");
  std::lock_guard l(mu_);
  auto key = std::make_pair(user, c.mechanism);
  auto old = creds_.find(key);
  std::optional<ScramCredential> before;
  if (old != creds_.end()) before = old->second;
  creds_[key] = c;
  Status s = Save();
  if (!s.ok()) {  // memory stays what the disk holds
    if (before) {
      creds_[key] = *before;
    } else {
      creds_.erase(key);
    }
  }
  return s;
}

Status CredentialStore::Remove(const std::string& user, std::optional<ScramMechanism> m) {
  std::lock_guard l(mu_);
  auto saved = creds_;
  size_t removed = 0;
  for (auto it = creds_.begin(); it != creds_.end();) {
    if (it->first.first == user && (!m || it->first.second == *m)) {
      it = creds_.erase(it);
      removed++;
    } else {
      ++it;
    }
  }
  if (removed == 0) return Status::NotFound("no SCRAM credential for user '" + user + "'");
  Status s = Save();
  if (!s.ok()) creds_ = std::move(saved);
  return s;
}

std::vector<std::pair<std::string, std::vector<ScramMechanism>>> CredentialStore::List() const {
  std::lock_guard l(mu_);
  std::vector<std::pair<std::string, std::vector<ScramMechanism>>> out;
  for (const auto& [key, c] : creds_) {
    if (out.empty() || out.back().first != key.first) out.push_back({key.first, {}});
    out.back().second.push_back(key.second);
  }
  return out;
}

Status CredentialStore::Save() const {
  std::string text;
  for (const auto& [key, c] : creds_) {
    text += Base64Encode(key.first) + " " + ScramMechanismName(c.mechanism) + " " +
            std::to_string(c.iterations) + " " + Base64Encode(c.salt) + " " +
            Base64Encode(c.stored_key) + " " + Base64Encode(c.server_key) + "\n";
  }
  // Keys derived from passwords: readable by the broker's user only.
  return WriteFileAtomically(path_, text, 0600);
}

}  // namespace sentry::security
