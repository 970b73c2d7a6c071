#include "store/store.h"

#include <algorithm>
#include <filesystem>

#include "fmt/format.h"
#include "gtest/gtest.h"
#include "rocksdb/memtablerep.h"
#include "store/keys.h"

namespace segmenta {
namespace {

std::string TempDir(const std::string& name) {
  std::string dir = ::testing::TempDir() + "/store_test_" + name;
  std::filesystem::remove_all(dir);
  return dir;
}

TEST(StoreTest, SyncedWritesSurviveReopen) {
  std::string dir = TempDir("reopen");
  {
    auto store = Store::Open(dir);
    ASSERT_TRUE(store.ok()) << store.status();
    rocksdb::WriteBatch batch;
    batch.Put((*store)->handle(Family::kContacts), "k", "v");
    ASSERT_TRUE((*store)->Write(&batch, /*sync=*/false).ok());
    ASSERT_TRUE((*store)->SyncWal().ok());
  }
  auto store = Store::Open(dir);
  ASSERT_TRUE(store.ok());
  auto value = (*store)->Get(Family::kContacts, "k");
  ASSERT_TRUE(value.ok());
  EXPECT_EQ(value->value_or(""), "v");
  EXPECT_FALSE((*store)->Get(Family::kAccounts, "k")->has_value());
}

// A bulk load: writes reach readers at a spill (a full buffer, or Flush), in the order they
// were made whichever spill holds them, and the store then stays as they left it.
TEST(StoreTest, BulkLoadShowsWritesAtSpillsWithTheLastWriteOfEachKeyWinning) {
  std::string dir = TempDir("bulk");
  StoreOptions options;
  options.bulk_load = true;
  options.bulk_load_buffer_bytes = 4096;
  {
    auto store = Store::Open(dir, options);
    ASSERT_TRUE(store.ok()) << store.status();
    Store& s = **store;
    rocksdb::WriteBatch batch;
    batch.Put(s.handle(Family::kContacts), "b", "1");
    batch.Put(s.handle(Family::kContacts), "a", "1");
    batch.Put(s.handle(Family::kContacts), "b", "2");  // the later write of the batch wins
    batch.Put(s.handle(Family::kMessages), "gone", "x");
    batch.Delete(s.handle(Family::kMessages), "gone");
    batch.Put(s.handle(Family::kMessages), "kept", "x");
    ASSERT_TRUE(s.Write(&batch, /*sync=*/false).ok());
    EXPECT_EQ(batch.Count(), 0u);                              // taken
    EXPECT_FALSE(s.Get(Family::kContacts, "a")->has_value());  // buffered, not spilled yet
    // Writes of about 300 bytes to buffered families fill the buffer: spills on a thread of
    // their own. Activities go to their file, which takes nothing of the buffer.
    for (int i = 0; i < 40; ++i) {
      rocksdb::WriteBatch more;
      more.Put(s.handle(Family::kActivities), ActivitySeqKey(2 * i), std::string(1000, 'x'));
      more.Put(s.handle(Family::kContacts), "a", std::to_string(i + 2));
      more.Put(s.handle(Family::kAccounts), std::to_string(i), std::string(250, 'p'));
      if (i == 20) more.Delete(s.handle(Family::kContacts), "b");
      if (i == 30) more.Put(s.handle(Family::kContacts), "b", "3");
      ASSERT_TRUE(s.Write(&more, /*sync=*/false).ok());
      EXPECT_EQ(more.Count(), 0u);
      // The batch, given the memory of one already written, serves again.
      more.Put(s.handle(Family::kActivities), ActivitySeqKey(2 * i + 1), std::string(10, 'y'));
      ASSERT_TRUE(s.Write(&more, /*sync=*/false).ok());
    }
    rocksdb::WriteBatch merge;  // refused whole: its put is not kept
    merge.Put(s.handle(Family::kContacts), "a", "merged");
    merge.Merge(s.handle(Family::kMeta), "k", "v");
    EXPECT_TRUE(absl::IsInvalidArgument(s.Write(&merge, /*sync=*/false)));
    ASSERT_TRUE(s.Flush().ok());
    EXPECT_EQ(s.Get(Family::kContacts, "a")->value_or(""), "41");
    EXPECT_EQ(s.Get(Family::kContacts, "b")->value_or(""), "3");
    EXPECT_FALSE(s.Get(Family::kMessages, "gone")->has_value());
    EXPECT_EQ(s.Get(Family::kMessages, "kept")->value_or(""), "x");
    EXPECT_FALSE(std::filesystem::exists(dir + "/bulk-load"));
  }
  auto store = Store::Open(dir);  // reopened for ordinary writes
  ASSERT_TRUE(store.ok()) << store.status();
  int activities = 0;
  auto it = (*store)->NewIterator(Family::kActivities);
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const bool reused = activities % 2 == 1;
    const std::string expected(reused ? 10 : 1000, reused ? 'y' : 'x');
    EXPECT_EQ(it->value().ToString(), expected) << activities;
    ++activities;
  }
  EXPECT_EQ(activities, 80);
  EXPECT_EQ((*store)->Get(Family::kContacts, "a")->value_or(""), "41");
  rocksdb::WriteBatch batch;
  batch.Put((*store)->handle(Family::kContacts), "a", "42");
  ASSERT_TRUE((*store)->Write(&batch, /*sync=*/true).ok());
  EXPECT_EQ((*store)->Get(Family::kContacts, "a")->value_or(""), "42");
}

// Activities are written to their table file as they come: a key not above every one
// written before refuses its whole batch, which the caller gets back as it was, and the
// load goes on.
TEST(StoreTest, BulkLoadRefusesActivitiesOutOfOrderWithTheirWholeBatch) {
  std::string dir = TempDir("bulk_ordered");
  StoreOptions options;
  options.bulk_load = true;
  auto store = Store::Open(dir, options);
  ASSERT_TRUE(store.ok()) << store.status();
  Store& s = **store;
  rocksdb::WriteBatch first;
  first.Put(s.handle(Family::kActivities), ActivitySeqKey(5), "five");
  first.Put(s.handle(Family::kActivities), ActivitySeqKey(6), "six");
  ASSERT_TRUE(s.Write(&first, /*sync=*/false).ok());
  for (uint64_t seq : {6, 3}) {  // equal to the last, below it
    rocksdb::WriteBatch late;
    late.Put(s.handle(Family::kContacts), "c", "late");
    late.Put(s.handle(Family::kActivities), ActivitySeqKey(7), "seven");
    late.Put(s.handle(Family::kActivities), ActivitySeqKey(seq), "late");
    absl::Status refused = s.Write(&late, /*sync=*/false);
    EXPECT_TRUE(absl::IsInvalidArgument(refused)) << refused;
    EXPECT_NE(refused.message().find("activities"), std::string::npos) << refused;
    EXPECT_EQ(late.Count(), 3u);  // given back
  }
  rocksdb::WriteBatch within;  // out of order inside one batch
  within.Put(s.handle(Family::kActivities), ActivitySeqKey(9), "nine");
  within.Put(s.handle(Family::kActivities), ActivitySeqKey(8), "eight");
  EXPECT_TRUE(absl::IsInvalidArgument(s.Write(&within, /*sync=*/false)));
  rocksdb::WriteBatch next;
  next.Put(s.handle(Family::kActivities), ActivitySeqKey(7), "seven");
  next.Put(s.handle(Family::kContacts), "c", "next");
  ASSERT_TRUE(s.Write(&next, /*sync=*/false).ok());
  ASSERT_TRUE(s.Flush().ok());
  std::vector<std::string> stored;
  auto it = s.NewIterator(Family::kActivities);
  for (it->SeekToFirst(); it->Valid(); it->Next()) stored.push_back(it->value().ToString());
  EXPECT_EQ(stored, (std::vector<std::string>{"five", "six", "seven"}));
  EXPECT_EQ(s.Get(Family::kContacts, "c")->value_or(""), "next");
}

// Activities handed over with their memory follow the batch's writes, in a bulk load as in
// an ordinary write; out of order, they refuse the batch and are given back.
TEST(StoreTest, ActivitiesHandedOverFollowTheBatchInEitherWritePath) {
  for (bool bulk : {true, false}) {
    SCOPED_TRACE(bulk);
    std::string dir = TempDir(bulk ? "owned_bulk" : "owned");
    StoreOptions options;
    options.bulk_load = bulk;
    auto store = Store::Open(dir, options);
    ASSERT_TRUE(store.ok()) << store.status();
    Store& s = **store;
    rocksdb::WriteBatch batch;
    batch.Put(s.handle(Family::kActivities), ActivitySeqKey(1), "one");
    batch.Put(s.handle(Family::kContacts), "c", "1");
    std::vector<OwnedPut> activities = {{ActivitySeqKey(2), "two"}, {ActivitySeqKey(3), "three"}};
    ASSERT_TRUE(s.Write(&batch, /*sync=*/false, &activities).ok());
    if (bulk) {
      EXPECT_TRUE(activities.empty());  // taken
      rocksdb::WriteBatch late;
      late.Put(s.handle(Family::kContacts), "c", "late");
      std::vector<OwnedPut> again = {{ActivitySeqKey(4), "four"}, {ActivitySeqKey(3), "late"}};
      EXPECT_TRUE(absl::IsInvalidArgument(s.Write(&late, /*sync=*/false, &again)));
      EXPECT_EQ(again.size(), 2u);  // given back
      EXPECT_EQ(late.Count(), 1u);
      ASSERT_TRUE(s.Flush().ok());
    }
    std::vector<std::string> stored;
    auto it = s.NewIterator(Family::kActivities);
    for (it->SeekToFirst(); it->Valid(); it->Next()) stored.push_back(it->value().ToString());
    EXPECT_EQ(stored, (std::vector<std::string>{"one", "two", "three"}));
    EXPECT_EQ(s.Get(Family::kContacts, "c")->value_or(""), "1");
  }
}

// Keys that agree on their first 16 bytes, or are zero-padded versions of one another, are
// kept apart and in RocksDB's (memcmp) order.
TEST(StoreTest, BulkLoadOrdersKeysThatShareALongPrefix) {
  std::string dir = TempDir("bulk_order");
  StoreOptions options;
  options.bulk_load = true;
  auto store = Store::Open(dir, options);
  ASSERT_TRUE(store.ok()) << store.status();
  const std::string long_a = std::string(16, 'k') + "a";
  std::vector<std::string> keys = {std::string("ab"),
                                   std::string("ab\0", 3),
                                   std::string("ab\0\0", 4),
                                   std::string(16, 'k'),
                                   long_a + "zz",
                                   long_a,
                                   std::string(16, 'k') + "b",
                                   std::string(16, 'k') + "c",  // next to "b", as long
                                   std::string(16, 'k') + std::string(5, '\0'),
                                   std::string(20, '\0'),
                                   std::string(3, '\0')};
  rocksdb::WriteBatch batch;
  for (const std::string& key : keys) batch.Put((*store)->handle(Family::kMessages), key, key);
  // The later write of a key wins, of a long key and of a short one.
  const std::string short_b("ab\0", 3);
  batch.Put((*store)->handle(Family::kMessages), long_a, "again");
  batch.Put((*store)->handle(Family::kMessages), short_b, "again");
  ASSERT_TRUE((*store)->Write(&batch, /*sync=*/false).ok());
  ASSERT_TRUE((*store)->Flush().ok());
  std::vector<std::string> expected = keys;
  std::sort(expected.begin(), expected.end());
  std::vector<std::string> stored;
  auto it = (*store)->NewIterator(Family::kMessages);
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    stored.push_back(it->key().ToString());
    const bool again = stored.back() == long_a || stored.back() == short_b;
    EXPECT_EQ(it->value().ToString(), again ? "again" : stored.back());
  }
  EXPECT_EQ(stored, expected);
}

