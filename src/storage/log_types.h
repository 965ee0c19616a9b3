// Named types for the two 32-bit quantities of a segment that are easy to
// swap where they cross functions: an offset relative to the segment's base,
// and a byte position in the segment's .log. Both are plain uint32_t inside
// a function; wrapping them at the boundary makes
// IndexBatches(pos, rel, end) with two arguments swapped a compile error.
// (Absolute offsets stay int64_t, as in the protocol.)
#pragma once

#include <compare>
#include <cstdint>

namespace sentry {

struct RelativeOffset {
  constexpr explicit RelativeOffset(uint32_t v = 0) : value(v) {}
  auto operator<=>(const RelativeOffset&) const = default;
  uint32_t value;
};

struct LogPosition {
  constexpr explicit LogPosition(uint32_t v = 0) : value(v) {}
  auto operator<=>(const LogPosition&) const = default;
  uint32_t value;
};

}  // namespace sentry
