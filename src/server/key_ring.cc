#include "server/key_ring.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>

#include "core/json_writer.h"
#include "core/status.h"
#include "fmt/format.h"
#include "simdjson.h"

namespace segmenta {
namespace {

constexpr char kHexDigits[] = "0123456789abcdef";

std::string Hex(const unsigned char* bytes, size_t n) {
  std::string out;
  out.reserve(2 * n);
  for (size_t i = 0; i < n; ++i) {
    out.push_back(kHexDigits[bytes[i] >> 4]);
    out.push_back(kHexDigits[bytes[i] & 0xf]);
  }
  return out;
}

absl::StatusOr<std::string> RandomHex(size_t bytes) {
  unsigned char buffer[64];
  if (bytes > sizeof(buffer) || RAND_bytes(buffer, static_cast<int>(bytes)) != 1) {
    return absl::InternalError("OpenSSL RAND_bytes failed");
  }
  return Hex(buffer, bytes);
}

// Hex SHA-256 of `secret`: the store key of a secret.
absl::StatusOr<std::string> Digest(std::string_view secret) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  // Fetched once: EVP_sha256() makes OpenSSL 3 look the algorithm up in its providers on
  // every digest, which cost more than the hashing (every collection and decide request).
  static EVP_MD* const sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  if (sha256 == nullptr ||
      EVP_Digest(secret.data(), secret.size(), md, &len, sha256, nullptr) != 1) {
    return absl::InternalError("OpenSSL SHA-256 failed");
  }
  return Hex(md, len);
}

std::string_view SecretPrefix(KeyKind kind) {
  switch (kind) {
    case KeyKind::kWrite:
      return "sk_";
    case KeyKind::kAdmin:
      return "adm_";
    case KeyKind::kRead:
      return "ro_";
  }
  return "sk_";
}

std::string EncodeRecord(const KeyRecord& record) {
  JsonWriter w;
  w.BeginObject()
      .Field("id", record.id)
      .Field("name", record.name)
      .Field("kind", KeyKindName(record.kind))
      .Field("created", record.created_ms)
      .EndObject();
  return w.Take();
}

absl::StatusOr<KeyRecord> DecodeRecord(std::string_view bytes) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  std::string_view id, name, kind;
  int64_t created = 0;
  if (parser.parse(bytes.data(), bytes.size()).get(doc) != simdjson::SUCCESS ||
      doc["id"].get(id) != simdjson::SUCCESS || doc["name"].get(name) != simdjson::SUCCESS ||
      doc["kind"].get(kind) != simdjson::SUCCESS ||
      doc["created"].get(created) != simdjson::SUCCESS) {
    return absl::DataLossError("malformed key record in the keys family");
  }
  KeyRecord record;
  record.id = std::string(id);
  record.name = std::string(name);
  record.created_ms = created;
  if (!ParseKeyKind(kind, &record.kind)) {
    return absl::DataLossError(fmt::format("key record {} has an unknown kind '{}'", id, kind));
  }
  return record;
}

}  // namespace

std::string_view KeyKindName(KeyKind kind) {
  switch (kind) {
    case KeyKind::kWrite:
      return "write";
    case KeyKind::kAdmin:
      return "admin";
    case KeyKind::kRead:
      return "read";
  }
  return "write";
}

bool ParseKeyKind(std::string_view name, KeyKind* kind) {
  if (name == "write") {
    *kind = KeyKind::kWrite;
  } else if (name == "admin") {
    *kind = KeyKind::kAdmin;
  } else if (name == "read") {
    *kind = KeyKind::kRead;
  } else {
    return false;
  }
  return true;
}

absl::StatusOr<std::unique_ptr<KeyRing>> KeyRing::Load(Store* store) {
  std::unique_ptr<KeyRing> ring(new KeyRing(store));
  std::unique_ptr<rocksdb::Iterator> it = store->NewIterator(Family::kKeys);
  absl::MutexLock lock(&ring->mu_);
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    SEGMENTA_ASSIGN_OR_RETURN(KeyRecord record, DecodeRecord(it->value().ToStringView()));
    ring->by_digest_.emplace(it->key().ToString(), std::move(record));
  }
  SEGMENTA_RETURN_IF_ERROR(FromRocks(it->status(), "reading the keys family"));
  return ring;
}

