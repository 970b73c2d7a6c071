#include "ingest/worker.h"

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <future>
#include <thread>

#include "core/time_format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "profile/contact_reader.h"

namespace segmenta {
namespace {

using ::testing::HasSubstr;

absl::Time At(int64_t seconds) { return absl::FromUnixSeconds(1795500000 + seconds); }

Message Make(MessageType type, std::string id, std::string user, std::string anon, absl::Time t) {
  Message m;
  m.type = type;
  m.message_id = std::move(id);
  m.user_id = std::move(user);
  m.anonymous_id = std::move(anon);
  m.timestamp = t;
  m.received_at = t;
  return m;
}

Message Track(std::string id, std::string user, std::string anon, std::string event, absl::Time t,
              std::string properties = "{}") {
  Message m = Make(MessageType::kTrack, std::move(id), std::move(user), std::move(anon), t);
  m.event = std::move(event);
  m.properties = std::move(properties);
  return m;
}

Message Identify(std::string id, std::string user, std::string anon, std::string traits,
                 absl::Time t) {
  Message m = Make(MessageType::kIdentify, std::move(id), std::move(user), std::move(anon), t);
  m.traits = std::move(traits);
  return m;
}

class WorkerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "/worker_test_" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::remove_all(dir_);
    Open();
  }
  void TearDown() override {
    Close();
    std::filesystem::remove_all(dir_);
  }
  void Open(WorkerOptions options = {}) {
    auto store = Store::Open(dir_);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
    auto worker = Worker::Start(store_.get(), options);
    ASSERT_TRUE(worker.ok()) << worker.status();
    worker_ = std::move(*worker);
  }
  void Close() {
    worker_.reset();
    store_.reset();
  }
  IngestResult Ingest(std::vector<Message> messages) {
    auto result = worker_->SubmitAndWait(std::move(messages));
    EXPECT_TRUE(result.ok()) << result.status();
    return result.ok() ? *result : IngestResult{};
  }
  Contact Find(std::string_view id) {
    auto contact = ContactReader(store_.get()).Find(id);
    EXPECT_TRUE(contact.ok()) << contact.status();
    return contact.ok() ? *contact : Contact{};
  }
  std::vector<std::string> Events(ContactId id) {
    auto activities = ContactReader(store_.get()).Activities(id, 100);
    EXPECT_TRUE(activities.ok());
    std::vector<std::string> out;
    for (const Activity& a : *activities) out.push_back(a.json);
    return out;
  }

  std::string dir_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<Worker> worker_;
};

TEST_F(WorkerTest, IdentifyAndTrackBuildOneProfile) {
  Ingest({Identify("m1", "u1", "a1", R"({"age":47,"country":"ES"})", At(0)),
          Track("m2", "", "a1", "Product Viewed", At(10), R"({"category":"cycling"})")});
  Contact c = Find("u1");
  EXPECT_EQ(c.traits["age"].json, "47");
  EXPECT_EQ(c.identities.size(), 2u);
  EXPECT_EQ(Find("anonymous:a1").id, c.id);
  auto events = Events(c.id);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_THAT(events[0], HasSubstr(R"("event":"Product Viewed")"));
  EXPECT_THAT(events[0], HasSubstr(R"("properties":{"category":"cycling"})"));
  EXPECT_EQ(worker_->stats().contacts, 1u);
  EXPECT_EQ(worker_->stats().activities, 2u);
}

TEST_F(WorkerTest, RepeatedMessageIdIsStoredOnceEvenAcrossRestarts) {
  IngestResult first =
      Ingest({Track("dup", "", "a1", "Page", At(0)), Track("dup", "", "a1", "Page", At(0))});
  EXPECT_EQ(first.stored, 1u);
  EXPECT_EQ(first.duplicates, 1u);
  Close();
  Open();
  IngestResult again = Ingest({Track("dup", "", "a1", "Page", At(0))});
  EXPECT_EQ(again.stored, 0u);
  EXPECT_EQ(again.duplicates, 1u);
  EXPECT_EQ(Events(Find("a1").id).size(), 1u);
}

