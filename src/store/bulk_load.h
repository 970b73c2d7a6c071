// A bulk load: writes that bypass RocksDB's memtables. Batches are buffered in memory per
// column family; once the buffer is full they are sorted, written as table files and
// ingested into the database in one atomic step (RocksDB's IngestExternalFiles), which puts
// a family whose keys only grow (activities, keyed by sequence number) straight into the
// bottom level, never to be compacted.
//
// Why not the ordinary write path for an import: inserting into skip lists, flushing them
// and compacting the result was 40 % of an import's CPU (docs/benchmarks.md, stop 15).
//
// One family may be written in order (activities, keyed by sequence number): its writes need
// no sort, so a thread of their own writes them to the spill's table file for that family as
// they come, from the added batch's memory, instead of copying them into the buffer. The
// buffer holds the other families' writes only.
//
// What is buffered is not visible to readers of the database until the next Spill(): the
// writer must not need to read back what it wrote since (the worker keeps it in memory in
// a bulk load; see ingest/worker.h and StoreOptions::bulk_load).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/mapped_vector.h"
#include "rocksdb/db.h"
#include "rocksdb/sst_file_writer.h"
#include "rocksdb/write_batch.h"

namespace segmenta {

// A write handed over with its memory (BulkLoad::Add).
struct OwnedPut {
  std::string key;
  std::string value;
};

class BulkLoad {
 public:
  // Loads into `db`, whose column families are `families` (the handles stay owned by the
  // caller and must outlive this object). Table files are written under `dir`, which is
  // created if needed and must be on the database's file system (files are moved, not
  // copied). A spill happens when the buffer holds `buffer_bytes`. `ordered`, one of
  // `families` or null, is the family whose writes come in increasing key order.
  BulkLoad(rocksdb::DB* db, std::vector<rocksdb::ColumnFamilyHandle*> families, std::string dir,
           size_t buffer_bytes, rocksdb::ColumnFamilyHandle* ordered);
  // Removes table files left by a spill that failed. Whatever was not spilled is lost.
  ~BulkLoad();

  // Buffers every Put and Delete of `batch` (in order: a later write of a key wins), then
  // the puts of `ordered`, all of the ordered family, if given. The ordered family's writes
  // are handed to the thread that writes its file, with their memory: `*batch` is left
  // empty, with the memory of a batch already written when there is one, and `*ordered`
  // empty. Once the buffer is full, a thread of its own spills it while the next one fills;
  // a buffer full before that spill ended waits for it.
  // Errors: InvalidArgument, with nothing of the batch kept and `*batch` and `*ordered` as
  // they were, when the batch holds another kind of write (a merge, a range deletion) or a
  // key of the ordered family not above every one written before; Internal when the
  // ordered family's file cannot be written, and every later call then fails (what was not
  // spilled is lost); as Spill(). Thread-safe.
  absl::Status Add(rocksdb::WriteBatch* batch, std::vector<OwnedPut>* ordered = nullptr);

  // Writes everything buffered as table files, one per column family that has writes, and
  // ingests them all at once: after a crash, all of them are in the database or none.
  // Waits for a spill in progress first. The files are written by two threads (the largest
  // family's by one of its own).
  // Errors: Internal (with RocksDB's message) when a file cannot be written or ingested,
  // now or by the spill in progress; the buffer is then dropped. Thread-safe.
  absl::Status Spill();

 private:
  // One write: key and value are adjacent in an arena block. 32 bytes: for an import's
  // messageIds and activity index, entries take more of the buffer than the keys do.
  struct Entry {
    // The key's first 16 bytes, big-endian (zero-padded): most comparisons of a sort end
    // here, without reading the key itself (16 bytes tell apart a contact's activities).
    unsigned __int128 prefix;
    // Where the key is: Buffer::blocks[block] + offset. The arena fills in order, so of two
    // writes the later has the greater (block, offset): of one key's writes, it wins.
    uint32_t block;
    uint32_t offset;
    uint32_t key_size : 31;
    uint32_t deleted : 1;
    uint32_t value_size;
  };
  static_assert(sizeof(Entry) == 32);
  struct FamilyBuffer {
    MappedVector<Entry> entries;
    size_t bytes = 0;
  };
  // What one spill writes.
  struct Buffer {
    std::vector<FamilyBuffer> families;           // as families_
    std::vector<std::unique_ptr<char[]>> blocks;  // the arena
    size_t bytes = 0;
    uint64_t number = 0;  // names its files
    // The ordered family's writes, opened at the first.
    std::unique_ptr<rocksdb::SstFileWriter> ordered_file;
  };
  // A write of the ordered family in the batch being added.
  struct OrderedWrite {
    std::string_view key;
    std::string_view value;
    bool deleted;
  };
  // What the ordered thread writes into `file`: the ordered writes of one batch, then `owned`.
  struct OrderedWork {
    std::unique_ptr<rocksdb::WriteBatch> batch;  // holds the writes' bytes; null without
    std::vector<OrderedWrite> writes;
    std::vector<OwnedPut> owned;
    rocksdb::SstFileWriter* file;
  };
  class BatchReader;

