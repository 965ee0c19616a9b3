#include "recovery/producer_state_loader.h"

namespace sentry::recovery {

Status RebuildProducerState(PartitionLog* log, ProducerRebuild* out) {
  *out = ProducerRebuild{};
  // The rebuild lives with the log (PartitionLog::ReloadProducers), which
  // also needs it when a truncation drops batches the state remembers.
  PartitionLog::ProducerReload reload;
  SENTRY_RETURN_IF_ERROR(log->ReloadProducers(&reload));
  out->from_snapshot = reload.from_snapshot;
  out->batches_replayed = reload.batches_replayed;
  out->producers = reload.producers;
  return Status::OK();
}

}  // namespace sentry::recovery