// The buffer's arena is made of 4 MiB blocks, a write larger than one in a block of its own:
// of a key's writes in different blocks, whichever the blocks' addresses, the later wins.
// Thousands of entries make the family's entries grow several times; a refused batch in
// between leaves nothing.
TEST(StoreTest, BulkLoadKeepsTheLastWriteOfAKeyAcrossArenaBlocks) {
  std::string dir = TempDir("bulk_blocks");
  StoreOptions options;
  options.bulk_load = true;
  options.bulk_load_buffer_bytes = size_t{40} << 20;  // two spills: blocks are reused
  auto store = Store::Open(dir, options);
  ASSERT_TRUE(store.ok()) << store.status();
  Store& s = **store;
  const std::string big(5 << 20, 'B');  // over a block
  for (int i = 0; i < 60; ++i) {
    rocksdb::WriteBatch batch;
    batch.Put(s.handle(Family::kContacts), "k", std::to_string(i));
    if (i % 7 == 3) batch.Put(s.handle(Family::kContacts), "big", big + std::to_string(i));
    for (int j = 0; j < 1000; ++j) {
      batch.Put(s.handle(Family::kMessages), fmt::format("m{:03}{:04}", i, j),
                std::string(900, 'v'));
    }
    ASSERT_TRUE(s.Write(&batch, /*sync=*/false).ok()) << i;
    if (i == 41) {
      rocksdb::WriteBatch refused;
      refused.Put(s.handle(Family::kContacts), "k", "refused");
      refused.Merge(s.handle(Family::kMeta), "k", "v");
      EXPECT_TRUE(absl::IsInvalidArgument(s.Write(&refused, /*sync=*/false)));
    }
  }
  ASSERT_TRUE(s.Flush().ok());
  EXPECT_EQ(s.Get(Family::kContacts, "k")->value_or(""), "59");
  EXPECT_EQ(s.Get(Family::kContacts, "big")->value_or(""), big + "59");
  int messages = 0;
  auto it = s.NewIterator(Family::kMessages);
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    ASSERT_EQ(it->key().ToString(), fmt::format("m{:03}{:04}", messages / 1000, messages % 1000));
    ++messages;
  }
  EXPECT_EQ(messages, 60000);
}

