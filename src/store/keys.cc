#include "store/keys.h"

namespace segmenta {
namespace {
constexpr uint64_t kSignBit = uint64_t{1} << 63;
}  // namespace

void AppendBigEndian64(uint64_t v, std::string* out) {
  char buf[8];
  for (int i = 7; i >= 0; --i) {
    buf[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
  out->append(buf, 8);
}

uint64_t ReadBigEndian64(std::string_view bytes) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(bytes[i]);
  return v;
}

std::string ContactKey(ContactId id) {
  std::string key;
  AppendBigEndian64(id, &key);
  return key;
}

ContactId DecodeContactKey(std::string_view key) { return ReadBigEndian64(key); }

std::string IdentityKey(char kind, std::string_view value) {
  std::string key;
  key.reserve(value.size() + 2);
  key.push_back(kind);
  key.push_back(':');
  key.append(value);
  return key;
}

std::string ActivitySeqKey(uint64_t seq) {
  std::string key;
  AppendBigEndian64(seq, &key);
  return key;
}

std::string ActivityKey(ContactId contact, int64_t time_ms, uint64_t seq) {
  std::string key;
  key.reserve(24);
  AppendBigEndian64(contact, &key);
  AppendBigEndian64(static_cast<uint64_t>(time_ms) ^ kSignBit, &key);
  AppendBigEndian64(seq, &key);
  return key;
}

std::string ActivityPrefix(ContactId contact) { return ContactKey(contact); }

ActivityKeyParts DecodeActivityKey(std::string_view key) {
  return {ReadBigEndian64(key), static_cast<int64_t>(ReadBigEndian64(key.substr(8)) ^ kSignBit),
          ReadBigEndian64(key.substr(16))};
}

std::string AccountMemberKey(std::string_view group_id, ContactId contact) {
  std::string key = AccountMemberPrefix(group_id);
  AppendBigEndian64(contact, &key);
  return key;
}

std::string AccountMemberPrefix(std::string_view group_id) {
  std::string key(group_id);
  key.push_back('\0');
  return key;
}

std::string JobKey(uint64_t id) {
  std::string key(kJobKeyPrefix);
  AppendBigEndian64(id, &key);
  return key;
}

uint64_t DecodeJobKey(std::string_view key) {
  return ReadBigEndian64(key.substr(kJobKeyPrefix.size()));
}

}  // namespace segmenta