  // Copies key and value next to each other into the arena; sets `entry`'s block and offset.
  void Copy(std::string_view key, std::string_view value, Entry* entry);
  // Where `entry`'s key is, followed by its value.
  static const char* DataOf(const Buffer& buffer, const Entry& entry) {
    return buffer.blocks[entry.block].get() + entry.offset;
  }
  absl::Status AddLocked(uint32_t family_id, std::string_view key, std::string_view value,
                         bool deleted);
  // The buffer filled so far, leaving an empty one.
  std::unique_ptr<Buffer> TakeBuffer();
  // Waits for the spill in progress, if any, and returns its status.
  absl::Status AwaitSpill();
  // The key of the ordered family's last write (in ordered_writes_ or before); none before
  // the first. A key must be above it.
  std::optional<std::string_view> LastOrderedKey() const;
  // InvalidArgument: a key of the ordered family out of order.
  absl::Status OutOfOrder() const;
  // Hands the batch's writes of the ordered family (ordered_writes_, in `batch`, which is
  // null when there are none) and `owned` to the ordered thread, which is started at the
  // first; waits while it has kOrderedQueue batches. Returns, when `batch` is given, a batch
  // it wrote (cleared) if there is one; else null. Errors: Internal when the buffer's file
  // for the family cannot be created.
  absl::StatusOr<std::unique_ptr<rocksdb::WriteBatch>> QueueOrdered(
      std::unique_ptr<rocksdb::WriteBatch> batch, std::vector<OwnedPut> owned);
  // Waits until the ordered thread wrote everything handed to it; its error, if any.
  absl::Status AwaitOrdered();
  void OrderedLoop();
  // Where `buffer`'s table files go, and the file of `family` there.
  std::string BufferDir(const Buffer& buffer) const;
  std::string FilePath(const Buffer& buffer, size_t family) const;
  // Writes `buffer` as table files and ingests them. Touches no member but the database's.
  absl::Status SpillBuffer(Buffer* buffer) const;
  // Writes the entries of `buffer`'s `family`, sorted, to a table file at `path`; false
  // when it had none.
  absl::StatusOr<bool> WriteFile(size_t family, Buffer* buffer, const std::string& path) const;

  rocksdb::DB* db_;
  std::vector<rocksdb::ColumnFamilyHandle*> families_;
  std::string dir_;
  size_t buffer_bytes_;

  std::mutex mu_;
  // Index in families_ of each column family id.
  std::vector<int> family_of_id_;
  int ordered_ = -1;  // index in families_ of the ordered family, if any
  // The last key written to the ordered family, over every spill.
  std::optional<std::string> last_ordered_key_;
  std::vector<OrderedWrite> ordered_writes_;  // of the batch being added

  // The ordered thread and what it is handed.
  std::thread ordered_thread_;
  std::mutex ordered_mu_;
  std::condition_variable ordered_cv_;
  std::deque<OrderedWork> ordered_queue_;  // the front one is being written
  std::vector<std::unique_ptr<rocksdb::WriteBatch>> written_batches_;  // cleared, for reuse
  // The first write that failed: the buffer then misses writes, and every call fails.
  absl::Status ordered_status_;
  bool stopping_ = false;
  std::unique_ptr<Buffer> buffer_;  // filling
  // Where the next write goes in buffer_'s last block, and that block's size.
  size_t block_used_ = 0;
  size_t block_size_ = 0;
  uint64_t spills_ = 0;  // buffers taken to be spilled: numbers the next one
  // The spill running on its own thread, if any.
  std::future<absl::Status> spilling_;
  // Memory of spilled buffers, for the next ones: fresh memory costs a page fault and the
  // kernel's zeroing of every page.
  std::mutex free_mu_;
  std::vector<std::unique_ptr<char[]>> free_blocks_;  // arena blocks
  std::vector<FamilyBuffer> free_families_;           // empty, with their entries' pages
};

}  // namespace segmenta
