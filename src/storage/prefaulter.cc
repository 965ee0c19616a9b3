#include "storage/prefaulter.h"

#include <algorithm>

#include "storage/mapped_file.h"

namespace sentry {

Prefaulter::Prefaulter() : thread_([this] { Run(); }) {}

Prefaulter::~Prefaulter() {
  stop_.store(true);
  Kick();
  thread_.join();
}

void Prefaulter::Register(MappedFile* f) {
  {
    MutexLock l(&mu_);
    files_.push_back(f);
  }
  Kick();
}

void Prefaulter::Unregister(MappedFile* f) {
  MutexLock l(&mu_);  // waits out an in-progress PrefaultStep on f
  files_.erase(std::remove(files_.begin(), files_.end(), f), files_.end());
}

void Prefaulter::Run() {
  while (!stop_.load()) {
    const uint32_t seen = seq_.load(std::memory_order_acquire);
    bool more = false;
    {
      // One bounded step per file per pass; the lock is dropped between
      // passes so Register/Unregister never wait long.
      MutexLock l(&mu_);
      for (MappedFile* f : files_) more |= f->PrefaultStep();
    }
    if (!more) seq_.wait(seen, std::memory_order_acquire);
  }
}

}  // namespace sentry
