// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), as RecordBatch v2 uses.
// Any thread; no state beyond a table built at static-init time.
#pragma once

#include <cstddef>
#include <cstdint>

namespace sentry {

// Extends `crc` (0 to start) over data[0..n). Uses the SSE4.2 crc32
// instruction when the CPU has it, else the table-driven fallback.
uint32_t Crc32c(const void* data, size_t n, uint32_t crc = 0);

// Both paths, exposed so tests can check them against each other.
uint32_t Crc32cPortable(const void* data, size_t n, uint32_t crc = 0);
uint32_t Crc32cHardware(const void* data, size_t n, uint32_t crc = 0);  // needs SSE4.2
bool Crc32cHardwareAvailable();

}  // namespace sentry
