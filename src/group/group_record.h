// GroupRecord: what the offsets log keeps of a group besides its offsets
// (kind, generation, protocol), so that after a restart the group is back,
// Empty, at the generation it had; its members rejoin.
//
// In the offsets log a group record's key is `group \0 \0 "group"` (a
// commit's key is `group \0 topic \0 partition`, and a topic name is never
// empty, so the two cannot meet); a null value deletes the group.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sentry::group {

enum class GroupKind : uint8_t { kClassic = 0, kNative = 1 };

struct GroupRecord {
  GroupKind kind = GroupKind::kClassic;
  int32_t generation = 0;  // classic: generation id; native: group epoch
  std::string protocol_type;
  std::string protocol_name;

  std::string Encode() const;
  // nullopt when the bytes are not a group record this version understands.
  static std::optional<GroupRecord> Decode(std::string_view bytes);
};

}  // namespace sentry::group
