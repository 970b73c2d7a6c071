#include "store/unsorted_memtable.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/container/inlined_vector.h"
#include "absl/hash/hash.h"
#include "absl/synchronization/mutex.h"
#include "core/string_view.h"
#include "rocksdb/slice.h"
#include "rocksdb/version.h"

namespace segmenta {
namespace {

// MemTableRep::Get receives a rocksdb::LookupKey, whose accessors are inline in a header
// Debian does not install (db/dbformat.h). Its first members are three pointers: the
// memtable key (a varint32 length, then the internal key), the internal key (the user key,
// then 8 bytes of sequence number and type), and its end; RocksDB 7.8.3's own
// MemTableRep::Get reads them at these offsets. Another RocksDB must be checked again.
static_assert(ROCKSDB_MAJOR == 7 && ROCKSDB_MINOR == 8,
              "UnsortedMemTable reads rocksdb::LookupKey's layout of RocksDB 7.8");
struct LookupKeyLayout {
  const char* start;
  const char* kstart;
  const char* end;
};

rocksdb::Slice InternalKeyOf(const rocksdb::LookupKey& key) {
  LookupKeyLayout layout;
  std::memcpy(&layout, &key, sizeof layout);  // its bytes, without aliasing an unknown type
  const rocksdb::Slice internal_key(layout.kstart, static_cast<size_t>(layout.end - layout.kstart));
  // The memtable key is the same internal key, length-prefixed: a layout that is not the
  // one above stops the process rather than answer lookups wrongly (a messageId not found
  // is an event stored twice; one wrongly found, an acknowledged event dropped).
  const rocksdb::Slice prefixed = rocksdb::GetLengthPrefixedSlice(layout.start);
  if (prefixed.data() != internal_key.data() || prefixed.size() != internal_key.size() ||
      internal_key.size() < 8) {
    std::fprintf(stderr, "UnsortedMemTable: rocksdb::LookupKey is not laid out as in 7.8\n");
    std::abort();
  }
  return internal_key;
}

// An entry, as MemTable::Add writes it: varint32 length of the internal key, the internal
// key (user key, then 8 bytes of sequence number and type), varint32 length of the value,
// the value.
absl::string_view UserKeyOf(const char* entry) {
  const rocksdb::Slice internal_key = rocksdb::GetLengthPrefixedSlice(entry);
  return {internal_key.data(), internal_key.size() - 8};
}

// Allocate() puts before each entry the address of the entry of the same user key inserted
// before it (null for the first): the versions of a key, newest first.
constexpr size_t kLinkBytes = sizeof(const char*);

const char* OlderVersion(const char* entry) {
  const char* older;
  std::memcpy(&older, entry - kLinkBytes, kLinkBytes);
  return older;
}

void SetOlderVersion(const char* entry, const char* older) {
  std::memcpy(const_cast<char*>(entry) - kLinkBytes, &older, kLinkBytes);
}

// The index: the newest entry of each user key, hashed and compared by user key.
struct EntryHash {
  using is_transparent = void;
  size_t operator()(const char* entry) const { return (*this)(UserKeyOf(entry)); }
  size_t operator()(absl::string_view user_key) const {
    return absl::Hash<absl::string_view>{}(user_key);
  }
};
struct EntryEq {
  using is_transparent = void;
  bool operator()(const char* a, const char* b) const { return UserKeyOf(a) == UserKeyOf(b); }
  bool operator()(const char* a, absl::string_view b) const { return UserKeyOf(a) == b; }
  bool operator()(absl::string_view a, const char* b) const { return a == UserKeyOf(b); }
};

using Compare = rocksdb::MemTableRep::KeyComparator;

// Iterates entries sorted by internal key: the memtable's own sorted array once it is read
// only, else a sorted copy it owns.
class SortedIterator : public rocksdb::MemTableRep::Iterator {
 public:
  SortedIterator(const Compare& compare, const std::vector<const char*>* shared,
                 std::vector<const char*> owned)
      : compare_(compare), owned_(std::move(owned)), entries_(shared ? shared : &owned_) {}
  // entries_ may point at owned_.
  SortedIterator(const SortedIterator&) = delete;
  SortedIterator& operator=(const SortedIterator&) = delete;

  bool Valid() const override { return pos_ < entries_->size(); }
  const char* key() const override { return (*entries_)[pos_]; }
  void Next() override { ++pos_; }
  void Prev() override { pos_ = pos_ == 0 ? entries_->size() : pos_ - 1; }
  void Seek(const rocksdb::Slice& internal_key, const char* /*memtable_key*/) override {
    pos_ = LowerBound(internal_key);
  }
  void SeekForPrev(const rocksdb::Slice& internal_key, const char* /*memtable_key*/) override {
    // The last entry <= internal_key: the first one >= it if equal, else the one before.
    pos_ = LowerBound(internal_key);
    if (Valid() && compare_(key(), internal_key) == 0) return;
    pos_ = pos_ == 0 ? entries_->size() : pos_ - 1;
  }
  void SeekToFirst() override { pos_ = 0; }
  void SeekToLast() override { pos_ = entries_->empty() ? 0 : entries_->size() - 1; }

 private:
  size_t LowerBound(const rocksdb::Slice& internal_key) const {
    auto it = std::lower_bound(
        entries_->begin(), entries_->end(), internal_key,
        [this](const char* e, const rocksdb::Slice& k) { return compare_(e, k) < 0; });
    return static_cast<size_t>(it - entries_->begin());
  }

