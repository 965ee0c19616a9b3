// MappingFaults: a read of a mapped page that the kernel cannot fill (an I/O
// error under the mapping, or the file truncated under it) raises SIGBUS,
// which would kill the whole broker. Every MappedFile registers its mapping
// here; the SIGBUS handler looks the faulting address up, records the fault
// in that mapping's slot, and maps a zero page over the faulting page so the
// interrupted instruction can finish. The owner then sees the fault
// (Faulted) and takes its partition offline: reads answer
// KAFKA_STORAGE_ERROR, appends and syncs fail, so nothing that landed in the
// substituted page is ever acknowledged or served. A SIGBUS at an address no
// mapping registered goes to the handler installed before (or kills the
// process, as it would have).
//
// Why not sigsetjmp around every access: the accesses are everywhere a batch
// header, an index slot or a CRC is read, and jumping out of them would skip
// destructors and leave locks held. The substituted page keeps every code path
// running; the slot check at the points that answer clients stops its bytes.
//
// Threads: Register/Unregister from any thread (a mutex); Faulted from any
// thread (atomics); the handler touches only atomics and calls mmap(2).
#pragma once

#include <cstddef>
#include <cstdint>

namespace sentry {

class MappingFaults {
 public:
  // Installs the SIGBUS handler once (later calls do nothing).
  static void InstallHandler();
  // A slot for [base, base + len), or -1 when every slot is taken (that
  // mapping is then unguarded: a SIGBUS on it kills the process as before).
  static int Register(const void* base, size_t len);
  static void Unregister(int slot);
  // Whether a SIGBUS hit the slot's mapping; *position: the byte offset into
  // the mapping of the first fault.
  static bool Faulted(int slot, uint64_t* position);
  // Faults handled since the start (all mappings), for metrics and tests.
  static uint64_t FaultCount();
};

}  // namespace sentry
