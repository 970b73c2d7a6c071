// The membership log on its own store: what one enter or exit writes (membership, history
// under the audience and the contact, an outbox entry only for an audience with webhooks),
// history read newest first, ids and counters that survive a reopen.
#include "segments/membership_log.h"

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "store/keys.h"

namespace segmenta {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;

class MembershipLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = ::testing::TempDir() + "/membership_log_" + test->name();
    std::filesystem::remove_all(dir_);
    store_ = *Store::Open(dir_);
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  size_t Count(Family family) {
    size_t n = 0;
    auto it = store_->NewIterator(family);
    for (it->SeekToFirst(); it->Valid(); it->Next()) ++n;
    return n;
  }
  std::vector<std::pair<uint32_t, ContactId>> Memberships(const MembershipLog& log) {
    std::vector<std::pair<uint32_t, ContactId>> out;
    EXPECT_TRUE(
        log.ForEachMembership([&](uint32_t a, ContactId c) { out.emplace_back(a, c); }).ok());
    return out;
  }

  std::string dir_;
  std::unique_ptr<Store> store_;
};

TEST_F(MembershipLogTest, EntersAndExitsAreWrittenWithTheirHistoryAndOutbox) {
  MembershipLog log(store_.get());
  ASSERT_TRUE(log.Load().ok());
  Audience vip{3, "VIP", AudienceKind::kGroup, {}, {}, {}};
  Audience lead{
      4, "Lead", AudienceKind::kStage, {}, {{"https://hooks.example/x", "0123456789abcdef"}}, {}};
  rocksdb::WriteBatch batch;
  log.Record(vip, 10, true, 1000, "event: Order Completed", &batch);
  log.Record(vip, 11, true, 1000, "event: Order Completed", &batch);
  log.Record(lead, 10, true, 2000, "trait: email", &batch);
  log.Record(vip, 10, false, 3000, "time", &batch);
  log.Flush(&batch);
  ASSERT_TRUE(store_->Write(&batch, /*sync=*/false).ok());
  EXPECT_TRUE(vip.members.contains(11));
  EXPECT_FALSE(vip.members.contains(10));
  EXPECT_THAT(Memberships(log), ElementsAre(Pair(3u, 11u), Pair(4u, 10u)));
  EXPECT_EQ(Count(Family::kOutbox), 1u);  // only the stage has a webhook

  auto group = log.AudienceHistory(3, 10);
  ASSERT_TRUE(group.ok()) << group.status();
  ASSERT_EQ(group->size(), 3u);
  EXPECT_FALSE((*group)[0].entered);  // newest first
  EXPECT_EQ((*group)[0].cause, "time");
  EXPECT_EQ((*group)[0].time_ms, 3000);
  EXPECT_EQ((*group)[2].contact, 10u);
  auto contact = log.ContactHistory(10, 2);
  ASSERT_TRUE(contact.ok());
  ASSERT_EQ(contact->size(), 2u);  // the limit
  EXPECT_EQ((*contact)[0].audience, 3u);
  EXPECT_EQ((*contact)[1].audience_name, "Lead");
  EXPECT_EQ((*contact)[1].kind, AudienceKind::kStage);

  rocksdb::WriteBatch forget;
  log.Forget(3, &forget);
  ASSERT_TRUE(store_->Write(&forget, false).ok());
  EXPECT_THAT(Memberships(log), ElementsAre(Pair(4u, 10u)));
  EXPECT_EQ(log.AudienceHistory(3, 10)->size(), 3u);  // history stays
}

TEST_F(MembershipLogTest, IdsAndSequencesContinueAfterAReopen) {
  Audience vip{1, "VIP", AudienceKind::kGroup, {}, {}, {}};
  {
    MembershipLog log(store_.get());
    ASSERT_TRUE(log.Load().ok());
    EXPECT_EQ(log.next_id(), 1u);
    EXPECT_EQ(log.AllocateId(), 1u);
    EXPECT_EQ(log.AllocateId(), 2u);
    rocksdb::WriteBatch batch;
    log.Record(vip, 5, true, 1000, "a", &batch);
    log.Flush(&batch);
    ASSERT_TRUE(store_->Write(&batch, false).ok());
  }
  MembershipLog log(store_.get());
  ASSERT_TRUE(log.Load().ok());
  EXPECT_EQ(log.next_id(), 3u);
  rocksdb::WriteBatch batch;
  log.Record(vip, 5, false, 1000, "b", &batch);  // same instant: ordered by sequence
  ASSERT_TRUE(store_->Write(&batch, false).ok());
  auto history = log.ContactHistory(5, 10);
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->size(), 2u);
  EXPECT_EQ((*history)[0].cause, "b");
  EXPECT_EQ((*history)[1].cause, "a");
}

TEST_F(MembershipLogTest, CountersAreWrittenOnlyWhenTheyMoved) {
  MembershipLog log(store_.get());
  ASSERT_TRUE(log.Load().ok());
  rocksdb::WriteBatch batch;
  log.Flush(&batch);
  EXPECT_EQ(batch.Count(), 0u);
  log.AllocateId();
  log.Flush(&batch);
  EXPECT_EQ(batch.Count(), 1u);
  log.Flush(&batch);
  EXPECT_EQ(batch.Count(), 1u);
}

}  // namespace
}  // namespace segmenta