TEST_F(WorkerTest, MessageIdsTheSenderVouchesForAreNeitherCheckedNorRecorded) {
  Message vouched = Track("exposure-1", "", "a1", "Experience Viewed", At(0));
  vouched.check_message_id = false;
  EXPECT_EQ(Ingest({vouched}).stored, 1u);
  // Not recorded: the same id, checked this time, is not a duplicate.
  IngestResult checked = Ingest({Track("exposure-1", "", "a1", "Experience Viewed", At(1))});
  EXPECT_EQ(checked.stored, 1u);
  EXPECT_EQ(checked.duplicates, 0u);
  EXPECT_EQ(Events(Find("a1").id).size(), 2u);
}

TEST_F(WorkerTest, MergeMovesActivitiesTraitsAndAccountsAndSurvivesRestart) {
  Ingest({Track("m1", "", "anon", "Product Added", At(0)),
          Identify("m2", "", "anon", R"({"plan":"free","city":"Bilbao"})", At(1))});
  Ingest({Identify("m3", "u1", "phone", R"({"plan":"pro"})", At(5))});
  Message group_call = Make(MessageType::kGroup, "m4", "u1", "", At(6));
  group_call.group_id = "acme";
  group_call.traits = R"({"industry":"Retail","employees":120})";
  Ingest({group_call});
  ContactId anon_contact = Find("anon").id;
  ContactId user_contact = Find("u1").id;
  ASSERT_NE(anon_contact, user_contact);

  // The web visitor logs in: both contacts become one, the older one survives.
  Ingest({Identify("m5", "u1", "anon", "{}", At(10))});
  Close();
  Open();
  Contact merged = Find("u1");
  EXPECT_EQ(merged.id, std::min(anon_contact, user_contact));
  EXPECT_EQ(Find("phone").id, merged.id);
  EXPECT_EQ(Find(std::to_string(std::max(anon_contact, user_contact))).id, merged.id);
  EXPECT_EQ(merged.traits["plan"].json, "\"pro\"");
  EXPECT_EQ(merged.traits["city"].json, "\"Bilbao\"");
  EXPECT_EQ(merged.accounts, std::vector<std::string>{"acme"});
  EXPECT_EQ(Events(merged.id).size(), 5u);
  auto members = ContactReader(store_.get()).AccountMembers("acme", "", 10);
  ASSERT_TRUE(members.ok());
  EXPECT_EQ(members->contacts, std::vector<ContactId>{merged.id});
  EXPECT_EQ(worker_->stats().merges, 1u);
  EXPECT_EQ(worker_->stats().contacts, 1u);

  // Later events for either id reach the one contact.
  Ingest({Track("m6", "", "phone", "Order Completed", At(20))});
  EXPECT_EQ(Events(merged.id).size(), 6u);
}

TEST_F(WorkerTest, MergeWithinOneCommitMovesActivitiesWrittenInThatCommit) {
  Ingest({Track("m1", "", "a1", "Product Viewed", At(0)),
          Track("m2", "u1", "", "Order Completed", At(1)),
          Identify("m3", "u1", "a1", "{}", At(2))});
  Contact c = Find("u1");
  EXPECT_EQ(Find("a1").id, c.id);
  EXPECT_EQ(Events(c.id).size(), 3u);
  EXPECT_EQ(ContactReader(store_.get()).ActivityCount(c.id).value(), 3u);
}

TEST_F(WorkerTest, ActivitiesAreReadInEventTimeOrderWhateverTheArrivalOrder) {
  Ingest({Track("late", "", "a1", "Third", At(30)), Track("early", "", "a1", "First", At(10))});
  Ingest({Track("middle", "", "a1", "Second", At(20))});
  auto events = Events(Find("a1").id);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_THAT(events[0], HasSubstr("Third"));
  EXPECT_THAT(events[1], HasSubstr("Second"));
  EXPECT_THAT(events[2], HasSubstr("First"));
}

