#include "security/authorizer.h"

#include <filesystem>
#include <mutex>
#include <sstream>

#include "common/file_util.h"
#include "security/scram.h"

namespace sentry::security {

namespace {

bool PatternCovers(const AclBinding& b, ResourceType type, std::string_view name) {
  if (b.resource_type != type) return false;
  if (b.pattern_type == PatternType::kPrefixed) return name.starts_with(b.resource_name);
  return b.resource_name == name || b.resource_name == kWildcard;
}

// The operations whose ALLOW also allows `op` (besides `op` and ALL).
bool Implies(AclOperation granted, AclOperation op) {
  if (granted == op || granted == AclOperation::kAll) return true;
  if (op == AclOperation::kDescribe) {
    return granted == AclOperation::kRead || granted == AclOperation::kWrite ||
           granted == AclOperation::kDelete || granted == AclOperation::kAlter;
  }
  return op == AclOperation::kDescribeConfigs && granted == AclOperation::kAlterConfigs;
}

std::string Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return std::string(s);
}

}  // namespace

std::string AclHost(std::string_view peer) {
  if (peer.starts_with("/")) peer.remove_prefix(1);
  // An IPv4 client of a dual-stack listener: as ACLs name it (Kafka does the same).
  if (peer.starts_with("::ffff:") && peer.find('.') != std::string_view::npos) {
    peer.remove_prefix(7);
  }
  return std::string(peer);
}

std::vector<std::string> Authorizer::ParseSuperUsers(std::string_view text) {
  const char sep = text.find(';') != std::string_view::npos ? ';' : ',';
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(sep, start);
    if (end == std::string_view::npos) end = text.size();
    std::string p = Trim(text.substr(start, end - start));
    if (!p.empty()) out.push_back(std::move(p));
    start = end + 1;
  }
  return out;
}

Result<std::unique_ptr<Authorizer>> Authorizer::Open(const std::string& data_dir,
                                                     std::vector<std::string> super_users) {
  std::unique_ptr<Authorizer> a(
      new Authorizer(data_dir + "/" + kFileName, std::move(super_users)));
  std::error_code ec;
  if (!std::filesystem::exists(a->path_, ec)) return a;
  SENTRY_ASSIGN_OR_RETURN(std::string text, ReadFile(a->path_));
  std::istringstream in(text);
  std::string line;
  for (int n = 1; std::getline(in, line); n++) {
    if (line.empty()) continue;
    std::istringstream fields(line);
    std::string type, pattern, name64, principal64, host64, op, permission;
    fields >> type >> pattern >> name64 >> principal64 >> host64 >> op >> permission;
    auto t = ParseResourceType(type);
    auto pt = ParsePatternType(pattern);
    auto name = Base64Decode(name64);
    auto principal = Base64Decode(principal64);
    auto host = Base64Decode(host64);
    auto o = ParseAclOperation(op);
    auto perm = ParseAclPermission(permission);
    AclBinding b;
    if (!fields.fail() && t && pt && name && principal && host && o && perm) {
      b = AclBinding{*t, *name, *pt, *principal, *host, *o, *perm};
    }
    if (fields.fail() || !t || !pt || !name || !principal || !host || !o || !perm ||
        !InvalidBindingReason(b).empty()) {
      return Status::Corruption(a->path_ + " line " + std::to_string(n) + " is not an ACL");
    }
    a->acls_.insert(std::move(b));
  }
  return a;
}

bool Authorizer::IsSuperUser(std::string_view principal) const {
  for (const auto& s : super_users_) {
    if (s == principal) return true;
  }
  return false;
}

bool Authorizer::Authorize(std::string_view principal, std::string_view host, AclOperation op,
                           ResourceType type, std::string_view name) const {
  const bool allowed = Decide(principal, host, op, type, name);
  Count(allowed);
  return allowed;
}

void Authorizer::Count(bool allowed) const {
  (allowed ? stats_.allowed : stats_.denied).fetch_add(1, std::memory_order_relaxed);
}

bool Authorizer::Decide(std::string_view principal, std::string_view host, AclOperation op,
                        ResourceType type, std::string_view name) const {
  bool allowed = IsSuperUser(principal);
  if (!allowed) {
    std::shared_lock l(mu_);
    bool denied = false;
    for (const AclBinding& b : acls_) {
      if (!PatternCovers(b, type, name)) continue;
      if (b.principal != principal && b.principal != "User:*") continue;
      if (b.host != host && b.host != kWildcard) continue;
      if (b.permission == AclPermission::kDeny) {
        if (b.operation == op || b.operation == AclOperation::kAll) {
          denied = true;
          break;
        }
      } else if (Implies(b.operation, op)) {
        allowed = true;
      }
    }
    if (denied) allowed = false;
  }
  return allowed;
}

