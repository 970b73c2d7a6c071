#include "store/unsorted_memtable.h"

#include <atomic>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "fmt/format.h"
#include "gtest/gtest.h"
#include "rocksdb/db.h"

namespace segmenta {
namespace {

// A real RocksDB whose default family uses the unsorted memtable, with `write_buffer`
// bytes of memtable (small ones make immutable memtables and flushes happen).
class UnsortedMemTableTest : public ::testing::Test {
 protected:
  void Open(size_t write_buffer = 64 << 20) {
    rocksdb::Options options;
    options.create_if_missing = true;
    options.allow_concurrent_memtable_write = false;
    options.memtable_factory = NewUnsortedMemTableFactory();
    options.write_buffer_size = write_buffer;
    options.max_write_buffer_number = 4;
    rocksdb::DB* db = nullptr;
    rocksdb::Status s = rocksdb::DB::Open(options, dir_, &db);
    ASSERT_TRUE(s.ok()) << s.ToString();
    db_.reset(db);
  }

  void SetUp() override {
    dir_ = ::testing::TempDir() + "/unsorted_memtable_" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override {
    db_.reset();
    std::filesystem::remove_all(dir_);
  }

  void Put(const std::string& key, const std::string& value) {
    ASSERT_TRUE(db_->Put(rocksdb::WriteOptions(), key, value).ok());
  }
  std::optional<std::string> Get(const std::string& key,
                                 const rocksdb::Snapshot* snapshot = nullptr) {
    rocksdb::ReadOptions read;
    read.snapshot = snapshot;
    std::string value;
    rocksdb::Status s = db_->Get(read, key, &value);
    if (s.IsNotFound()) return std::nullopt;
    EXPECT_TRUE(s.ok()) << s.ToString();
    return value;
  }
  // Every key and value, in the DB iterator's order.
  std::vector<std::pair<std::string, std::string>> All() {
    std::vector<std::pair<std::string, std::string>> all;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      all.emplace_back(it->key().ToString(), it->value().ToString());
    }
    EXPECT_TRUE(it->status().ok());
    return all;
  }