TEST_F(WorkerTest, ConflictingUserIdsAreNotMergedAndAreCounted) {
  Ingest({Identify("m1", "u1", "shared", "{}", At(0)), Identify("m2", "u2", "x", "{}", At(1))});
  Ingest({Identify("m3", "u2", "shared", "{}", At(2))});
  EXPECT_NE(Find("u1").id, Find("u2").id);
  EXPECT_EQ(Find("shared").id, Find("u1").id);
  EXPECT_EQ(worker_->stats().refused_links, 1u);
  EXPECT_EQ(worker_->stats().merges, 0u);
}

TEST_F(WorkerTest, AccountOnlyGroupCallUpsertsAnAccount) {
  Message account = Make(MessageType::kGroup, "acc1", "", "", At(0));
  account.group_id = "globex";
  account.traits = R"({"industry":"Software"})";
  Ingest({account});
  auto a = ContactReader(store_.get()).FindAccount("globex");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->traits["industry"].json, "\"Software\"");
  EXPECT_EQ(worker_->stats().accounts, 1u);
  EXPECT_EQ(worker_->stats().contacts, 0u);
}

TEST_F(WorkerTest, SubmissionWithoutUsableIdIsRefusedAloneAndStoresNothing) {
  auto bad = worker_->SubmitAndWait(
      {Track("ok", "", "a1", "E", At(0)), Track("bad", "null", "", "E", At(0))});
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(worker_->stats().activities, 0u);
  Ingest({Track("ok", "", "a1", "E", At(0))});
  EXPECT_EQ(worker_->stats().activities, 1u);
}

TEST_F(WorkerTest, ConcurrentSubmissionsAllCompleteDurably) {
  constexpr int kThreads = 8, kPerThread = 50;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        std::string id = "t" + std::to_string(t) + "-" + std::to_string(i);
        auto r =
            worker_->SubmitAndWait({Track(id, "", "anon" + std::to_string(i % 7), "E", At(i))});
        ASSERT_TRUE(r.ok());
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(worker_->stats().activities, uint64_t{kThreads * kPerThread});
  Close();
  Open();
  EXPECT_EQ(worker_->stats().activities, uint64_t{kThreads * kPerThread});
  EXPECT_EQ(worker_->stats().contacts, 7u);
}

TEST_F(WorkerTest, ReadersGetInWhileALargeCommitIsApplied) {
  // One submission of 20,000 new visitors is one commit; a reader that asks meanwhile is let
  // in between messages, so it sees the table part-way (each message whole), instead of
  // waiting for the whole commit.
  constexpr int kVisitors = 20000;
  std::vector<Message> visitors;
  for (int i = 0; i < kVisitors; ++i) {
    visitors.push_back(Track("m" + std::to_string(i), "", "v" + std::to_string(i), "E", At(i)));
  }
  std::atomic<bool> done{false};
  std::vector<size_t> seen;
  std::thread reader([&] {
    while (!done.load()) {
      seen.push_back(worker_->ReadProfiles([](const ProfileTable& p) { return p.contact_rows(); }));
    }
  });
  Ingest(std::move(visitors));
  done = true;
  reader.join();
  const size_t final_rows =
      worker_->ReadProfiles([](const ProfileTable& p) { return p.contact_rows(); });
  EXPECT_GE(final_rows, static_cast<size_t>(kVisitors));
  const size_t partway = std::count_if(seen.begin(), seen.end(),
                                       [&](size_t rows) { return rows > 1 && rows < final_rows; });
  EXPECT_GT(partway, 0u) << "no read got in while the commit was applied (" << seen.size()
                         << " reads)";
  EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));
}

