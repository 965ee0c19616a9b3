// Which partition of the offsets log (`__consumer_offsets`) keeps a group,
// and so which broker coordinates it: Kafka's rule,
//   abs(groupId.hashCode()) % partitions
// with Java's String.hashCode (s[0]*31^(n-1) + ... + s[n-1] over the UTF-16
// code units, in 32-bit two's complement) and Kafka's Utils.abs (abs, with
// Integer.MIN_VALUE mapped to 0). A group id in valid UTF-8 lands on the same
// partition number as in Kafka. Any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace sentry {

// Java's String.hashCode of the string whose UTF-8 bytes are `utf8`. Bytes
// that are not valid UTF-8 count as one U+FFFD each (Java's decoder may
// count a truncated sequence once; Kafka clients send valid UTF-8, and broker
// and native client agree on any id either way).
inline int32_t JavaStringHash(std::string_view utf8) {
  uint32_t h = 0;
  auto add = [&h](uint32_t unit) { h = h * 31u + unit; };
  const auto* s = reinterpret_cast<const unsigned char*>(utf8.data());
  const size_t n = utf8.size();
  size_t i = 0;
  while (i < n) {
    const unsigned char c = s[i];
    uint32_t cp = 0xFFFD;
    size_t len = 1;
    size_t need = 0;
    uint32_t min = 0;
    if (c < 0x80) {
      cp = c;
    } else if ((c & 0xE0) == 0xC0) {
      need = 1, cp = c & 0x1F, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
      need = 2, cp = c & 0x0F, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
      need = 3, cp = c & 0x07, min = 0x10000;
    }
    if (need > 0) {
      bool ok = i + need < n;  // the continuation bytes are there
      for (size_t k = 1; ok && k <= need; k++) {
        if ((s[i + k] & 0xC0) != 0x80) ok = false;
        else cp = (cp << 6) | (s[i + k] & 0x3F);
      }
      if (ok && cp >= min && cp <= 0x10FFFF && (cp < 0xD800 || cp > 0xDFFF)) {
        len = need + 1;
      } else {
        cp = 0xFFFD;
      }
    }
    if (cp >= 0x10000) {  // a surrogate pair in UTF-16
      add(0xD800 + ((cp - 0x10000) >> 10));
      add(0xDC00 + ((cp - 0x10000) & 0x3FF));
    } else {
      add(cp);
    }
    i += len;
  }
  return static_cast<int32_t>(h);
}

// The offsets-log partition of `group` among `partitions` (> 0).
inline int32_t OffsetsPartitionFor(std::string_view group, int32_t partitions) {
  const int32_t h = JavaStringHash(group);
  const int32_t abs = h == INT32_MIN ? 0 : (h < 0 ? -h : h);
  return abs % partitions;
}

}  // namespace sentry
