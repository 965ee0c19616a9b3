#include "common/file_util.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <fstream>
#include <sstream>

namespace sentry {

namespace {
std::string DirOf(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash == 0 ? 1 : slash);
}
}  // namespace

Status SyncDirectory(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Status::FromErrno(errno, "open dir " + dir);
  int r = ::fsync(fd);
  int e = errno;
  ::close(fd);
  if (r != 0) return Status::FromErrno(e, "fsync dir " + dir);
  return Status::OK();
}

Status WriteFileAtomically(const std::string& path, const std::string& contents, unsigned mode) {
  // A short temp name in the same directory: `path` may already be close to
  // NAME_MAX (a 249-character topic name), so no suffix is appended to it.
  static std::atomic<uint64_t> counter{0};
  std::string tmp = DirOf(path) + "/.tmp-" + std::to_string(::getpid()) + "-" +
                    std::to_string(counter.fetch_add(1));
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return Status::FromErrno(errno, "create " + tmp);
  size_t done = 0;
  while (done < contents.size()) {
    ssize_t n = ::write(fd, contents.data() + done, contents.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      return Status::FromErrno(e, "write " + tmp);
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    int e = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    return Status::FromErrno(e, "fsync " + tmp);
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    return Status::FromErrno(e, "rename " + tmp);
  }
  return SyncDirectory(DirOf(path));
}

Status RemoveFileDurably(const std::string& path) {
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return Status::FromErrno(errno, "unlink " + path);
  }
  return SyncDirectory(DirOf(path));
}

Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound("cannot open " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Status CheckDataDirUnlocked(const std::string& data_dir) {
  const std::string path = data_dir + "/" + kDataDirLockFile;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::OK();  // no lock file: no broker ever ran here
  const bool held = ::flock(fd, LOCK_EX | LOCK_NB) != 0;
  ::close(fd);  // drops our lock too, if we got it
  if (held) {
    return Status::Unavailable("a sentryd runs on " + data_dir +
                               ": stop it first, or change it online (--kafka)");
  }
  return Status::OK();
}

}  // namespace sentry