TEST_F(WorkerTest, ListPagesThroughContactsAndFiltersByTrait) {
  for (int i = 0; i < 5; ++i) {
    Ingest({Identify("m" + std::to_string(i), "u" + std::to_string(i), "",
                     i % 2 ? R"({"country":"ES"})" : R"({"country":"FR"})", At(i))});
  }
  ContactReader reader(store_.get());
  auto page = reader.List("", 2);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->contacts.size(), 2u);
  auto next = reader.List(page->next_cursor, 10);
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->contacts.size(), 3u);
  EXPECT_TRUE(next->next_cursor.empty());
  auto spanish = reader.List("", 10, "country", "\"ES\"");
  ASSERT_TRUE(spanish.ok());
  EXPECT_EQ(spanish->contacts.size(), 2u);
  EXPECT_FALSE(reader.List("zz!", 10).ok());
}

}  // namespace
}  // namespace segmenta

namespace segmenta {
namespace {

// Regression: a commit holding many contacts and merges used to index the pending-activity
// map while holding an iterator into it, and crashed once the map grew (Abseil's hardening
// assert). The cache bound of 10 also makes the writer reload contacts between commits.
TEST_F(WorkerTest, ManyMergesInOneCommitKeepEveryActivityWithASmallCache) {
  Close();
  WorkerOptions options;
  options.max_cached_contacts = 10;
  Open(options);
  constexpr int kVisitors = 3000;
  std::vector<Message> messages;
  for (int i = 0; i < kVisitors; ++i) {
    std::string anon = "anon-" + std::to_string(i);
    messages.push_back(Track("v" + std::to_string(i), "", anon, "Product Viewed", At(i)));
    messages.push_back(Track("p" + std::to_string(i), "", "phone-" + std::to_string(i),
                             "Products Searched", At(i)));
  }
  for (int i = 0; i < kVisitors; ++i) {
    std::string user = "user-" + std::to_string(i);
    messages.push_back(Identify("i" + std::to_string(i), user, "anon-" + std::to_string(i), "{}",
                                At(kVisitors + i)));
    Message alias = Make(MessageType::kAlias, "a" + std::to_string(i), user, "", At(kVisitors + i));
    alias.previous_id = "phone-" + std::to_string(i);
    messages.push_back(alias);
  }
  Ingest(std::move(messages));
  // A second commit reaches contacts that the bounded cache dropped.
  std::vector<Message> later;
  for (int i = 0; i < kVisitors; i += 7) {
    later.push_back(Track("o" + std::to_string(i), "user-" + std::to_string(i), "",
                          "Order Completed", At(3 * kVisitors + i)));
  }
  Ingest(std::move(later));
  EXPECT_EQ(worker_->stats().contacts, static_cast<uint64_t>(kVisitors));
  EXPECT_EQ(worker_->stats().merges, static_cast<uint64_t>(kVisitors));
  for (int i : {0, 7, 1234, kVisitors - 1}) {
    Contact c = Find("phone-" + std::to_string(i));
    EXPECT_EQ(c.id, Find("user-" + std::to_string(i)).id);
    EXPECT_EQ(Events(c.id).size(), i % 7 == 0 ? 5u : 4u) << i;
  }
}

// The writer applies a commit while the store thread still writes the previous one: a merge
// must move the activities of that unwritten batch too, and a messageId it holds is still a
// duplicate. One message per commit and no waiting between submissions make every commit
// follow one that may be on its way.
TEST_F(WorkerTest, MergesAndRetriesRightAfterACommitStillBeingWrittenLoseNothing) {
  Close();
  WorkerOptions options;
  options.max_commit_messages = 1;
  options.min_pipelined_commit_messages = 1;
  Open(options);
  constexpr int kVisitors = 2000;
  std::atomic<int> failed{0};
  auto submit = [&](Message m) {
    worker_->Submit({std::move(m)}, [&](absl::StatusOr<IngestResult> r) {
      if (!r.ok()) ++failed;
    });
  };
  for (int i = 0; i < kVisitors; ++i) {
    std::string anon = "anon-" + std::to_string(i);
    std::string user = "user-" + std::to_string(i);
    submit(Track("o" + std::to_string(i), user, "", "Order Completed", At(i)));
    submit(Track("v" + std::to_string(i), "", anon, "Product Viewed", At(i)));
    submit(Identify("i" + std::to_string(i), user, anon, "{}", At(i + 1)));  // merges the two
    submit(Identify("i" + std::to_string(i), user, anon, "{}", At(i + 1)));  // a retry
  }
  worker_->Drain();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(worker_->stats().contacts, static_cast<uint64_t>(kVisitors));
  EXPECT_EQ(worker_->stats().merges, static_cast<uint64_t>(kVisitors));
  EXPECT_EQ(worker_->stats().duplicates, static_cast<uint64_t>(kVisitors));
  EXPECT_EQ(worker_->stats().activities, static_cast<uint64_t>(3 * kVisitors));
  // The survivor's index holds the three activities and the absorbed contact's none.
  ContactReader reader(store_.get());
  uint64_t indexed = 0;
  for (int i = 0; i < kVisitors; ++i) {
    Contact c = Find("user-" + std::to_string(i));
    ASSERT_EQ(Find("anonymous:anon-" + std::to_string(i)).id, c.id);
    uint64_t count = reader.ActivityCount(c.id).value();
    EXPECT_EQ(count, 3u) << i;
    indexed += count;
  }
  EXPECT_EQ(indexed, static_cast<uint64_t>(3 * kVisitors));
  uint64_t entries = 0;
  auto it = store_->NewIterator(Family::kContactActivities);
  for (it->SeekToFirst(); it->Valid(); it->Next()) ++entries;
  EXPECT_EQ(entries, static_cast<uint64_t>(3 * kVisitors));
}

// In a bulk load the store shows what was written only after a spill: a merge must still
// move every activity of the absorbed contact, written many commits before (still buffered,
// or spilled, or both across several spills), and a retried messageId is a duplicate
// however long ago its first copy came. One message per commit; a buffer that spills only at
// the end, then one that spills every few commits (and a messageId set sized up front).
TEST_F(WorkerTest, BulkLoadMergesAndRetriesReachWritesOfEveryEarlierCommit) {
  for (auto [buffer_bytes, expected_messages] :
       {std::pair{size_t{64} << 20, size_t{0}}, std::pair{size_t{8} << 10, size_t{1500}}}) {
    SCOPED_TRACE(buffer_bytes);
    Close();
    std::filesystem::remove_all(dir_);
    StoreOptions store_options;
    store_options.bulk_load = true;
    store_options.bulk_load_buffer_bytes = buffer_bytes;
    auto store = Store::Open(dir_, store_options);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
    WorkerOptions options;
    options.durable = false;
    options.max_commit_messages = 1;
    options.expected_messages = expected_messages;
    auto worker = Worker::Start(store_.get(), options);
    ASSERT_TRUE(worker.ok()) << worker.status();
    worker_ = std::move(*worker);

    constexpr int kVisitors = 300;
    std::vector<Message> messages;
    for (int i = 0; i < kVisitors; ++i) {
      std::string anon = "anon-" + std::to_string(i);
      messages.push_back(Track("v" + std::to_string(i), "", anon, "Product Viewed", At(i)));
      messages.push_back(Track("s" + std::to_string(i), "", anon, "Products Searched", At(i)));
    }
    for (int i = 0; i < kVisitors; ++i) {
      std::string user = "user-" + std::to_string(i);
      messages.push_back(Track("o" + std::to_string(i), user, "", "Order Completed", At(i)));
    }
    for (int i = 0; i < kVisitors; ++i) {
      std::string user = "user-" + std::to_string(i);
      messages.push_back(Identify("i" + std::to_string(i), user, "anon-" + std::to_string(i), "{}",
                                  At(kVisitors + i)));  // merges the two contacts
      messages.push_back(Track("v" + std::to_string(i), "", "anon-" + std::to_string(i),
                               "Product Viewed", At(i)));  // a retry
    }
    std::atomic<int> failed{0};
    for (Message& m : messages) {
      worker_->Submit({std::move(m)}, [&](absl::StatusOr<IngestResult> r) {
        if (!r.ok()) ++failed;
      });
    }
    worker_->Drain();
    ASSERT_EQ(failed.load(), 0);
    // Then one submission of many messages (their messageIds hashed at once, the set
    // fetched ahead): retries of earlier commits, and a new message sent twice.
    std::vector<Message> many;
    for (int i = 0; i < 10; ++i) {
      many.push_back(Track("o" + std::to_string(i), "user-" + std::to_string(i), "",
                           "Order Completed", At(i)));
    }
    many.push_back(Track("v0", "", "anon-0", "Product Viewed", At(0)));
    many.push_back(Track("x0", "user-0", "", "Product Viewed", At(2 * kVisitors)));
    many.push_back(Track("v0", "", "anon-0", "Product Viewed", At(0)));
    many.push_back(Track("x0", "user-0", "", "Product Viewed", At(2 * kVisitors)));
    std::promise<absl::StatusOr<IngestResult>> done;
    worker_->Submit(std::move(many),
                    [&](absl::StatusOr<IngestResult> r) { done.set_value(std::move(r)); });
    absl::StatusOr<IngestResult> result = done.get_future().get();
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_EQ(result->stored, 1u);
    EXPECT_EQ(result->duplicates, 13u);
    ASSERT_TRUE(store_->Flush().ok());
    EXPECT_EQ(worker_->stats().contacts, static_cast<uint64_t>(kVisitors));
    EXPECT_EQ(worker_->stats().merges, static_cast<uint64_t>(kVisitors));
    EXPECT_EQ(worker_->stats().duplicates, static_cast<uint64_t>(kVisitors + 13));
    EXPECT_TRUE(store_->Get(Family::kMessages, "x0")->has_value());  // the one stored
    ContactReader reader(store_.get());
    for (int i = 0; i < kVisitors; ++i) {
      Contact c = Find("user-" + std::to_string(i));
      ASSERT_EQ(Find("anonymous:anon-" + std::to_string(i)).id, c.id);
      EXPECT_EQ(reader.ActivityCount(c.id).value(), i == 0 ? 5u : 4u) << i;
    }
    uint64_t entries = 0;
    auto it = store_->NewIterator(Family::kContactActivities);
    for (it->SeekToFirst(); it->Valid(); it->Next()) ++entries;
    EXPECT_EQ(entries, static_cast<uint64_t>(4 * kVisitors + 1));
    // A task reads the store, which a bulk load does not keep current: refused.
    EXPECT_TRUE(absl::IsFailedPrecondition(worker_->RunTaskAndWait(
        [](ProfileTable&, rocksdb::WriteBatch*) { return absl::OkStatus(); })));
  }
}

// Fails the group engine's step of the `fail_at`-th commit, as a store error would.
class FailingObserver : public IngestObserver {
 public:
  explicit FailingObserver(int fail_at) : fail_at_(fail_at) {}
  absl::Status OnApplied(const ProfileTable&, Millis, const std::vector<ContactChange>&,
                         rocksdb::WriteBatch*, const std::function<void()>&) override {
    return ++calls_ == fail_at_ ? absl::InternalError("injected failure") : absl::OkStatus();
  }
  std::optional<Millis> NextTimer() const override { return std::nullopt; }
  absl::Status OnTimer(const ProfileTable&, Millis, rocksdb::WriteBatch*) override {
    return absl::OkStatus();
  }

