#include "store/store.h"

#include <vector>

#include "core/status.h"
#include "fmt/format.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/table.h"
#ifdef SEGMENTA_UNSORTED_MEMTABLE
#include "store/unsorted_memtable.h"
#endif

namespace segmenta {
namespace {

const char* const kFamilyNames[] = {
    "default",  // kMeta
    "identities",      "contacts",  "activities", "contact_activities", "messages", "accounts",
    "account_members", "redirects", "keys",       "suppressed",         "groups",   "memberships",
    "history",         "outbox"};
static_assert(std::size(kFamilyNames) == static_cast<size_t>(Family::kCount));

rocksdb::ColumnFamilyOptions FamilyOptions(Family family, const StoreOptions& options,
                                           const std::shared_ptr<rocksdb::Cache>& cache) {
  rocksdb::ColumnFamilyOptions cf;
  cf.write_buffer_size = options.write_buffer_bytes;
  // LZ4 at every level: a different compression at the bottom level (ZSTD was tried) makes
  // RocksDB rewrite every byte on its way down instead of moving files, which made
  // compaction the largest cost of a bulk import.
  cf.compression = rocksdb::kLZ4Compression;
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = cache;
  // Index and filter blocks stay in memory with their table, outside the block cache: in the
  // cache, the large filters of the messages family were evicted by data blocks and read back
  // (and checksummed) on every lookup, which made bulk imports slow down as they grew.
  table.cache_index_and_filter_blocks = false;
  // Point lookups dominate everywhere but in a contact's activities (range scans), and
  // activities are read by seq only after the index found them.
  const bool point_lookups = family != Family::kActivities &&
                             family != Family::kContactActivities && family != Family::kHistory &&
                             family != Family::kOutbox;
  if (point_lookups) {
    table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
    table.whole_key_filtering = true;
    // Most lookups miss (a new messageId, a new identity): a bloom filter on the memtable
    // answers them without walking its skip list.
    cf.memtable_prefix_bloom_size_ratio = 0.05;
    cf.memtable_whole_key_filtering = true;
  }
  // Activities (about 1 KB of JSON each) in blocks of 16 KiB rather than 4: LZ4 finds more
  // to share in a block, so the store is 30 % smaller and a bulk import writes them a
  // sixth faster; reading a contact with its activities took no longer (docs/benchmarks.md).
  if (family == Family::kActivities) table.block_size = 16 << 10;
    // MessageIds are random and only looked up one by one: a memtable that sorts them once
    // when flushed instead of on every insert (store/unsorted_memtable.h), where the build
    // has it (SEGMENTA_UNSORTED_MEMTABLE, CMakeLists.txt); else RocksDB's standard skip list.
#ifdef SEGMENTA_UNSORTED_MEMTABLE
  if (family == Family::kMessages) cf.memtable_factory = NewUnsortedMemTableFactory();
#endif
  cf.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  cf.level_compaction_dynamic_level_bytes = true;
  return cf;
}

}  // namespace

absl::Status FromRocks(const rocksdb::Status& s, std::string_view what) {
  if (s.ok()) return absl::OkStatus();
  std::string message = fmt::format("{}: {}", what, s.ToString());
  if (s.IsIOError() && s.ToString().find("lock") != std::string::npos) {
    return absl::FailedPreconditionError(message);
  }
  if (s.IsCorruption()) return absl::DataLossError(message);
  if (s.IsNotFound()) return absl::NotFoundError(message);
  return absl::InternalError(message);
}

absl::StatusOr<std::unique_ptr<Store>> Store::Open(const std::string& dir,
                                                   const StoreOptions& options) {
  std::unique_ptr<Store> store(new Store());
  store->options_ = options;
  if (options.bulk_load) store->options_.disable_wal = true;

  rocksdb::DBOptions db_options;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  db_options.max_background_jobs = 2;
  // The messages family's memtable (UnsortedMemTable) takes one insert at a time: the
  // leader of each write group inserts the group's batches itself. Nearly every write comes
  // from one thread (the worker's store thread), so there is nothing to run in parallel;
  // the standard memtable is configured the same way, so that both builds write alike.
  db_options.allow_concurrent_memtable_write = false;
  db_options.bytes_per_sync = 1 << 20;
  // The log written without an fsync (exposures) starts to reach the disk every 512 KiB
  // instead of in one burst at the kernel's next writeback: on a virtual machine whose host
  // counts disk emulation against its CPU quota, such a burst stalls every thread at once.
  db_options.wal_bytes_per_sync = 512 << 10;
  db_options.max_total_wal_size = 256 << 20;
  db_options.keep_log_file_num = 3;
  db_options.info_log_level = rocksdb::WARN_LEVEL;
  // Two writers never race: the worker is the only writer of data families. Pipelined writes
  // let the WAL append of one batch overlap the memtable insert of the previous one.
  // Without a WAL, families must reach the disk together, or a crash could keep an
  // identity whose contact record was never flushed (RocksDB allows atomic flush only
  // without pipelined writes, which matter for the WAL anyway).
  db_options.enable_pipelined_write = !store->options_.disable_wal;
  db_options.atomic_flush = store->options_.disable_wal;

  auto cache = rocksdb::NewLRUCache(options.block_cache_bytes);
  std::vector<rocksdb::ColumnFamilyDescriptor> families;
  for (int i = 0; i < static_cast<int>(Family::kCount); ++i) {
    families.emplace_back(kFamilyNames[i], FamilyOptions(static_cast<Family>(i), options, cache));
  }
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  rocksdb::Status s;
  if (options.read_only) {
    s = rocksdb::DB::OpenForReadOnly(db_options, dir, families, &handles, &db);
  } else {
    s = rocksdb::DB::Open(db_options, dir, families, &handles, &db);
  }
  if (!s.ok()) {
    if (s.IsIOError() && s.ToString().find("lock") != std::string::npos) {
      return absl::FailedPreconditionError(fmt::format(
          "data directory {} is in use by another process (a running `segmenta serve`?)", dir));
    }
    return FromRocks(s, fmt::format("opening data directory {}", dir));
  }
  store->db_.reset(db);
  for (size_t i = 0; i < handles.size(); ++i) store->handles_[i] = handles[i];
  if (options.bulk_load) {
    store->bulk_ =
        std::make_unique<BulkLoad>(db, handles, dir + "/bulk-load", options.bulk_load_buffer_bytes,
                                   handles[static_cast<int>(Family::kActivities)]);
  }
  return store;
}

Store::~Store() {
  bulk_.reset();  // waits for a spill in progress, which writes to db_
  if (db_ == nullptr) return;
  for (auto* handle : handles_) {
    if (handle != nullptr) db_->DestroyColumnFamilyHandle(handle).PermitUncheckedError();
  }
  db_->Close().PermitUncheckedError();
}

absl::Status Store::Write(rocksdb::WriteBatch* batch, bool sync,
                          std::vector<OwnedPut>* activities) {
  if (bulk_ != nullptr) return bulk_->Add(batch, activities);
  if (activities != nullptr) {
    for (const OwnedPut& put : *activities) {
      batch->Put(handle(Family::kActivities), put.key, put.value);
    }
  }
  rocksdb::WriteOptions options;
  options.sync = sync && !options_.disable_wal;
  options.disableWAL = options_.disable_wal;
  return FromRocks(db_->Write(options, batch), "writing to the store");
}

absl::Status Store::SyncWal() {
  if (options_.disable_wal) return absl::OkStatus();
  return FromRocks(db_->SyncWAL(), "fsyncing the write-ahead log");
}

absl::Status Store::Flush() {
  if (bulk_ != nullptr) SEGMENTA_RETURN_IF_ERROR(bulk_->Spill());
  rocksdb::FlushOptions options;
  options.wait = true;
  std::vector<rocksdb::ColumnFamilyHandle*> all(handles_,
                                                handles_ + static_cast<int>(Family::kCount));
  return FromRocks(db_->Flush(options, all), "flushing the store");
}

absl::StatusOr<std::optional<std::string>> Store::Get(Family family, std::string_view key) const {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), handle(family),
                               rocksdb::Slice(key.data(), key.size()), &value);
  if (s.IsNotFound()) return std::nullopt;
  if (!s.ok()) return FromRocks(s, "reading the store");
  return value;
}

absl::StatusOr<std::vector<bool>> Store::Contains(Family family,
                                                  const std::vector<std::string_view>& keys) const {
  std::vector<rocksdb::Slice> slices;
  slices.reserve(keys.size());
  for (std::string_view key : keys) slices.emplace_back(key.data(), key.size());
  std::vector<rocksdb::PinnableSlice> values(keys.size());
  std::vector<rocksdb::Status> statuses(keys.size());
  db_->MultiGet(rocksdb::ReadOptions(), handle(family), slices.size(), slices.data(), values.data(),
                statuses.data());
  std::vector<bool> found(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    if (statuses[i].IsNotFound()) continue;
    if (!statuses[i].ok()) return FromRocks(statuses[i], "reading the store");
    found[i] = true;
  }
  return found;
}

std::unique_ptr<rocksdb::Iterator> Store::NewIterator(Family family) const {
  return std::unique_ptr<rocksdb::Iterator>(
      db_->NewIterator(rocksdb::ReadOptions(), handle(family)));
}

}  // namespace segmenta