  const Compare& compare_;
  std::vector<const char*> owned_;
  const std::vector<const char*>* entries_;
  size_t pos_ = 0;  // entries_->size(): not valid
};

class UnsortedMemTable : public rocksdb::MemTableRep {
 public:
  UnsortedMemTable(const Compare& compare, rocksdb::Allocator* allocator)
      : MemTableRep(allocator), compare_(compare) {}

  rocksdb::KeyHandle Allocate(const size_t len, char** buf) override {
    char* raw = nullptr;
    MemTableRep::Allocate(len + kLinkBytes, &raw);
    *buf = raw + kLinkBytes;
    SetOlderVersion(*buf, nullptr);
    return *buf;
  }

  void Insert(rocksdb::KeyHandle handle) override {
    const char* entry = static_cast<const char*>(handle);
    absl::MutexLock lock(&mu_);
    auto [it, inserted] = newest_.insert(entry);
    if (!inserted) {
      // Another version of this user key: it becomes the newest, linked to the older ones.
      SetOlderVersion(entry, *it);
      newest_.erase(it);
      newest_.insert(entry);
    }
    entries_.push_back(entry);
    sorted_ = false;
    memory_.store(
        entries_.capacity() * sizeof(const char*) + newest_.capacity() * (sizeof(const char*) + 1),
        std::memory_order_relaxed);
  }

  bool Contains(const char* key) const override {
    absl::ReaderMutexLock lock(&mu_);
    auto it = newest_.find(UserKeyOf(key));
    if (it == newest_.end()) return false;
    for (const char* e = *it; e != nullptr; e = OlderVersion(e)) {
      if (compare_(e, key) == 0) return true;
    }
    return false;
  }

  void MarkReadOnly() override {
    absl::MutexLock lock(&mu_);
    read_only_ = true;
  }

  // Calls `callback` on the entries of the looked-up user key at or after the lookup's
  // internal key (the versions the lookup's sequence number sees), newest first, until it
  // returns false.
  void Get(const rocksdb::LookupKey& k, void* callback_args,
           bool (*callback)(void* arg, const char* entry)) override {
    const rocksdb::Slice internal_key = InternalKeyOf(k);
    const absl::string_view user_key(internal_key.data(), internal_key.size() - 8);
    const char* newest = nullptr;
    {
      absl::ReaderMutexLock lock(&mu_);
      auto it = newest_.find(user_key);
      if (it == newest_.end()) return;
      newest = *it;
    }
    // Entries and their links never change once inserted: no lock needed to follow them.
    // A key's versions are chained as inserted, which is sequence order, so newest first
    // already; sorted all the same, in internal-key order, which Get must follow.
    absl::InlinedVector<const char*, 4> versions;
    for (const char* e = newest; e != nullptr; e = OlderVersion(e)) versions.push_back(e);
    SortEntries(versions.begin(), versions.end());
    for (const char* entry : versions) {
      if (compare_(entry, internal_key) < 0) continue;  // newer than the lookup
      if (!callback(callback_args, entry)) return;
    }
  }

  size_t ApproximateMemoryUsage() override { return memory_.load(std::memory_order_relaxed); }

  Iterator* GetIterator(rocksdb::Arena* arena) override {
    const std::vector<const char*>* shared = nullptr;
    std::vector<const char*> owned;
    {
      absl::MutexLock lock(&mu_);
      if (read_only_) {
        // Sorted once, then shared by every iterator (the flush's among them).
        if (!sorted_) SortEntries(entries_.begin(), entries_.end());
        sorted_ = true;
        shared = &entries_;
      } else {
        owned = entries_;
      }
    }
    if (shared == nullptr) SortEntries(owned.begin(), owned.end());
    if (arena == nullptr) return new SortedIterator(compare_, shared, std::move(owned));
    // RocksDB will call the destructor and not free the memory, which would be its arena's;
    // Arena is not in the installed headers, so the memory is this memtable's, freed with it.
    auto storage = std::make_unique<std::byte[]>(sizeof(SortedIterator));
    Iterator* iterator = new (storage.get()) SortedIterator(compare_, shared, std::move(owned));
    absl::MutexLock lock(&mu_);
    iterator_storage_.push_back(std::move(storage));
    return iterator;
  }

 private:
  // Sorts the entries in [begin, end) by internal key.
  template <typename It>
  void SortEntries(It begin, It end) const {
    std::sort(begin, end, [this](const char* a, const char* b) { return compare_(a, b) < 0; });
  }

  const Compare& compare_;
  mutable absl::Mutex mu_;
  absl::flat_hash_set<const char*, EntryHash, EntryEq> newest_ ABSL_GUARDED_BY(mu_);
  std::vector<const char*> entries_ ABSL_GUARDED_BY(mu_);  // arrival order until sorted_
  bool sorted_ ABSL_GUARDED_BY(mu_) = false;
  bool read_only_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::unique_ptr<std::byte[]>> iterator_storage_ ABSL_GUARDED_BY(mu_);
  std::atomic<size_t> memory_{0};
};

class UnsortedMemTableFactory : public rocksdb::MemTableRepFactory {
 public:
  rocksdb::MemTableRep* CreateMemTableRep(const rocksdb::MemTableRep::KeyComparator& compare,
                                          rocksdb::Allocator* allocator,
                                          const rocksdb::SliceTransform*,
                                          rocksdb::Logger*) override {
    return new UnsortedMemTable(compare, allocator);
  }
  const char* Name() const override { return "SegmentaUnsortedMemTable"; }
};

}  // namespace

std::shared_ptr<rocksdb::MemTableRepFactory> NewUnsortedMemTableFactory() {
  return std::make_shared<UnsortedMemTableFactory>();
}

}  // namespace segmenta
