#include "storage/segment_swap.h"

#include <dirent.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>

#include "common/file_util.h"
#include "storage/segment.h"

namespace sentry {

namespace {

constexpr const char* kExts[3] = {".log", ".index", ".timeindex"};

Status Fault(const SwapFaultHook& fault, std::string_view step) {
  if (fault && !fault(step)) return Status::IoError(fmt::format("fault injected at {}", step));
  return Status::OK();
}

bool Exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

Status Rename(const std::string& from, const std::string& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) {
    return Status::FromErrno(errno, "rename " + from + " to " + to);
  }
  return Status::OK();
}

Status Unlink(const std::string& path) {
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return Status::FromErrno(errno, "unlink " + path);
  }
  return Status::OK();
}

// Names in `dir` that end with `suffix`.
Result<std::vector<std::string>> NamesEndingWith(const std::string& dir, std::string_view suffix) {
  DIR* d = ::opendir(dir.c_str());
  if (!d) return Status::FromErrno(errno, "opendir " + dir);
  std::vector<std::string> out;
  while (struct dirent* e = ::readdir(d)) {
    std::string_view name = e->d_name;
    if (name.size() > suffix.size() && name.substr(name.size() - suffix.size()) == suffix) {
      out.emplace_back(name);
    }
  }
  ::closedir(d);
  return out;
}

// Base offsets of the segment files (any of the three, final names) in
// [base, end).
Result<std::vector<int64_t>> BasesIn(const std::string& dir, int64_t base, int64_t end) {
  std::vector<int64_t> out;
  for (const char* ext : kExts) {
    SENTRY_ASSIGN_OR_RETURN(auto names, NamesEndingWith(dir, ext));
    for (const std::string& n : names) {
      if (n.size() != 20 + std::string_view(ext).size() ||
          n.find_first_not_of("0123456789") != 20) {
        continue;
      }
      const int64_t b = std::strtoll(n.c_str(), nullptr, 10);
      if (b >= base && b < end) out.push_back(b);
    }
  }
  return out;
}

Status RenameOldToDeleted(const std::string& dir, const std::vector<int64_t>& bases,
                          const SwapFaultHook& fault) {
  for (int64_t b : bases) {
    for (const char* ext : kExts) {
      const std::string from = Segment::FileName(dir, b, ext);
      if (!Exists(from)) continue;
      SENTRY_RETURN_IF_ERROR(Rename(from, from + kDeletedSuffix));
      SENTRY_RETURN_IF_ERROR(Fault(fault, "rename old segment file to .deleted"));
    }
  }
  SENTRY_RETURN_IF_ERROR(SyncDirectory(dir));
  return Fault(fault, "fsync after .deleted renames");
}

// Step 3: the log first, so "`<base>.log.cleaned` exists" means step 3 has
// not begun.
Status RenameCleanedToFinal(const std::string& dir, int64_t base, const SwapFaultHook& fault) {
  for (const char* ext : kExts) {
    const std::string to = Segment::FileName(dir, base, ext);
    const std::string from = to + kCleanedSuffix;
    if (!Exists(from)) continue;
    SENTRY_RETURN_IF_ERROR(Rename(from, to));
    SENTRY_RETURN_IF_ERROR(Fault(fault, "rename .cleaned to final name"));
  }
  SENTRY_RETURN_IF_ERROR(SyncDirectory(dir));
  return Fault(fault, "fsync after final renames");
}

Result<int> RemoveAllEndingWith(const std::string& dir, const char* suffix) {
  SENTRY_ASSIGN_OR_RETURN(auto names, NamesEndingWith(dir, suffix));
  for (const std::string& n : names) SENTRY_RETURN_IF_ERROR(Unlink(dir + "/" + n));
  if (!names.empty()) SENTRY_RETURN_IF_ERROR(SyncDirectory(dir));
  return static_cast<int>(names.size());
}

}  // namespace

std::string SwapFileName(const std::string& dir, int64_t base, const char* ext,
                         const char* suffix) {
  return Segment::FileName(dir, base, ext) + suffix;
}

Status CommitSwap(const std::string& dir, int64_t base, int64_t end,
                  const std::vector<int64_t>& old_bases, const SwapFaultHook& fault) {
  SENTRY_RETURN_IF_ERROR(Fault(fault, "cleaned files written"));
  SENTRY_RETURN_IF_ERROR(
      WriteFileAtomically(dir + "/" + kSwapManifest, fmt::format("{} {}\n", base, end)));
  SENTRY_RETURN_IF_ERROR(Fault(fault, "manifest written"));
  SENTRY_RETURN_IF_ERROR(RenameOldToDeleted(dir, old_bases, fault));
  return RenameCleanedToFinal(dir, base, fault);
}

Status FinishSwap(const std::string& dir, const std::vector<int64_t>& old_bases,
                  const SwapFaultHook& fault) {
  SENTRY_RETURN_IF_ERROR(RemoveFileDurably(dir + "/" + kSwapManifest));
  SENTRY_RETURN_IF_ERROR(Fault(fault, "manifest removed"));
  for (int64_t b : old_bases) {
    for (const char* ext : kExts) {
      SENTRY_RETURN_IF_ERROR(Unlink(SwapFileName(dir, b, ext, kDeletedSuffix)));
      SENTRY_RETURN_IF_ERROR(Fault(fault, "unlink .deleted file"));
    }
  }
  return SyncDirectory(dir);
}

Status RecoverSwap(const std::string& dir, SwapRecovery* out) {
  *out = SwapRecovery{};
  const std::string manifest = dir + "/" + kSwapManifest;
  if (Exists(manifest)) {
    // A manifest that cannot be read is not taken for a missing one: that
    // would remove the cleaned files of a committed swap.
    auto text = ReadFile(manifest);
    if (!text.ok()) return text.status();
    int64_t base = -1, end = -1;
    if (std::sscanf(text->c_str(), "%" SCNd64 " %" SCNd64, &base, &end) != 2 || base < 0 ||
        end < base) {
      return Status::Corruption(manifest + ": not a range of offsets");
    }
    if (Exists(SwapFileName(dir, base, ".log", kCleanedSuffix))) {
      // Step 2 may be partial: whatever still carries a final name in the
      // range is old (step 3 renames the new log first).
      SENTRY_ASSIGN_OR_RETURN(auto old, BasesIn(dir, base, end));
      SENTRY_RETURN_IF_ERROR(RenameOldToDeleted(dir, old, {}));
    }
    SENTRY_RETURN_IF_ERROR(RenameCleanedToFinal(dir, base, {}));
    SENTRY_RETURN_IF_ERROR(RemoveFileDurably(manifest));
    out->completed = true;
  }
  // No manifest (any more): `.cleaned` files belong to a clean that never
  // committed, `.deleted` ones to a swap that completed.
  SENTRY_ASSIGN_OR_RETURN(out->cleaned_removed, RemoveAllEndingWith(dir, kCleanedSuffix));
  SENTRY_ASSIGN_OR_RETURN(out->deleted_removed, RemoveAllEndingWith(dir, kDeletedSuffix));
  return Status::OK();
}

}  // namespace sentry