absl::StatusOr<std::pair<KeyRecord, std::string>> KeyRing::Create(KeyKind kind,
                                                                  std::string_view name,
                                                                  int64_t now_ms) {
  SEGMENTA_ASSIGN_OR_RETURN(std::string random, RandomHex(20));
  std::string secret = fmt::format("{}{}", SecretPrefix(kind), random);
  SEGMENTA_ASSIGN_OR_RETURN(std::string digest, Digest(secret));
  // The id is drawn independently of the secret, so that it reveals nothing about it.
  SEGMENTA_ASSIGN_OR_RETURN(std::string id_hex, RandomHex(8));
  KeyRecord record;
  record.id = "key_" + id_hex;
  record.name = std::string(name);
  record.kind = kind;
  record.created_ms = now_ms;

  rocksdb::WriteBatch batch;
  rocksdb::Status put = batch.Put(store_->handle(Family::kKeys), digest, EncodeRecord(record));
  SEGMENTA_RETURN_IF_ERROR(FromRocks(put, "staging a key"));
  SEGMENTA_RETURN_IF_ERROR(store_->Write(&batch, /*sync=*/true));
  absl::MutexLock lock(&mu_);
  by_digest_[digest] = record;
  return std::make_pair(std::move(record), std::move(secret));
}

absl::Status KeyRing::Revoke(std::string_view id) {
  absl::MutexLock lock(&mu_);
  auto it = std::find_if(by_digest_.begin(), by_digest_.end(),
                         [&](const auto& entry) { return entry.second.id == id; });
  if (it == by_digest_.end()) return absl::NotFoundError(fmt::format("no key with id '{}'", id));
  rocksdb::WriteBatch batch;
  SEGMENTA_RETURN_IF_ERROR(
      FromRocks(batch.Delete(store_->handle(Family::kKeys), it->first), "staging a revocation"));
  SEGMENTA_RETURN_IF_ERROR(store_->Write(&batch, /*sync=*/true));
  by_digest_.erase(it);
  return absl::OkStatus();
}

std::vector<KeyRecord> KeyRing::List() const {
  std::vector<KeyRecord> records;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [digest, record] : by_digest_) records.push_back(record);
  }
  std::sort(records.begin(), records.end(), [](const KeyRecord& a, const KeyRecord& b) {
    return a.created_ms != b.created_ms ? a.created_ms < b.created_ms : a.id < b.id;
  });
  return records;
}

absl::StatusOr<KeyRecord> KeyRing::Check(std::string_view secret) const {
  // The digest of the last secret this thread hashed: a client sends the same key with every
  // request, and hashing it again was 3 % of a decision's CPU. The secret is compared in
  // constant time and kept only in this process's memory, as the request itself was.
  thread_local std::string last_secret, last_digest;
  std::string digest;
  if (!secret.empty() && secret.size() == last_secret.size() &&
      CRYPTO_memcmp(secret.data(), last_secret.data(), secret.size()) == 0) {
    digest = last_digest;
  } else {
    SEGMENTA_ASSIGN_OR_RETURN(digest, Digest(secret));
    last_secret.assign(secret.data(), secret.size());
    last_digest = digest;
  }
  absl::MutexLock lock(&mu_);
  auto it = by_digest_.find(digest);
  // The hash lookup works on the digest, never the secret; the final comparison is
  // constant-time regardless.
  if (it == by_digest_.end() || it->first.size() != digest.size() ||
      CRYPTO_memcmp(it->first.data(), digest.data(), digest.size()) != 0) {
    return absl::NotFoundError("unknown key");
  }
  return it->second;
}

}  // namespace segmenta
