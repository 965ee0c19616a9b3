// Appender: the steps of one append, whichever thread runs them: the
// partition's writer, or a network thread appending inline
// (Pipeline::TryAppendInline). The caller holds the partition's append lock,
// so a partition still has exactly one appender at any moment; only which
// thread that is may change from one request to the next.
//
// After the append it decides where the answer goes: to the caller (who
// delivers it to the asking network thread), or to the flusher, for
// durability (acks=-1, flush.messages) or to stay behind an earlier answer of
// the same partition that waits there.
#pragma once

#include <functional>

#include "pipeline/flusher.h"
#include "pipeline/write_request.h"

namespace sentry::pipeline {

struct WriterStats {
  std::atomic<uint64_t> records_in{0};
  std::atomic<uint64_t> bytes_in{0};
  std::atomic<uint64_t> errors{0};
};

class Appender {
 public:
  explicit Appender(Flusher* flusher) : flusher_(flusher) {}

  // Caller holds p->append_mu(), p == req->partition. Appends req (or records
  // why not in req->status) and returns it when the caller is to answer it now;
  // returns null when the flusher took it. `post_earlier` runs before a
  // request goes to the flusher for a sync: answers of this partition the
  // caller still holds must reach their network thread first, or the flusher
  // could answer this one before them. `*appended` (may be null) tells
  // whether the log grew.
  WriteRequestPtr Append(Partition* p, WriteRequestPtr req, WriterStats* stats,
                         const std::function<void()>& post_earlier, bool* appended)
      REQUIRES(p->append_mu());

 private:
  // Where an answer goes when nothing needs syncing: null when it had to
  // queue behind an earlier answer of its partition in the flusher, else
  // `req` back to the caller.
  WriteRequestPtr Route(WriteRequestPtr req);
  // Appends req's batches; with producer ids, checks them first (a duplicate
  // returns base_offset -1 with req->info set to the stored copy).
  static Result<AppendInfo> AppendChecked(Partition* p, WriteRequest* req);

  Flusher* const flusher_;
};

}  // namespace sentry::pipeline