TEST(StoreTest, SecondOpenOfTheSameDirectoryIsRefusedClearly) {
  std::string dir = TempDir("locked");
  auto first = Store::Open(dir);
  ASSERT_TRUE(first.ok());
  auto second = Store::Open(dir);
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(std::string(second.status().message()).find("in use"), std::string::npos);
}

TEST(StoreTest, ActivityKeysSortByContactThenTimeIncludingNegativeTimes) {
  EXPECT_LT(ActivityKey(1, -5, 9), ActivityKey(1, 3, 1));
  EXPECT_LT(ActivityKey(1, 3, 1), ActivityKey(1, 3, 2));
  EXPECT_LT(ActivityKey(1, 1LL << 50, 1), ActivityKey(2, -1, 0));
  ActivityKeyParts parts = DecodeActivityKey(ActivityKey(7, -1234, 99));
  EXPECT_EQ(parts.contact, 7u);
  EXPECT_EQ(parts.time_ms, -1234);
  EXPECT_EQ(parts.seq, 99u);
}

// The messages family's memtable is the one the build chose (SEGMENTA_UNSORTED_MEMTABLE in
// CMakeLists.txt): the unsorted one where RocksDB is the version it was checked against,
// else RocksDB's standard skip list.
TEST(StoreTest, MessagesFamilyUsesTheMemTableTheBuildChose) {
  auto store = Store::Open(TempDir("memtable_choice"));
  ASSERT_TRUE(store.ok());
  const rocksdb::Options options = (*store)->db()->GetOptions((*store)->handle(Family::kMessages));
  ASSERT_NE(options.memtable_factory, nullptr);
#ifdef SEGMENTA_UNSORTED_MEMTABLE
  EXPECT_STREQ(options.memtable_factory->Name(), "SegmentaUnsortedMemTable");
#else
  EXPECT_STREQ(options.memtable_factory->Name(), rocksdb::SkipListFactory::kClassName());
#endif
  // The other families keep the standard one either way.
  EXPECT_STREQ(
      (*store)->db()->GetOptions((*store)->handle(Family::kIdentities)).memtable_factory->Name(),
      rocksdb::SkipListFactory::kClassName());
}

