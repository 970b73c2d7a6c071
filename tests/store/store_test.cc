#include "store/store.h"

#include <filesystem>

#include "gtest/gtest.h"
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

}  // namespace
}  // namespace segmenta