  std::string dir_;
  std::unique_ptr<rocksdb::DB> db_;
};

// A UUID-like key that sorts in no relation to `i`.
std::string Key(uint64_t i) {
  uint64_t h = (i + 1) * 0x9E3779B97F4A7C15ULL;
  h ^= h >> 29;
  return fmt::format("{:016x}-{}", h, i);
}

TEST_F(UnsortedMemTableTest, FindsEveryKeyAndOnlyThoseWritten) {
  Open();
  for (uint64_t i = 0; i < 20000; ++i) Put(Key(i), fmt::format("v{}", i));
  for (uint64_t i = 0; i < 20000; ++i) ASSERT_EQ(Get(Key(i)), fmt::format("v{}", i)) << i;
  EXPECT_EQ(Get(Key(20000)), std::nullopt);
  EXPECT_EQ(Get(""), std::nullopt);
  // A key that is a prefix of a written one, and one that extends it.
  EXPECT_EQ(Get(Key(7).substr(0, 10)), std::nullopt);
  EXPECT_EQ(Get(Key(7) + "x"), std::nullopt);

  std::vector<std::string> keys = {Key(3), Key(99999), Key(19999), "missing", Key(0)};
  std::vector<rocksdb::Slice> slices(keys.begin(), keys.end());
  std::vector<std::string> values;
  std::vector<rocksdb::Status> statuses = db_->MultiGet(rocksdb::ReadOptions(), slices, &values);
  EXPECT_TRUE(statuses[0].ok());
  EXPECT_EQ(values[0], "v3");
  EXPECT_TRUE(statuses[1].IsNotFound());
  EXPECT_EQ(values[2], "v19999");
  EXPECT_TRUE(statuses[3].IsNotFound());
  EXPECT_EQ(values[4], "v0");
}

// Several versions of a key: the newest wins, a snapshot sees the one of its time, a
// deletion hides the key, and a write after the deletion shows again.
TEST_F(UnsortedMemTableTest, VersionsSnapshotsAndDeletions) {
  Open();
  Put("k", "1");
  const rocksdb::Snapshot* first = db_->GetSnapshot();
  Put("other", "x");
  Put("k", "2");
  const rocksdb::Snapshot* second = db_->GetSnapshot();
  Put("k", "3");
  EXPECT_EQ(Get("k"), "3");
  EXPECT_EQ(Get("k", first), "1");
  EXPECT_EQ(Get("k", second), "2");
  ASSERT_TRUE(db_->Delete(rocksdb::WriteOptions(), "k").ok());
  EXPECT_EQ(Get("k"), std::nullopt);
  EXPECT_EQ(Get("k", second), "2");
  Put("k", "4");
  EXPECT_EQ(Get("k"), "4");
  EXPECT_EQ(All(), (std::vector<std::pair<std::string, std::string>>{{"k", "4"}, {"other", "x"}}));
  // The same after a flush to a table file.
  ASSERT_TRUE(db_->Flush(rocksdb::FlushOptions()).ok());
  EXPECT_EQ(Get("k"), "4");
  EXPECT_EQ(Get("k", first), "1");
  db_->ReleaseSnapshot(first);
  db_->ReleaseSnapshot(second);
}

// Iterators over the memtable being written (a sorted copy) and after flushes (the sorted
// entries, shared): the same keys in order, with seeks both ways.
TEST_F(UnsortedMemTableTest, IteratesInKeyOrderBeforeAndAfterFlushes) {
  Open();
  std::map<std::string, std::string> expected;
  for (uint64_t i = 0; i < 3000; ++i) {
    Put(Key(i), std::to_string(i));
    expected[Key(i)] = std::to_string(i);
  }
  const std::vector<std::pair<std::string, std::string>> in_order(expected.begin(), expected.end());
  EXPECT_EQ(All(), in_order);

  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  auto middle = std::next(expected.begin(), 1500);
  it->Seek(middle->first);
  ASSERT_TRUE(it->Valid());
  EXPECT_EQ(it->key().ToString(), middle->first);
  it->Prev();
  ASSERT_TRUE(it->Valid());
  EXPECT_EQ(it->key().ToString(), std::prev(middle)->first);
  it->SeekForPrev(middle->first + "~");  // between middle and the next key
  ASSERT_TRUE(it->Valid());
  EXPECT_EQ(it->key().ToString(), middle->first);
  it->SeekToLast();
  ASSERT_TRUE(it->Valid());
  EXPECT_EQ(it->key().ToString(), expected.rbegin()->first);
  it->SeekForPrev("");  // before every key
  EXPECT_FALSE(it->Valid());
  it->Seek("\xff");  // after every key
  EXPECT_FALSE(it->Valid());
  it.reset();

  ASSERT_TRUE(db_->Flush(rocksdb::FlushOptions()).ok());
  EXPECT_EQ(All(), in_order);
  for (const auto& [key, value] : expected) ASSERT_EQ(Get(key), value);
}

// Small memtables: many become immutable and are flushed while writes go on; every key is
// found throughout, and after a reopen that replays the write-ahead log.
TEST_F(UnsortedMemTableTest, SmallMemTablesFlushAndReopenKeepEveryKey) {
  Open(256 << 10);
  for (uint64_t i = 0; i < 30000; ++i) {
    Put(Key(i), std::string(20, static_cast<char>('a' + i % 26)));
    if (i % 5000 == 4999) {
      for (uint64_t j = 0; j <= i; j += 97) ASSERT_TRUE(Get(Key(j)).has_value()) << j;
    }
  }
  std::vector<rocksdb::LiveFileMetaData> files;  // the memtables flushed so far
  db_->GetLiveFilesMetaData(&files);
  EXPECT_FALSE(files.empty());
  db_.reset();  // the last memtable only in the write-ahead log
  Open(256 << 10);
  for (uint64_t i = 0; i < 30000; ++i) {
    ASSERT_EQ(Get(Key(i)), std::string(20, static_cast<char>('a' + i % 26))) << i;
  }
  EXPECT_EQ(All().size(), 30000u);
}

// Lookups from other threads while one thread writes: a key written is found by every
// later lookup.
TEST_F(UnsortedMemTableTest, ConcurrentLookupsSeeEveryCompletedWrite) {
  Open(1 << 20);
  constexpr uint64_t kKeys = 40000;
  std::atomic<uint64_t> written{0};
  std::atomic<bool> failed{false};
  std::atomic<uint64_t> lookups{0};
  std::thread writer([&] {
    for (uint64_t i = 0; i < kKeys; ++i) {
      if (!db_->Put(rocksdb::WriteOptions(), Key(i), "v").ok()) failed = true;
      written.store(i + 1, std::memory_order_release);
    }
  });
  std::vector<std::thread> readers;
  for (int r = 0; r < 2; ++r) {
    readers.emplace_back([&, r] {
      uint64_t probe = static_cast<uint64_t>(r);
      while (written.load(std::memory_order_acquire) < kKeys) {
        const uint64_t done = written.load(std::memory_order_acquire);
        if (done == 0) continue;
        probe = (probe * 6364136223846793005ULL + 1442695040888963407ULL);
        std::string value;
        if (!db_->Get(rocksdb::ReadOptions(), Key(probe % done), &value).ok()) failed = true;
        if (db_->Get(rocksdb::ReadOptions(), Key(kKeys + probe % 1000), &value).ok()) {
          failed = true;  // never written
        }
        lookups.fetch_add(2, std::memory_order_relaxed);
      }
    });
  }
  writer.join();
  for (std::thread& t : readers) t.join();
  EXPECT_FALSE(failed);
  EXPECT_GT(lookups.load(), 1000u);  // the lookups did overlap the writes
}

}  // namespace
}  // namespace segmenta
