// The in-memory profile table kept by the worker, against one rebuilt from the store.
#include "profile/profile_table.h"

#include <filesystem>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ingest/worker.h"
#include "profile/contact_reader.h"

namespace segmenta {
namespace {

absl::Time At(int64_t seconds) { return absl::FromUnixSeconds(1795500000 + seconds); }

Message Msg(MessageType type, std::string id, std::string user, std::string anon, int64_t t) {
  Message m;
  m.type = type;
  m.message_id = std::move(id);
  m.user_id = std::move(user);
  m.anonymous_id = std::move(anon);
  m.timestamp = At(t);
  m.received_at = At(t);
  return m;
}

std::vector<std::string> Sorted(const absl::node_hash_map<std::string, Column>& columns) {
  std::vector<std::string> names;
  for (const auto& [name, column] : columns) names.push_back(name);
  std::sort(names.begin(), names.end());
  return names;
}

// Everything a condition can read of one contact, as text, for comparisons.
std::string Describe(const ProfileTable& p, ContactId id) {
  const ContactState* c = p.contact(id);
  if (c == nullptr) return "gone";
  std::string out;
  for (const std::string& name : Sorted(p.trait_columns())) {
    const Column& column = p.trait_columns().at(name);
    if (column.type(id) != ValueType::kNull) out += name + "=" + column.Get(id).ToJson() + " ";
  }
  out += "| ";
  for (const EventRef& ref : c->events) {
    const EventTable& table = p.table(ref.table);
    out += table.key + "@" + std::to_string(table.time[ref.row]);
    for (const std::string& path : Sorted(table.columns)) {
      const Column& column = table.columns.at(path);
      if (column.type(ref.row) != ValueType::kNull) {
        out += " " + path + "=" + column.Get(ref.row).ToJson();
      }
    }
    out += "; ";
  }
  out += "| ";
  for (uint32_t a : c->accounts) {
    out += p.account(a).group_id;
    for (const std::string& name : Sorted(p.account_columns())) {
      const Column& column = p.account_columns().at(name);
      if (column.type(a) != ValueType::kNull) out += " " + name + "=" + column.Get(a).ToJson();
    }
    out += "; ";
  }
  return out;
}

class ProfileTableTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // One directory per test: ctest runs them in parallel.
    dir_ = ::testing::TempDir() + "/profile_table_test_" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::remove_all(dir_);
    store_ = *Store::Open(dir_);
    worker_ = *Worker::Start(store_.get(), {});
  }
  void TearDown() override {
    worker_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  std::string dir_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<Worker> worker_;
};

// Activities out of order, traits, a merge by alias and an account: for u1, contact 1.
std::vector<Message> OneCustomersMessages() {
  std::vector<Message> batch;
  Message page = Msg(MessageType::kPage, "p1", "", "a1", 10);
  page.properties = R"({"path":"/partners/join","referrer":"https://www.google.com/"})";
  page.context = R"({"campaign":{"source":"google","medium":"cpc"},"userAgent":"Mozilla/5.0"})";
  batch.push_back(page);
  Message added = Msg(MessageType::kTrack, "t1", "", "a1", 5);  // out of order: earlier
  added.event = "Product Added";
  added.properties = R"({"price":999.5,"category":"cycling","tags":["a","b"]})";
  batch.push_back(added);
  Message identify = Msg(MessageType::kIdentify, "i1", "u1", "a1", 20);
  identify.traits = R"({"age":47,"address":{"city":"Bilbao"},"card_expiry":"2028-06"})";
  batch.push_back(identify);
  Message other = Msg(MessageType::kTrack, "t2", "", "phone", 30);
  other.event = "Order Completed";
  other.properties = R"({"revenue":999.5})";
  batch.push_back(other);
  Message alias = Msg(MessageType::kAlias, "al", "u1", "", 40);
  alias.previous_id = "phone";
  batch.push_back(alias);
  Message group_call = Msg(MessageType::kGroup, "g1", "u1", "", 50);
  group_call.group_id = "acme";
  group_call.traits = R"({"industry":"Retail","employees":120})";
  batch.push_back(group_call);
  return batch;
}

TEST_F(ProfileTableTest, LiveStateMatchesTheStateRebuiltFromTheStore) {
  std::vector<Message> batch = OneCustomersMessages();
  Message gone = Msg(MessageType::kTrack, "t3", "", "erased", 60);
  gone.event = "Product Viewed";
  batch.push_back(gone);
  ASSERT_TRUE(worker_->SubmitAndWait(batch).ok());
  auto erased = ContactReader(store_.get()).Find("erased");
  ASSERT_TRUE(erased.ok());
  ASSERT_TRUE(worker_->EraseAndWait(erased->id, false).ok());

  ContactId u1 = ContactReader(store_.get()).Find("u1")->id;
  std::string live = worker_->ReadProfiles([&](const ProfileTable& p) {
    EXPECT_EQ(p.alive_contacts(), 1u);
    EXPECT_EQ(p.contact(erased->id), nullptr);
    return Describe(p, u1);
  });
  EXPECT_EQ(live,
            "address.city=\"Bilbao\" age=47 card_expiry=\"2028-06\" | "
            "Product Added@1795500005000 category=\"cycling\" price=999.5 "
            "tags=\"[\\\"a\\\",\\\"b\\\"]\"; "
            "page@1795500010000 context.campaign.medium=\"cpc\" context.campaign.source=\"google\" "
            "path=\"/partners/join\" referrer=\"https://www.google.com/\"; "
            "identify@1795500020000; Order Completed@1795500030000 revenue=999.5; "
            "alias@1795500040000; group@1795500050000; | acme employees=120 industry=\"Retail\"; ");

  ProfileTable rebuilt;
  ASSERT_TRUE(rebuilt.Load(*store_).ok());
  EXPECT_EQ(Describe(rebuilt, u1), live);
  EXPECT_EQ(rebuilt.alive_contacts(), 1u);
  // A string trait whose values all read as times counts as a time too.
  const Column* expiry = rebuilt.trait("card_expiry");
  ASSERT_NE(expiry, nullptr);
  EXPECT_TRUE(expiry->types_seen() & (1u << static_cast<int>(ValueType::kTime)));
  Millis t = 0;
  EXPECT_TRUE(expiry->time(u1, &t));
  EXPECT_EQ(t, 1843430400000);  // 2028-06-01
}

// `segmenta import` writes the store without keeping the table (a bulk load, in commits of
// two messages here): the table the server then loads from that store is the one a worker
// that kept it has.
TEST_F(ProfileTableTest, AStoreWrittenWithoutTheTableLoadsTheTableTheWorkerKeeps) {
  ASSERT_TRUE(worker_->SubmitAndWait(OneCustomersMessages()).ok());
  const ContactId u1 = ContactReader(store_.get()).Find("u1")->id;
  const std::string live = worker_->ReadProfiles([&](const ProfileTable& p) {
    EXPECT_EQ(p.alive_contacts(), 1u);
    return Describe(p, u1);
  });
  ASSERT_THAT(live, ::testing::HasSubstr("Order Completed@1795500030000 revenue=999.5"));

  const std::string imported_dir = dir_ + "-imported";
  std::filesystem::remove_all(imported_dir);
  StoreOptions store_options;
  store_options.bulk_load = true;
  auto imported = Store::Open(imported_dir, store_options);
  ASSERT_TRUE(imported.ok()) << imported.status();
  WorkerOptions options;
  options.durable = false;
  options.max_commit_messages = 2;
  options.keep_profiles = false;
  auto worker = Worker::Start(imported->get(), options);
  ASSERT_TRUE(worker.ok()) << worker.status();
  for (const Message& m : OneCustomersMessages()) {
    ASSERT_TRUE((*worker)->SubmitAndWait({m}).ok());
  }
  (*worker)->ReadProfiles([](const ProfileTable& p) {
    EXPECT_EQ(p.alive_contacts(), 0u);
    EXPECT_EQ(p.contact(1), nullptr);
  });
  worker->reset();
  ASSERT_TRUE((*imported)->Flush().ok());

  ProfileTable loaded;
  ASSERT_TRUE(loaded.Load(**imported).ok());
  EXPECT_EQ(loaded.alive_contacts(), 1u);
  EXPECT_EQ(Describe(loaded, u1), live);
  imported->reset();
  std::filesystem::remove_all(imported_dir);
}

// Without the table, messages are stored; tasks and observers (which get the table) are
// refused.
TEST_F(ProfileTableTest, AWorkerWithoutTheTableRefusesTasksAndObservers) {
  worker_.reset();
  WorkerOptions options;
  options.keep_profiles = false;
  worker_ = *Worker::Start(store_.get(), options);
  EXPECT_FALSE(worker_->keeps_profiles());
  ASSERT_TRUE(worker_->SubmitAndWait(OneCustomersMessages()).ok());
  bool ran = false;
  absl::Status task = worker_->RunTaskAndWait([&](ProfileTable&, rocksdb::WriteBatch*) {
    ran = true;
    return absl::OkStatus();
  });
  EXPECT_TRUE(absl::IsFailedPrecondition(task)) << task;
  EXPECT_FALSE(ran);
  // Nor may an observer, which reads the table, be set.
  class Observer : public IngestObserver {
    absl::Status OnApplied(const ProfileTable&, Millis, const std::vector<ContactChange>&,
                           rocksdb::WriteBatch*, const std::function<void()>&) override {
      return absl::OkStatus();
    }
    std::optional<Millis> NextTimer() const override { return std::nullopt; }
    absl::Status OnTimer(const ProfileTable&, Millis, rocksdb::WriteBatch*) override {
      return absl::OkStatus();
    }
  } observer;
  EXPECT_TRUE(absl::IsFailedPrecondition(worker_->SetObserver(&observer)));
  EXPECT_TRUE(worker_->SetObserver(nullptr).ok());
  EXPECT_EQ(worker_->stats().activities, 6u);
}

// Activities of one table with the same fields in another order, fewer, more or nested
// differently: each value lands in the column of its own path.
TEST(ProfileTableColumnsTest, EachValueLandsInItsPathsColumnWhateverTheFieldOrder) {
  ProfileTable p;
  const char* properties[] = {
      R"({"a":"1","b":{"c":"2","d":3},"e":true})",
      R"({"a":"4","b":{"c":"5","d":6},"e":false})",
      R"({"b":{"d":7,"c":"8"},"a":"9"})",
      R"({"e":true})",
      R"({"a":"10","b":"not an object","f":"11"})",
      R"({"b":{"c":"12"},"a":"13","e":false,"g":{"h":"14"}})",
  };
  for (int i = 0; i < 6; ++i) {
    Message m = Msg(MessageType::kTrack, "m" + std::to_string(i), "", "a", i);
    m.event = "E";
    m.properties = properties[i];
    m.context = i % 2 == 0
                    ? R"({"locale":"fr-FR","page":{"path":"/p)" + std::to_string(i) + R"("}})"
                    : R"({"page":{"path":"/q"},"locale":"de-DE"})";
    p.AddActivity(1, m);
  }
  const EventTable& t = p.table(static_cast<uint16_t>(p.table_index(MessageType::kTrack, "E")));
  auto cell = [&](std::string_view path, uint32_t row) {
    const Column* column = t.column(path);
    return column == nullptr || column->type(row) == ValueType::kNull ? std::string("-")
                                                                      : column->Get(row).ToJson();
  };
  std::vector<std::string> rows;
  for (uint32_t row = 0; row < 6; ++row) {
    rows.push_back(cell("a", row) + " " + cell("b", row) + " " + cell("b.c", row) + " " +
                   cell("b.d", row) + " " + cell("e", row) + " " + cell("f", row) + " " +
                   cell("g.h", row) + " " + cell("context.locale", row) + " " +
                   cell("context.page.path", row));
  }
  EXPECT_THAT(rows, ::testing::ElementsAre(R"("1" - "2" 3 true - - "fr-FR" "/p0")",
                                           R"("4" - "5" 6 false - - "de-DE" "/q")",
                                           R"("9" - "8" 7 - - - "fr-FR" "/p2")",
                                           R"(- - - - true - - "de-DE" "/q")",
                                           R"("10" "not an object" - - - "11" - "fr-FR" "/p4")",
                                           R"("13" - "12" - false - "14" "de-DE" "/q")"));
}

TEST(ProfileTableGrowthTest, PreparedGrowthKeepsRowsAndLetsTheNextOnesInWithoutReallocating) {
  ProfileTable p;
  auto add = [&p](int i) {
    Message m = Msg(MessageType::kTrack, "m" + std::to_string(i), "", "a", i);
    m.event = "Viewed";
    m.properties = R"({"slot":"s)" + std::to_string(i % 7) + R"(","n":)" + std::to_string(i) + "}";
    p.AddActivity(static_cast<ContactId>(1 + i % 50), m);
  };
  int rows = 0;
  for (; rows < 5000; ++rows) add(rows);
  const EventTable& t =
      p.table(static_cast<uint16_t>(p.table_index(MessageType::kTrack, "Viewed")));
  const Column& slot = *t.column("slot");
  // Enough new rows to outgrow every vector of the table.
  const size_t more = t.contact.capacity() - t.rows() + 1;
  const std::vector<uint32_t> contacts_before = t.contact;
  const std::vector<Millis> times_before = t.time;
  const uint32_t* contact_data = t.contact.data();

  VectorGrowth growth;
  p.PrepareGrowth(more, &growth);
  // contact, time, and the two columns' types and payloads.
  EXPECT_EQ(growth.size(), 6u);
  EXPECT_EQ(t.contact.data(), contact_data);  // nothing changed yet
  growth.Apply();
  EXPECT_NE(t.contact.data(), contact_data);
  EXPECT_EQ(t.contact, contacts_before);
  EXPECT_EQ(t.time, times_before);
  EXPECT_EQ(slot.string(4321), "s" + std::to_string(4321 % 7));
  EXPECT_EQ(t.column("n")->number(4321), 4321);

  const uint32_t* contacts = t.contact.data();
  const Millis* times = t.time.data();
  const ValueType* types = slot.type_data();
  const uint64_t* bits = t.column("n")->bits_data();
  for (size_t i = 0; i < more; ++i) add(rows++);
  EXPECT_EQ(t.contact.data(), contacts);
  EXPECT_EQ(t.time.data(), times);
  EXPECT_EQ(slot.type_data(), types);
  EXPECT_EQ(t.column("n")->bits_data(), bits);
  EXPECT_EQ(t.rows(), static_cast<size_t>(rows));

  // Room enough now: nothing to prepare; and short vectors grow in place.
  VectorGrowth none;
  p.PrepareGrowth(1, &none);
  EXPECT_EQ(none.size(), 0u);
}

}  // namespace
}  // namespace segmenta
