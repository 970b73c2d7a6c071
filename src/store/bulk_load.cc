#include "store/bulk_load.h"

#include <pthread.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "core/status.h"
#include "fmt/format.h"
#include "store/store.h"

namespace segmenta {
namespace {

// Arena blocks; a larger write gets a block of its own.
constexpr size_t kBlockBytes = 4 << 20;
// How many entries ahead WriteFile fetches a key.
constexpr size_t kPrefetchAhead = 16;
// Batches handed to the ordered thread before Add waits: an import's are about 2 MB each.
// 4 made the import's other threads wait on it more often (a 10M import about 2 % slower).
constexpr size_t kOrderedQueue = 16;

}  // namespace

// Hands each write of a batch to the buffer; any other kind of write stops the batch.
class BulkLoad::BatchReader : public rocksdb::WriteBatch::Handler {
 public:
  explicit BatchReader(BulkLoad* load) : load_(load) {}

  rocksdb::Status PutCF(uint32_t family_id, const rocksdb::Slice& key,
                        const rocksdb::Slice& value) override {
    return Add(family_id, key, value, /*deleted=*/false);
  }
  rocksdb::Status DeleteCF(uint32_t family_id, const rocksdb::Slice& key) override {
    return Add(family_id, key, rocksdb::Slice(), /*deleted=*/true);
  }
  // RocksDB's defaults ignore these in the default family; a bulk load refuses them in all.
  rocksdb::Status SingleDeleteCF(uint32_t, const rocksdb::Slice&) override {
    return rocksdb::Status::NotSupported("single deletion");
  }
  rocksdb::Status MergeCF(uint32_t, const rocksdb::Slice&, const rocksdb::Slice&) override {
    return rocksdb::Status::NotSupported("merge");
  }

  // The error that stopped the batch, if any.
  const absl::Status& status() const { return status_; }

 private:
  rocksdb::Status Add(uint32_t family_id, const rocksdb::Slice& key, const rocksdb::Slice& value,
                      bool deleted) {
    status_ = load_->AddLocked(family_id, std::string_view(key.data(), key.size()),
                               std::string_view(value.data(), value.size()), deleted);
    return status_.ok() ? rocksdb::Status::OK() : rocksdb::Status::Aborted();
  }