 private:
  const int fail_at_;
  int calls_ = 0;
};

// A commit that fails leaves the commits before it stored and acknowledged, is itself not
// stored, and every later submission is refused until a restart; whether the writer writes
// the commits itself or hands them to the store thread.
TEST_F(WorkerTest, AFailedCommitStoresNothingAndLaterSubmissionsAreRefused) {
  for (size_t pipelined : {size_t{1}, size_t{1000}}) {
    SCOPED_TRACE(pipelined);
    Close();
    std::filesystem::remove_all(dir_);
    WorkerOptions options;
    options.max_commit_messages = 1;
    options.min_pipelined_commit_messages = pipelined;
    Open(options);
    FailingObserver observer(/*fail_at=*/3);
    ASSERT_TRUE(worker_->SetObserver(&observer).ok());
    std::vector<std::promise<absl::StatusOr<IngestResult>>> done(5);
    for (int i = 0; i < 5; ++i) {
      worker_->Submit({Track("m" + std::to_string(i), "", "a1", "Viewed", At(i))},
                      [&done, i](absl::StatusOr<IngestResult> r) { done[i].set_value(r); });
    }
    std::vector<absl::Status> statuses;
    for (auto& d : done) statuses.push_back(d.get_future().get().status());
    EXPECT_TRUE(statuses[0].ok()) << statuses[0];
    EXPECT_TRUE(statuses[1].ok()) << statuses[1];
    for (int i = 2; i < 5; ++i) EXPECT_THAT(statuses[i].message(), HasSubstr("injected")) << i;
    auto refused = worker_->SubmitAndWait({Track("later", "", "a1", "Viewed", At(9))});
    EXPECT_THAT(refused.status().message(), HasSubstr("injected"));
    Close();
    Open();
    EXPECT_EQ(Events(Find("a1").id).size(), 2u);
  }
}

// Whether a write-ahead log file of `dir` holds `bytes`: what the process wrote to the
// operating system, which a killed process does not lose.
bool LogHolds(const std::string& dir, std::string_view bytes) {
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".log") continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::string contents((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (contents.find(bytes) != std::string::npos) return true;
  }
  return false;
}

absl::StatusOr<IngestResult> SubmitWhenWritten(Worker& worker, std::vector<Message> messages) {
  std::promise<absl::StatusOr<IngestResult>> done;
  worker.Submit(
      std::move(messages), [&done](absl::StatusOr<IngestResult> r) { done.set_value(r); },
      Acknowledge::kWhenWritten);
  return done.get_future().get();
}

TEST_F(WorkerTest, WrittenAcknowledgementsComeBeforeTheFsyncThatTheNextSyncedOneMakes) {
  Close();
  WorkerOptions options;
  options.written_sync_delay = std::chrono::hours(1);  // no fsync of its own in this test
  Open(options);
  auto written = SubmitWhenWritten(*worker_, {Track("exposure-1", "", "a1", "Viewed", At(0))});
  ASSERT_TRUE(written.ok()) << written.status();
  EXPECT_EQ(written->stored, 1u);
  // Done without an fsync, but in the log: a killed process would not lose it.
  EXPECT_EQ(worker_->wal_syncs(), 0u);
  EXPECT_TRUE(LogHolds(dir_, "exposure-1"));
  // A submission acknowledged once synced makes the fsync, which covers the earlier one.
  Ingest({Track("event-2", "", "a2", "Viewed", At(1))});
  EXPECT_EQ(worker_->wal_syncs(), 1u);
  // Stopping fsyncs what is written and not yet synced.
  ASSERT_TRUE(SubmitWhenWritten(*worker_, {Track("exposure-3", "", "a1", "Viewed", At(2))}).ok());
  Close();
  Open();
  EXPECT_EQ(Events(Find("a1").id).size(), 2u);
  EXPECT_EQ(Events(Find("a2").id).size(), 1u);
}

TEST_F(WorkerTest, WrittenAcknowledgementsAreFsyncedWithinTheDelay) {
  Close();
  WorkerOptions options;
  options.written_sync_delay = std::chrono::milliseconds(20);
  Open(options);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(
        SubmitWhenWritten(*worker_, {Track("x" + std::to_string(i), "", "a1", "Viewed", At(i))})
            .ok());
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (worker_->wal_syncs() == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_GE(worker_->wal_syncs(), 1u);  // one for the three writes, unless they were slow
  // Nothing written since: no more fsyncs.
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const uint64_t syncs = worker_->wal_syncs();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(worker_->wal_syncs(), syncs);
}

}  // namespace
}  // namespace segmenta
