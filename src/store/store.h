// The durable store: one RocksDB database with a column family per kind of record.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "rocksdb/db.h"
#include "rocksdb/write_batch.h"
#include "store/bulk_load.h"

namespace segmenta {

// Kinds of record, one column family each, with the layout of its keys and values beside
// it. store/keys.h has the binary encodings (big-endian integers, times that sort) and the
// keys of the families the write path and the profile readers share (contacts, redirects,
// identities, activities, account members, the counters in kMeta). The keys of the other
// families are made where their records are: segments/group.h (kGroups, kMemberships,
// kHistory), segments/scoring.h (score and lifecycle definitions in kMeta),
// decide/experience.h and decide/email.h (experiences and e-mail templates in kMeta),
// server/key_ring.cc (kKeys), server/webhook_sender.cc (webhook cursors in kMeta), and the
// outbox's by the audience engine. Each record's value is encoded by the module that owns
// it (Contact::Encode, GroupDefinition::Encode, ...).
enum class Family : int {
  kMeta = 0,           // named records: counters, definitions, templates, cursors
  kIdentities,         // identity key -> contact id
  kContacts,           // contact id -> Contact record
  kActivities,         // seq -> activity JSON
  kContactActivities,  // (contact id, time, seq) -> "" (each contact's activities in time order)
  kMessages,           // messageId -> "" (deduplication: only a key's presence is read)
  kAccounts,           // groupId -> Account record
  kAccountMembers,     // (groupId, contact id) -> ""
  kRedirects,          // absorbed contact id -> survivor contact id
  kKeys,               // SHA-256 of a secret -> key record
  kSuppressed,         // identity key (as kIdentities) -> "" : erased with suppression
  kGroups,             // group id -> GroupDefinition record
  kMemberships,        // (audience id, contact id) -> since (ms, big-endian)
  kHistory,            // 'g' (audience, time, seq) / 'c' (contact, time, seq) -> enter/exit
  kOutbox,             // seq -> enter/exit event JSON, for webhooks
  kCount,
};

struct StoreOptions {
  // Open without the write-ahead log, for bulk loads that call Flush() at the end.
  // A crash before Flush() loses what was written. Default: false.
  bool disable_wal = false;
  // RocksDB block cache shared by all families. Default: 64 MiB.
  size_t block_cache_bytes = 64 << 20;
  // Memtable size per column family. Default: 32 MiB.
  size_t write_buffer_bytes = 32 << 20;
  // Open read-only (another process may hold the write lock). Default: false.
  bool read_only = false;
  // Write() goes through a BulkLoad (store/bulk_load.h) instead of the memtables: for
  // imports, which call Flush() at the end. Implies disable_wal. What Write() wrote is
  // visible to reads only after the next spill, and a crash loses what was not spilled.
  // Default: false.
  bool bulk_load = false;
  // What a bulk load buffers before it writes and ingests table files: the keys and values,
  // and 32 bytes a write. Default: 640 MiB (about 4.3 million generated events' worth).
  size_t bulk_load_buffer_bytes = size_t{640} << 20;
};

// Thread-safe: RocksDB serializes writes and reads run concurrently.
class Store {
 public:
  // Opens or creates the database in `dir`.
  // Errors: FailedPrecondition when another process (a running `segmenta serve`) holds the
  // directory; Internal for other RocksDB errors, with RocksDB's message.
  static absl::StatusOr<std::unique_ptr<Store>> Open(const std::string& dir,
                                                     const StoreOptions& options = {});
  ~Store();

  // Applies `batch` atomically. With `sync`, returns only once the batch is in the fsynced
  // WAL. Without it, the batch is in the OS page cache and visible to readers; SyncWal()
  // makes it durable (group commit: one SyncWal serves every write before it). In a bulk
  // load (StoreOptions::bulk_load), buffers it instead (see there) and takes its memory:
  // `*batch` is then left empty (BulkLoad::Add). `activities`, if given, are puts of the
  // activities family that follow the batch's writes, atomically with them; a bulk load
  // takes their memory and leaves the vector empty.
  absl::Status Write(rocksdb::WriteBatch* batch, bool sync,
                     std::vector<OwnedPut>* activities = nullptr);

  // Fsyncs the write-ahead log: every Write() that returned before this call is durable
  // when it returns OK. Safe to call concurrently with Write().
  absl::Status SyncWal();

  // Writes memtables, and a bulk load's buffer, to fsynced table files (ends a load without
  // WAL).
  absl::Status Flush();

  // The value at `key`, or nullopt when absent.
  absl::StatusOr<std::optional<std::string>> Get(Family family, std::string_view key) const;
  // Whether each of `keys` is present, in order: one batched lookup, cheaper per key than
  // Get() (filters and index blocks are probed once per table file for all keys).
  // Errors: Internal (or DataLoss) when a lookup fails.
  absl::StatusOr<std::vector<bool>> Contains(Family family,
                                             const std::vector<std::string_view>& keys) const;

  // An iterator over one family; the caller seeks it. Sees a consistent snapshot.
  std::unique_ptr<rocksdb::Iterator> NewIterator(Family family) const;

  rocksdb::ColumnFamilyHandle* handle(Family family) const {
    return handles_[static_cast<int>(family)];
  }
  rocksdb::DB* db() const { return db_.get(); }
  const StoreOptions& options() const { return options_; }

 private:
  Store() = default;

  StoreOptions options_;
  std::unique_ptr<rocksdb::DB> db_;
  rocksdb::ColumnFamilyHandle* handles_[static_cast<int>(Family::kCount)] = {};
  std::unique_ptr<BulkLoad> bulk_;  // with StoreOptions::bulk_load
};

// Turns a RocksDB status into an absl::Status carrying `what` and RocksDB's message.
absl::Status FromRocks(const rocksdb::Status& s, std::string_view what);

}  // namespace segmenta
