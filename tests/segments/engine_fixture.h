// A store, a worker and a group engine on a fake clock, with helpers to send events: what
// the tests of src/segments share.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "core/clock.h"
#include "gtest/gtest.h"
#include "profile/contact_reader.h"
#include "segments/engine.h"

namespace segmenta {

inline const absl::Time kStart =
    absl::FromUnixSeconds(1795500000);  // 2026-11-24T06:00:00Z, a Tuesday

class EngineFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    // One directory per test (ctest runs tests in parallel, suites share this fixture).
    const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = ::testing::TempDir() + "/engine_test_" + test->test_suite_name() + "_" + test->name();
    std::filesystem::remove_all(dir_);
    Open();
  }
  void TearDown() override {
    Close();
    std::filesystem::remove_all(dir_);
  }
  void Open() {
    store_ = *Store::Open(dir_);
    worker_ = *Worker::Start(store_.get(), {}, &clock_);
    auto engine = AudienceEngine::Start(store_.get(), worker_.get(), &clock_);
    ASSERT_TRUE(engine.ok()) << engine.status();
    engine_ = std::move(*engine);
  }
  void Close() {
    engine_.reset();
    worker_.reset();
    store_.reset();
  }

  // Sends one message at the clock's now.
  void Send(MessageType type, std::string user, std::string anon, std::string event,
            std::string properties = "{}", std::string traits = "") {
    Message m;
    m.type = type;
    m.message_id = "m" + std::to_string(++messages_);
    m.user_id = std::move(user);
    m.anonymous_id = std::move(anon);
    m.event = std::move(event);
    m.properties = std::move(properties);
    m.traits = std::move(traits);
    m.timestamp = clock_.Now();
    m.received_at = clock_.Now();
    if (type == MessageType::kGroup) m.group_id = m.event, m.event.clear();
    auto result = worker_->SubmitAndWait({m});
    ASSERT_TRUE(result.ok()) << result.status();
  }
  // One `event` at the clock's now from each of the anonymous visitors "visitor-FROM" to
  // "visitor-(TO-1)": one submission, so one write group.
  std::vector<Message> Visitors(int from, int to, const std::string& event) const {
    std::vector<Message> messages;
    for (int i = from; i < to; ++i) {
      Message m;
      m.type = MessageType::kTrack;
      m.message_id = event + "-" + std::to_string(i);
      m.anonymous_id = "visitor-" + std::to_string(i);
      m.event = event;
      m.properties = "{}";
      m.timestamp = m.received_at = clock_.Now();
      messages.push_back(std::move(m));
    }
    return messages;
  }
  void Track(std::string anon, std::string event, std::string properties = "{}") {
    Send(MessageType::kTrack, "", std::move(anon), std::move(event), std::move(properties));
  }
  ContactId Id(std::string_view identity) {
    auto c = ContactReader(store_.get()).Find(identity);
    EXPECT_TRUE(c.ok()) << c.status();
    return c.ok() ? c->id : 0;
  }
  bool In(std::string_view group, std::string_view identity) {
    auto member = engine_->groups().IsMember(group, Id(identity));
    EXPECT_TRUE(member.ok()) << member.status();
    return member.ok() && *member;
  }
  void Advance(absl::Duration d) {
    clock_.Advance(d);
    ASSERT_TRUE(worker_->RunDueTimers().ok());
  }
  GroupInfo Create(std::string name, std::string condition) {
    GroupDefinition def;
    def.name = std::move(name);
    def.condition = std::move(condition);
    auto info = engine_->groups().Create(def);
    EXPECT_TRUE(info.ok()) << info.status();
    return info.ok() ? *info : GroupInfo{};
  }

  // A persona of contacts older than 30 (10 points), qualifying at `threshold` points.
  static ScoreDefinition AgePersona(std::string name, double threshold) {
    ScoreDefinition def;
    def.name = std::move(name);
    def.persona = true;
    def.threshold = threshold;
    def.rules = {{ScoreRule::Kind::kAttribute, "age > 30", 10, 0, 0}};
    return def;
  }

  FakeClock clock_{kStart};
  std::string dir_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<Worker> worker_;
  std::unique_ptr<AudienceEngine> engine_;
  int messages_ = 0;
};

}  // namespace segmenta