// What deduplication asks of the messages family, whichever memtable holds it: every
// messageId written is found, by Get and by the batched Contains, in the memtable, after a
// flush and after a reopen; and none that was not written.
TEST(StoreTest, MessageIdsAreFoundInTheMemTableAfterAFlushAndAfterAReopen) {
  const std::string dir = TempDir("message_ids");
  std::vector<std::string> written, absent;
  for (int i = 0; i < 2000; ++i) {
    written.push_back(fmt::format("msg-{:08x}-{}", i * 2654435761u, i));
    absent.push_back(fmt::format("msg-{:08x}-{}-absent", i * 2654435761u, i));
  }
  auto check = [&](const Store& s, const char* when) {
    std::vector<std::string_view> keys(written.begin(), written.end());
    keys.insert(keys.end(), absent.begin(), absent.end());
    absl::StatusOr<std::vector<bool>> found = s.Contains(Family::kMessages, keys);
    ASSERT_TRUE(found.ok()) << when;
    for (size_t i = 0; i < keys.size(); ++i) {
      ASSERT_EQ((*found)[i], i < written.size()) << keys[i] << " " << when;
    }
    EXPECT_TRUE(s.Get(Family::kMessages, written[7])->has_value()) << when;
    EXPECT_FALSE(s.Get(Family::kMessages, absent[7])->has_value()) << when;
  };
  {
    auto store = Store::Open(dir);
    ASSERT_TRUE(store.ok());
    Store& s = **store;
    for (size_t i = 0; i < written.size(); i += 100) {
      rocksdb::WriteBatch batch;
      for (size_t j = i; j < i + 100; ++j) batch.Put(s.handle(Family::kMessages), written[j], "");
      ASSERT_TRUE(s.Write(&batch, /*sync=*/true).ok());
    }
    check(s, "in the memtable");
    ASSERT_TRUE(s.Flush().ok());
    check(s, "after a flush");
  }
  auto reopened = Store::Open(dir);
  ASSERT_TRUE(reopened.ok());
  check(**reopened, "after a reopen");
}

}  // namespace
}  // namespace segmenta
