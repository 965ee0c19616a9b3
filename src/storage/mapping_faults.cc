#include "storage/mapping_faults.h"

#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <vector>

#include <spdlog/spdlog.h>

namespace sentry {

namespace {

struct Slot {
  std::atomic<uintptr_t> base{0};  // 0: free
  std::atomic<size_t> len{0};
  std::atomic<uint64_t> fault{0};  // 0: none; else the first fault's position + 1
};

// Enough for 10,000 partitions with several segments each (three mappings a
// segment); a slot costs 24 bytes of address space until it is used.
constexpr size_t kSlots = 1u << 20;
Slot g_slots[kSlots];
std::atomic<size_t> g_high_water{0};  // slots [0, g_high_water) were ever used
std::atomic<uint64_t> g_faults{0};
uintptr_t g_page = 4096;              // set before the handler is installed
std::mutex g_mu;                      // Register/Unregister
std::vector<int>* g_free = nullptr;   // freed slots, under g_mu
struct sigaction g_previous {};
std::once_flag g_installed;

void OnSigbus(int sig, siginfo_t* info, void* context) {
  const uintptr_t addr = reinterpret_cast<uintptr_t>(info->si_addr);
  const size_t used = g_high_water.load(std::memory_order_acquire);
  for (size_t i = 0; i < used; i++) {
    Slot& s = g_slots[i];
    uintptr_t base = s.base.load(std::memory_order_acquire);
    if (base == 0 || addr < base || addr - base >= s.len.load(std::memory_order_acquire)) continue;
    uint64_t none = 0;
    s.fault.compare_exchange_strong(none, addr - base + 1, std::memory_order_acq_rel);
    g_faults.fetch_add(1, std::memory_order_relaxed);
    const uintptr_t page = addr & ~(g_page - 1);
    void* p = ::mmap(reinterpret_cast<void*>(page), g_page,
                     PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    if (p != MAP_FAILED) return;  // the faulting instruction runs again, on zeros
    break;
  }
  // Not a registered mapping (or the page could not be replaced): what would
  // have happened without this handler.
  if ((g_previous.sa_flags & SA_SIGINFO) && g_previous.sa_sigaction) {
    g_previous.sa_sigaction(sig, info, context);
    return;
  }
  if (g_previous.sa_handler != SIG_DFL && g_previous.sa_handler != SIG_IGN) {
    g_previous.sa_handler(sig);
    return;
  }
  ::signal(SIGBUS, SIG_DFL);  // returning re-runs the access: it faults again and kills
}

}  // namespace

void MappingFaults::InstallHandler() {
  std::call_once(g_installed, [] {
    g_page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
    struct sigaction sa {};
    sa.sa_sigaction = OnSigbus;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    ::sigaction(SIGBUS, &sa, &g_previous);
  });
}

int MappingFaults::Register(const void* base, size_t len) {
  std::lock_guard<std::mutex> l(g_mu);
  if (!g_free) g_free = new std::vector<int>();  // never freed: used until exit
  int slot;
  if (!g_free->empty()) {
    slot = g_free->back();
    g_free->pop_back();
  } else {
    size_t next = g_high_water.load(std::memory_order_relaxed);
    if (next >= kSlots) {
      static bool warned = false;  // under g_mu
      if (!warned) {
        spdlog::warn("more than {} files mapped: files mapped from now on are not guarded "
                     "against SIGBUS (an unreadable page of one kills the broker)", kSlots);
        warned = true;
      }
      return -1;
    }
    slot = static_cast<int>(next);
  }
  Slot& s = g_slots[slot];
  s.fault.store(0, std::memory_order_relaxed);
  s.len.store(len, std::memory_order_relaxed);
  s.base.store(reinterpret_cast<uintptr_t>(base), std::memory_order_release);
  if (static_cast<size_t>(slot) >= g_high_water.load(std::memory_order_relaxed)) {
    g_high_water.store(static_cast<size_t>(slot) + 1, std::memory_order_release);
  }
  return slot;
}

void MappingFaults::Unregister(int slot) {
  if (slot < 0) return;
  std::lock_guard<std::mutex> l(g_mu);
  g_slots[slot].base.store(0, std::memory_order_release);
  g_free->push_back(slot);
}

bool MappingFaults::Faulted(int slot, uint64_t* position) {
  if (slot < 0) return false;
  uint64_t f = g_slots[slot].fault.load(std::memory_order_acquire);
  if (f == 0) return false;
  if (position) *position = f - 1;
  return true;
}

uint64_t MappingFaults::FaultCount() { return g_faults.load(std::memory_order_relaxed); }

}  // namespace sentry
