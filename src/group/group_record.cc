#include "group/group_record.h"

#include "common/endian.h"

namespace sentry::group {

namespace {
constexpr uint8_t kVersion = 1;

void PutShortString(std::string* out, const std::string& s) {
  uint8_t len[2];
  PutU16(len, static_cast<uint16_t>(s.size()));
  out->append(reinterpret_cast<const char*>(len), 2);
  out->append(s);
}

bool GetString(std::string_view* in, std::string* s) {
  if (in->size() < 2) return false;
  const uint16_t n = GetU16(reinterpret_cast<const uint8_t*>(in->data()));
  if (in->size() < 2u + n) return false;
  s->assign(in->substr(2, n));
  in->remove_prefix(2 + n);
  return true;
}
}  // namespace

// version u8, kind u8, generation i32, protocol type and name as u16-length strings.
std::string GroupRecord::Encode() const {
  std::string out;
  out.push_back(static_cast<char>(kVersion));
  out.push_back(static_cast<char>(kind));
  uint8_t gen[4];
  PutU32(gen, static_cast<uint32_t>(generation));
  out.append(reinterpret_cast<const char*>(gen), 4);
  PutShortString(&out, protocol_type.substr(0, 0xffff));
  PutShortString(&out, protocol_name.substr(0, 0xffff));
  return out;
}

std::optional<GroupRecord> GroupRecord::Decode(std::string_view in) {
  if (in.size() < 6 || static_cast<uint8_t>(in[0]) != kVersion) return std::nullopt;
  GroupRecord r;
  const auto kind = static_cast<uint8_t>(in[1]);
  if (kind > 1) return std::nullopt;
  r.kind = static_cast<GroupKind>(kind);
  r.generation = static_cast<int32_t>(GetU32(reinterpret_cast<const uint8_t*>(in.data() + 2)));
  in.remove_prefix(6);
  if (!GetString(&in, &r.protocol_type) || !GetString(&in, &r.protocol_name)) return std::nullopt;
  return r;
}

}  // namespace sentry::group
