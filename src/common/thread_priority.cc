#include "common/thread_priority.h"

#include <pthread.h>
#include <sched.h>

#include <cstring>
#include <string>

namespace sentry {

Status SetRealtimePriority(std::thread& t, int priority) {
  sched_param sp{};
  sp.sched_priority = priority;
  const int rc = ::pthread_setschedparam(t.native_handle(), SCHED_FIFO, &sp);
  if (rc != 0) {
    return Status::InvalidArgument("SCHED_FIFO priority " + std::to_string(priority) + ": " +
                                   std::strerror(rc) +
                                   (rc == EPERM ? " (needs CAP_SYS_NICE or RLIMIT_RTPRIO)" : ""));
  }
  return Status::OK();
}

}  // namespace sentry