bool Authorizer::MayOnSome(std::string_view principal, std::string_view host, AclOperation op,
                           ResourceType type) const {
  if (IsSuperUser(principal)) return true;
  std::shared_lock l(mu_);
  auto applies = [&](const AclBinding& b) {
    return b.resource_type == type && (b.principal == principal || b.principal == "User:*") &&
           (b.host == host || b.host == kWildcard);
  };
  // As Kafka's authorizeByResourceType: some ALLOW pattern that no DENY
  // pattern covers (a DENY of the literal "*" covers everything; a DENY
  // prefix covers the names and prefixes that start with it; a DENY literal
  // covers that literal).
  std::vector<const AclBinding*> denies;
  for (const AclBinding& b : acls_) {
    if (applies(b) && b.permission == AclPermission::kDeny &&
        (b.operation == op || b.operation == AclOperation::kAll)) {
      denies.push_back(&b);
    }
  }
  for (const AclBinding& b : acls_) {
    if (!applies(b) || b.permission != AclPermission::kAllow || !Implies(b.operation, op)) continue;
    bool covered = false;
    for (const AclBinding* d : denies) {
      if (d->pattern_type == PatternType::kLiteral && d->resource_name == kWildcard) {
        covered = true;
      } else if (d->pattern_type == PatternType::kPrefixed) {
        covered = b.resource_name.starts_with(d->resource_name) && b.resource_name != kWildcard;
      } else {
        covered = b.pattern_type == PatternType::kLiteral && b.resource_name == d->resource_name;
      }
      if (covered) break;
    }
    if (!covered) return true;
  }
  return false;
}

bool Authorizer::Authorize(AuthCache* cache, const std::string& principal, std::string_view host,
                           AclOperation op, ResourceType type, std::string_view name,
                           bool count) const {
  const uint64_t gen = generation();
  if (cache->generation != gen || cache->principal != principal) {
    cache->decisions.clear();
    cache->generation = gen;
    cache->principal = principal;
  }
  std::string key;
  key.reserve(name.size() + 2);
  key.push_back(static_cast<char>(op));
  key.push_back(static_cast<char>(type));
  key.append(name);
  auto it = cache->decisions.find(key);
  if (it != cache->decisions.end()) {
    stats_.cache_hits.fetch_add(1, std::memory_order_relaxed);
    if (count) Count(it->second);
    return it->second;
  }
  // A decision cached against the generation read before it was made: a
  // change in between bumps the generation and drops it at the next call.
  const bool allowed = Decide(principal, host, op, type, name);
  if (count) Count(allowed);
  if (cache->decisions.size() >= 4096) cache->decisions.clear();  // bounded per connection
  cache->decisions.emplace(std::move(key), allowed);
  return allowed;
}

std::vector<Status> Authorizer::Add(const std::vector<AclBinding>& bindings) {
  std::vector<Status> out(bindings.size());
  // Changes one at a time; decisions go on (shared) while the file is written.
  std::lock_guard w(write_mu_);
  std::set<AclBinding> next;
  {
    std::shared_lock l(mu_);
    next = acls_;
  }
  bool changed = false;
  for (size_t i = 0; i < bindings.size(); i++) {
    const std::string why = InvalidBindingReason(bindings[i]);
    if (!why.empty()) {
      out[i] = Status::InvalidArgument(why);
      continue;
    }
    changed |= next.insert(bindings[i]).second;
  }
  if (!changed) return out;
  Status s = Save(next);
  if (!s.ok()) {
    for (auto& st : out) {
      if (st.ok()) st = s;
    }
    return out;
  }
  Install(std::move(next));
  return out;
}

Result<std::vector<std::vector<AclBinding>>> Authorizer::Remove(
    const std::vector<AclFilter>& filters) {
  std::vector<std::vector<AclBinding>> removed(filters.size());
  std::lock_guard w(write_mu_);
  std::set<AclBinding> before;
  {
    std::shared_lock l(mu_);
    before = acls_;
  }
  std::set<AclBinding> next = before;
  bool changed = false;
  for (size_t i = 0; i < filters.size(); i++) {
    // Each filter reports what it matches of the ACLs before the request,
    // as Kafka does: two filters matching one ACL both name it.
    for (const AclBinding& b : before) {
      if (!filters[i].Matches(b)) continue;
      removed[i].push_back(b);
      changed |= next.erase(b) > 0;
    }
  }
  if (!changed) return removed;
  SENTRY_RETURN_IF_ERROR(Save(next));
  Install(std::move(next));
  return removed;
}

void Authorizer::Install(std::set<AclBinding> acls) {
  std::unique_lock l(mu_);
  acls_ = std::move(acls);
  generation_.fetch_add(1, std::memory_order_acq_rel);
}

std::vector<AclBinding> Authorizer::List(const AclFilter& filter) const {
  std::shared_lock l(mu_);
  std::vector<AclBinding> out;
  for (const AclBinding& b : acls_) {
    if (filter.Matches(b)) out.push_back(b);
  }
  return out;
}

Status Authorizer::Save(const std::set<AclBinding>& acls) const {
  std::string text;
  for (const AclBinding& b : acls) {
    text += std::string(Name(b.resource_type)) + " " + std::string(Name(b.pattern_type)) + " " +
            Base64Encode(b.resource_name) + " " + Base64Encode(b.principal) + " " +
            Base64Encode(b.host) + " " + std::string(Name(b.operation)) + " " +
            std::string(Name(b.permission)) + "\n";
  }
  return WriteFileAtomically(path_, text, 0600);
}

}  // namespace sentry::security