  BulkLoad* load_;
  absl::Status status_;
};

BulkLoad::BulkLoad(rocksdb::DB* db, std::vector<rocksdb::ColumnFamilyHandle*> families,
                   std::string dir, size_t buffer_bytes, rocksdb::ColumnFamilyHandle* ordered)
    : db_(db), families_(std::move(families)), dir_(std::move(dir)), buffer_bytes_(buffer_bytes) {
  TakeBuffer();  // the first buffer
  for (size_t i = 0; i < families_.size(); ++i) {
    const uint32_t id = families_[i]->GetID();
    if (family_of_id_.size() <= id) family_of_id_.resize(id + 1, -1);
    family_of_id_[id] = static_cast<int>(i);
    if (families_[i] == ordered) ordered_ = static_cast<int>(i);
  }
}

BulkLoad::~BulkLoad() {
  if (spilling_.valid()) spilling_.wait();
  if (ordered_thread_.joinable()) {
    {
      std::lock_guard<std::mutex> lock(ordered_mu_);
      stopping_ = true;
    }
    ordered_cv_.notify_all();
    ordered_thread_.join();
  }
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

absl::Status BulkLoad::Add(rocksdb::WriteBatch* batch, std::vector<OwnedPut>* ordered) {
  std::lock_guard<std::mutex> lock(mu_);
  {
    std::lock_guard<std::mutex> ordered_lock(ordered_mu_);
    SEGMENTA_RETURN_IF_ERROR(ordered_status_);
  }
  // Moved where it is kept before its writes are read: the ordered ones then point into
  // memory that stays put (a batch small enough to live inside its object has no heap
  // memory).
  auto kept = std::make_unique<rocksdb::WriteBatch>(std::move(*batch));
  // What the buffer held before: a batch refused halfway is taken back out.
  std::vector<size_t> entries_before;
  for (const FamilyBuffer& family : buffer_->families) {
    entries_before.push_back(family.entries.size());
  }
  ordered_writes_.clear();
  BatchReader reader(this);
  rocksdb::Status s = kept->Iterate(&reader);
  absl::Status status = reader.status();
  if (status.ok() && !s.ok()) {
    status = absl::InvalidArgumentError(
        fmt::format("a bulk load takes puts and deletes only: {}", s.ToString()));
  }
  const bool owned = ordered != nullptr && !ordered->empty();
  if (status.ok() && owned) {
    if (ordered_ < 0) {
      status = absl::InvalidArgumentError("this bulk load has no family written in order");
    }
    std::optional<std::string_view> last = LastOrderedKey();
    for (size_t i = 0; i < ordered->size() && status.ok(); ++i) {
      if (last && (*ordered)[i].key <= *last) status = OutOfOrder();
      last = (*ordered)[i].key;
    }
  }
  if (!status.ok()) {
    for (size_t i = 0; i < entries_before.size(); ++i) {
      FamilyBuffer& family = buffer_->families[i];
      for (size_t e = entries_before[i]; e < family.entries.size(); ++e) {
        const size_t bytes =
            family.entries[e].key_size + family.entries[e].value_size + sizeof(Entry);
        family.bytes -= bytes;
        buffer_->bytes -= bytes;
      }
      family.entries.truncate(entries_before[i]);
    }
    ordered_writes_.clear();
    *batch = std::move(*kept);
    return status;
  }
  // A batch with writes of the ordered family goes to the ordered thread; any other is
  // given back, cleared.
  const bool batch_ordered = !ordered_writes_.empty();
  if (!batch_ordered) {
    *batch = std::move(*kept);
    batch->Clear();  // keeps its memory
  }
  if (batch_ordered || owned) {
    const size_t size = batch_ordered ? kept->GetDataSize() : 0;
    std::vector<OwnedPut> handed;
    if (owned) handed.swap(*ordered);
    absl::StatusOr<std::unique_ptr<rocksdb::WriteBatch>> written =
        QueueOrdered(batch_ordered ? std::move(kept) : nullptr, std::move(handed));
    if (!written.ok()) {
      // The buffer holds the batch's other writes: it must never be ingested.
      std::lock_guard<std::mutex> ordered_lock(ordered_mu_);
      ordered_status_ = written.status();
      if (batch_ordered) *batch = rocksdb::WriteBatch();
      return ordered_status_;
    }
    // Without a written batch, room for one as large as this one.
    if (batch_ordered) {
      *batch = *written != nullptr ? std::move(**written) : rocksdb::WriteBatch(size);
    }
  }
  if (buffer_->bytes < buffer_bytes_) return absl::OkStatus();
  SEGMENTA_RETURN_IF_ERROR(AwaitOrdered());
  SEGMENTA_RETURN_IF_ERROR(AwaitSpill());
  spilling_ = std::async(std::launch::async, [this, full = TakeBuffer()] {
    absl::Status status = SpillBuffer(full.get());
    for (FamilyBuffer& family : full->families) {
      family.entries.clear();  // keeps its pages
      family.bytes = 0;
    }
    std::lock_guard<std::mutex> lock(free_mu_);
    for (auto& block : full->blocks) free_blocks_.push_back(std::move(block));
    if (free_families_.empty()) free_families_ = std::move(full->families);
    return status;
  });
  return absl::OkStatus();
}

std::unique_ptr<BulkLoad::Buffer> BulkLoad::TakeBuffer() {
  std::unique_ptr<Buffer> full = std::move(buffer_);
  if (full != nullptr) ++spills_;
  buffer_ = std::make_unique<Buffer>();
  {
    std::lock_guard<std::mutex> lock(free_mu_);
    std::swap(buffer_->families, free_families_);
  }
  buffer_->families.resize(families_.size());
  buffer_->number = spills_;
  block_used_ = block_size_ = 0;
  return full;
}

absl::Status BulkLoad::AwaitSpill() {
  if (!spilling_.valid()) return absl::OkStatus();
  return spilling_.get();
}

absl::Status BulkLoad::AddLocked(uint32_t family_id, std::string_view key, std::string_view value,
                                 bool deleted) {
  if (family_id >= family_of_id_.size() || family_of_id_[family_id] < 0) {
    return absl::InvalidArgumentError(fmt::format("unknown column family {}", family_id));
  }
  if (family_of_id_[family_id] == ordered_) {
    std::optional<std::string_view> last = LastOrderedKey();
    if (last && key <= *last) return OutOfOrder();
    ordered_writes_.push_back({key, value, deleted});
    return absl::OkStatus();
  }
  if (key.size() >= (size_t{1} << 31)) {
    return absl::InvalidArgumentError(fmt::format("a key of {} bytes", key.size()));
  }
  FamilyBuffer& buffer = buffer_->families[family_of_id_[family_id]];
  Entry entry;
  entry.prefix = 0;
  for (size_t i = 0; i < 16; ++i) {
    entry.prefix = (entry.prefix << 8) | (i < key.size() ? static_cast<uint8_t>(key[i]) : 0);
  }
  entry.key_size = static_cast<uint32_t>(key.size());
  entry.deleted = deleted;
  entry.value_size = static_cast<uint32_t>(value.size());
  Copy(key, value, &entry);
  buffer.entries.push_back(entry);
  const size_t bytes = key.size() + value.size() + sizeof(Entry);
  buffer.bytes += bytes;
  buffer_->bytes += bytes;
  return absl::OkStatus();
}

void BulkLoad::Copy(std::string_view key, std::string_view value, Entry* entry) {
  const size_t size = key.size() + value.size();
  if (block_used_ + size > block_size_) {
    block_size_ = std::max(kBlockBytes, size);
    std::unique_ptr<char[]> block;
    if (block_size_ == kBlockBytes) {
      std::lock_guard<std::mutex> lock(free_mu_);
      if (!free_blocks_.empty()) {
        block = std::move(free_blocks_.back());
        free_blocks_.pop_back();
      }
    }
    // Uninitialized: every byte used is written first.
    if (block == nullptr) block.reset(new char[block_size_]);
    buffer_->blocks.push_back(std::move(block));
    block_used_ = 0;
  }
  entry->block = static_cast<uint32_t>(buffer_->blocks.size() - 1);
  entry->offset = static_cast<uint32_t>(block_used_);
  char* at = buffer_->blocks.back().get() + block_used_;
  std::memcpy(at, key.data(), key.size());
  std::memcpy(at + key.size(), value.data(), value.size());
  block_used_ += size;
}

std::optional<std::string_view> BulkLoad::LastOrderedKey() const {
  if (!ordered_writes_.empty()) return ordered_writes_.back().key;
  return last_ordered_key_;
}

absl::Status BulkLoad::OutOfOrder() const {
  return absl::InvalidArgumentError(
      fmt::format("the bulk load's family {} takes keys in increasing order only",
                  families_[ordered_]->GetName()));
}

absl::StatusOr<std::unique_ptr<rocksdb::WriteBatch>> BulkLoad::QueueOrdered(
    std::unique_ptr<rocksdb::WriteBatch> batch, std::vector<OwnedPut> owned) {
  if (buffer_->ordered_file == nullptr) {
    const std::string dir = BufferDir(*buffer_);
    std::error_code error;
    std::filesystem::create_directories(dir, error);
    if (error) {
      return absl::InternalError(fmt::format("creating {}: {}", dir, error.message()));
    }
    auto file = std::make_unique<rocksdb::SstFileWriter>(
        rocksdb::EnvOptions(), db_->GetOptions(families_[ordered_]), families_[ordered_]);
    rocksdb::Status opened = file->Open(FilePath(*buffer_, ordered_));
    if (!opened.ok()) return FromRocks(opened, "opening a bulk load table file");
    buffer_->ordered_file = std::move(file);
  }
  last_ordered_key_ = owned.empty() ? std::string(ordered_writes_.back().key) : owned.back().key;
  const bool batch_given = batch != nullptr;
  std::unique_ptr<rocksdb::WriteBatch> written;
  {
    std::unique_lock<std::mutex> lock(ordered_mu_);
    if (!ordered_thread_.joinable()) ordered_thread_ = std::thread([this] { OrderedLoop(); });
    ordered_cv_.wait(lock, [&] { return ordered_queue_.size() < kOrderedQueue; });
    ordered_queue_.push_back({std::move(batch), std::move(ordered_writes_), std::move(owned),
                              buffer_->ordered_file.get()});
    if (batch_given && !written_batches_.empty()) {
      written = std::move(written_batches_.back());
      written_batches_.pop_back();
    }
  }
  ordered_cv_.notify_all();
  ordered_writes_.clear();  // moved from
  return written;
}

absl::Status BulkLoad::AwaitOrdered() {
  std::unique_lock<std::mutex> lock(ordered_mu_);
  ordered_cv_.wait(lock, [&] { return ordered_queue_.empty(); });
  return ordered_status_;
}

void BulkLoad::OrderedLoop() {
  pthread_setname_np(pthread_self(), "bulk-ordered");
  std::unique_lock<std::mutex> lock(ordered_mu_);
  while (true) {
    ordered_cv_.wait(lock, [&] { return !ordered_queue_.empty() || stopping_; });
    if (ordered_queue_.empty()) return;  // stopping
    OrderedWork& work = ordered_queue_.front();
    absl::Status status = ordered_status_;
    lock.unlock();
    // After a failure, the rest is dropped: the buffer is never ingested.
    for (size_t i = 0; i < work.writes.size() && status.ok(); ++i) {
      const OrderedWrite& w = work.writes[i];
      const rocksdb::Slice key(w.key.data(), w.key.size());
      rocksdb::Status s = w.deleted
                              ? work.file->Delete(key)
                              : work.file->Put(key, rocksdb::Slice(w.value.data(), w.value.size()));
      if (!s.ok()) status = FromRocks(s, "writing a bulk load table file");
    }
    for (size_t i = 0; i < work.owned.size() && status.ok(); ++i) {
      const OwnedPut& put = work.owned[i];
      rocksdb::Status s = work.file->Put(put.key, put.value);
      if (!s.ok()) status = FromRocks(s, "writing a bulk load table file");
    }
    work.owned = {};                                 // freed here, off the caller's thread
    if (work.batch != nullptr) work.batch->Clear();  // keeps its memory
    lock.lock();
    if (ordered_status_.ok()) ordered_status_ = status;
    if (work.batch != nullptr) written_batches_.push_back(std::move(work.batch));
    ordered_queue_.pop_front();
    ordered_cv_.notify_all();
  }
}

std::string BulkLoad::BufferDir(const Buffer& buffer) const {
  return fmt::format("{}/{:06}", dir_, buffer.number);
}

std::string BulkLoad::FilePath(const Buffer& buffer, size_t family) const {
  return fmt::format("{}/{:02}.sst", BufferDir(buffer), family);
}

absl::Status BulkLoad::Spill() {
  std::lock_guard<std::mutex> lock(mu_);
  absl::Status previous = AwaitSpill();
  SEGMENTA_RETURN_IF_ERROR(AwaitOrdered());
  std::unique_ptr<Buffer> last = TakeBuffer();
  if (!previous.ok()) return previous;
  return SpillBuffer(last.get());
}

absl::Status BulkLoad::SpillBuffer(Buffer* buffer) const {
  if (buffer->bytes == 0 && buffer->ordered_file == nullptr) return absl::OkStatus();
  const std::string dir = BufferDir(*buffer);
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error) {
    return absl::InternalError(fmt::format("creating {}: {}", dir, error.message()));
  }
  auto path = [&](size_t family) { return FilePath(*buffer, family); };
  // The largest family's file is written by a thread of its own, the others meanwhile.
  size_t largest = 0;
  for (size_t i = 1; i < buffer->families.size(); ++i) {
    if (buffer->families[i].bytes > buffer->families[largest].bytes) largest = i;
  }
  std::future<absl::StatusOr<bool>> largest_written =
      std::async(std::launch::async, [&] { return WriteFile(largest, buffer, path(largest)); });
  std::vector<rocksdb::IngestExternalFileArg> files;
  absl::Status status;
  auto add = [&](size_t family, const absl::StatusOr<bool>& written) {
    if (!written.ok()) {
      if (status.ok()) status = written.status();
      return;
    }
    if (!*written) return;
    rocksdb::IngestExternalFileArg file;
    file.column_family = families_[family];
    file.external_files.push_back(path(family));
    // Moved (hard-linked) into the database rather than copied.
    file.options.move_files = true;
    // The sequence number is kept in the manifest, not written into the file.
    file.options.write_global_seqno = false;
    files.push_back(std::move(file));
  };
  for (size_t i = 0; i < buffer->families.size() && status.ok(); ++i) {
    if (i != largest) add(i, WriteFile(i, buffer, path(i)));
  }
  add(largest, largest_written.get());
  if (buffer->ordered_file != nullptr) {
    rocksdb::Status finished = buffer->ordered_file->Finish();
    add(static_cast<size_t>(ordered_),
        finished.ok() ? absl::StatusOr<bool>(true)
                      : FromRocks(finished, "finishing a bulk load table file"));
  }
  if (status.ok() && !files.empty()) {
    status = FromRocks(db_->IngestExternalFiles(files), "ingesting the bulk load's table files");
  }
  std::filesystem::remove_all(dir, error);
  std::filesystem::remove(dir_, error);  // when no other spill's files are there
  return status;
}

absl::StatusOr<bool> BulkLoad::WriteFile(size_t family, Buffer* buffer,
                                         const std::string& path) const {
  MappedVector<Entry>& entries = buffer->families[family].entries;
  if (entries.empty()) return false;
  auto key_of = [&](const Entry& e) { return std::string_view(DataOf(*buffer, e), e.key_size); };
  // Keys in order, and of the writes of one key the last one last. A family whose keys
  // only grow (activities) is sorted already.
  auto before = [&](const Entry& a, const Entry& b) {
    if (a.prefix != b.prefix) return a.prefix < b.prefix;
    int c = key_of(a).compare(key_of(b));
    if (c != 0) return c < 0;
    return a.block != b.block ? a.block < b.block : a.offset < b.offset;
  };
  if (!std::is_sorted(entries.begin(), entries.end(), before)) {
    std::sort(entries.begin(), entries.end(), before);
  }
  rocksdb::SstFileWriter writer(rocksdb::EnvOptions(), db_->GetOptions(families_[family]),
                                families_[family]);
  rocksdb::Status opened = writer.Open(path);
  if (!opened.ok()) return FromRocks(opened, "opening a bulk load table file");
  // Two keys whose first 16 bytes differ differ: most checks end without reading the keys.
  auto same_key = [&](const Entry& a, const Entry& b) {
    return a.prefix == b.prefix && a.key_size == b.key_size &&
           (a.key_size <= sizeof(a.prefix) || key_of(a) == key_of(b));
  };
  for (size_t i = 0; i < entries.size(); ++i) {
    const Entry& e = entries[i];
    // Sorted, the entries point all over the arena: each key read would miss the caches.
    if (i + kPrefetchAhead < entries.size()) {
      __builtin_prefetch(DataOf(*buffer, entries[i + kPrefetchAhead]));
    }
    if (i + 1 < entries.size() && same_key(entries[i + 1], e)) continue;
    const char* data = DataOf(*buffer, e);
    rocksdb::Slice key(data, e.key_size);
    rocksdb::Status s = e.deleted
                            ? writer.Delete(key)
                            : writer.Put(key, rocksdb::Slice(data + e.key_size, e.value_size));
    if (!s.ok()) return FromRocks(s, "writing a bulk load table file");
  }
  rocksdb::Status finished = writer.Finish();
  if (!finished.ok()) return FromRocks(finished, "finishing a bulk load table file");
  return true;
}

}  // namespace segmenta
