// Write keys, admin tokens and read-only tokens. Secrets are stored only as SHA-256
// digests; a secret is shown once, when it is created.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "store/store.h"

namespace segmenta {

enum class KeyKind {
  kWrite,  // collection: /v1/* (Basic auth username, or writeKey in the body)
  kAdmin,  // management: everything under /api
  kRead,   // read-only: GET under /api
};
std::string_view KeyKindName(KeyKind kind);
bool ParseKeyKind(std::string_view name, KeyKind* kind);

struct KeyRecord {
  std::string id;  // public identifier ("key_3f2a..."), safe to log
  std::string name;
  KeyKind kind = KeyKind::kWrite;
  int64_t created_ms = 0;
};

// Thread-safe.
class KeyRing {
 public:
  // Loads the keys stored in `store`, which must outlive the ring.
  static absl::StatusOr<std::unique_ptr<KeyRing>> Load(Store* store);

  // Creates a key; returns its record and the secret (never stored in clear).
  // The write is fsynced before returning.
  absl::StatusOr<std::pair<KeyRecord, std::string>> Create(KeyKind kind, std::string_view name,
                                                           int64_t now_ms);
  // Errors: NotFound when no key has this id.
  absl::Status Revoke(std::string_view id);
  std::vector<KeyRecord> List() const;

  // The key a secret belongs to, or NotFound. Constant-time on the digest comparison.
  absl::StatusOr<KeyRecord> Check(std::string_view secret) const;

 private:
  explicit KeyRing(Store* store) : store_(store) {}
  Store* store_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, KeyRecord> by_digest_ ABSL_GUARDED_BY(mu_);
};

}  // namespace segmenta
