// Webhooks of contact groups: a real HTTP receiver (the project's own server) gets every
// enter and exit, signed, retried after failures, and none lost across a restart.
#include <filesystem>
#include <mutex>

#include "fmt/format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/http_server.h"
#include "server/webhook_sender.h"
#include "simdjson.h"

namespace segmenta {
namespace {

using ::testing::HasSubstr;

constexpr char kSecret[] = "a-secret-of-32-characters-long!!";

class Receiver {
 public:
  // Fails the first `failures` requests with 500.
  explicit Receiver(int failures) : failures_(failures) {
    HttpServerOptions options;
    options.port = 0;
    auto server = HttpServer::Start(options, [this](const HttpRequest& r, Responder respond) {
      std::lock_guard<std::mutex> lock(mu_);
      if (failures_ > 0) {
        --failures_;
        ++refused_;
        respond(ErrorResponse(500, "boom", "try again"));
        return;
      }
      requests_.push_back(r);
      HttpResponse ok;
      ok.body = "{}";
      respond(ok);
    });
    server_ = std::move(*server);
  }
  std::string url() const {
    return fmt::format("http://127.0.0.1:{}/hooks/segments", server_->port());
  }
  std::vector<HttpRequest> requests() {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }
  int refused() {
    std::lock_guard<std::mutex> lock(mu_);
    return refused_;
  }
  // Waits until `n` requests arrived (10 s at most).
  bool WaitFor(size_t n) {
    for (int i = 0; i < 1000; ++i) {
      if (requests().size() >= n) return true;
      absl::SleepFor(absl::Milliseconds(10));
    }
    return false;
  }

 private:
  std::mutex mu_;
  int failures_;
  int refused_ = 0;
  std::vector<HttpRequest> requests_;
  std::unique_ptr<HttpServer> server_;
};

class WebhookTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // One directory per test: ctest runs tests of this binary in parallel.
    dir_ = ::testing::TempDir() + "/webhook_test_" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::remove_all(dir_);
    Open();
  }
  void TearDown() override {
    Close();
    std::filesystem::remove_all(dir_);
  }
  void Open() {
    store_ = *Store::Open(dir_);
    worker_ = *Worker::Start(store_.get(), {});
    engine_ = *AudienceEngine::Start(store_.get(), worker_.get());
    WebhookSenderOptions options;
    options.first_backoff = absl::Milliseconds(20);
    options.poll = absl::Milliseconds(10);
    sender_ = std::make_unique<WebhookSender>(store_.get(), engine_.get(), options);
  }
  void Close() {
    sender_.reset();
    engine_.reset();
    worker_.reset();
    store_.reset();
  }
  void Subscribe(const std::string& user, int n) {
    Message m;
    m.type = MessageType::kTrack;
    m.message_id = user + "-" + std::to_string(n);
    m.user_id = user;
    m.event = "Newsletter Subscribed";
    m.timestamp = m.received_at = absl::Now();
    ASSERT_TRUE(worker_->SubmitAndWait({m}).ok());
  }
  void Identify(const std::string& user, const std::string& traits) {
    Message m;
    m.type = MessageType::kIdentify;
    m.message_id = "id-" + user + "-" + traits;
    m.user_id = user;
    m.traits = traits;
    m.timestamp = m.received_at = absl::Now();
    ASSERT_TRUE(worker_->SubmitAndWait({m}).ok());
  }

  std::string dir_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<Worker> worker_;
  std::unique_ptr<AudienceEngine> engine_;
  std::unique_ptr<WebhookSender> sender_;
};

TEST_F(WebhookTest, EveryEnterAndExitIsDeliveredSignedRetriedAndNoneLostAcrossARestart) {
  Receiver receiver(/*failures=*/2);
  Identify("seed", R"({"plan":"free"})");
  Subscribe("seed", 0);
  GroupDefinition def;
  def.name = "Pro subscribers";
  def.condition = "did \"Newsletter Subscribed\" and plan = \"pro\"";
  def.webhooks = {Webhook{receiver.url(), kSecret, true, true}};
  ASSERT_TRUE(engine_->groups().Create(def).ok());

  Identify("ana", R"({"plan":"pro","email":"ana@example.com"})");
  Subscribe("ana", 1);  // enters
  ASSERT_TRUE(receiver.WaitFor(1));
  EXPECT_GE(receiver.refused(), 2);  // the first attempts failed and were retried

  // Stop everything with an event still to deliver; it is delivered after the restart.
  Identify("bob", R"({"plan":"pro"})");
  sender_.reset();
  Subscribe("bob", 1);  // enters, while no sender runs
  Close();
  Open();
  ASSERT_TRUE(receiver.WaitFor(2));
  Identify("ana", R"({"plan":"free"})");  // exits
  ASSERT_TRUE(receiver.WaitFor(3));

  std::vector<HttpRequest> requests = receiver.requests();
  ASSERT_EQ(requests.size(), 3u);
  std::vector<std::string> seen;
  for (const HttpRequest& r : requests) {
    EXPECT_EQ(r.path, "/hooks/segments");
    // The signature checks out: HMAC-SHA256 of "t.body" with the secret.
    std::string_view signature = r.Header("x-segmenta-signature");
    ASSERT_EQ(signature.substr(0, 2), "t=");
    int64_t t = std::stoll(std::string(signature.substr(2, signature.find(',') - 2)));
    EXPECT_EQ(signature, WebhookSignature(kSecret, t, r.body));
    EXPECT_NE(WebhookSignature("another-secret-of-32-characters!", t, r.body), signature);
    simdjson::dom::parser parser;
    simdjson::dom::element doc = parser.parse(r.body);
    seen.push_back(std::string(std::string_view(doc["type"])) + " " +
                   std::string(std::string_view(doc["contact"]["identities"].at(0)["value"])));
    EXPECT_EQ(std::string_view(doc["group"]), "Pro subscribers");
  }
  EXPECT_THAT(seen,
              ::testing::ElementsAre("group.entered ana", "group.entered bob", "group.exited ana"));
  EXPECT_THAT(requests[0].body, HasSubstr(R"("email":"ana@example.com")"));
  // Delivered entries leave the outbox.
  for (int i = 0; i < 100; ++i) {
    auto it = store_->NewIterator(Family::kOutbox);
    it->SeekToFirst();
    if (!it->Valid()) break;
    absl::SleepFor(absl::Milliseconds(10));
  }
  auto it = store_->NewIterator(Family::kOutbox);
  it->SeekToFirst();
  EXPECT_FALSE(it->Valid());
}

TEST_F(WebhookTest, PersonaAndStageMovesAreDeliveredWithTheirKind) {
  Receiver receiver(/*failures=*/0);
  Identify("seed", R"({"plan":"free"})");
  ScoreDefinition persona;
  persona.name = "Pro";
  persona.persona = true;
  persona.threshold = 10;
  persona.rules = {{ScoreRule::Kind::kAttribute, "plan = \"pro\"", 10, 0, 0}};
  persona.webhooks = {Webhook{receiver.url(), kSecret, true, true}};
  ASSERT_TRUE(engine_->scores().Create(persona).ok());
  LifecycleDefinition life;
  life.stages = {{0, "Visitor", "", ""}, {0, "Lead", "", "trait(\"email\") is not null"}};
  life.webhooks = {Webhook{receiver.url(), kSecret, true, false}};  // enters only
  ASSERT_TRUE(engine_->stages().Set(life).ok());
  ASSERT_TRUE(receiver.WaitFor(1));  // seed enters Visitor

  Identify("ana", R"({"plan":"pro","email":"ana@example.com"})");
  ASSERT_TRUE(receiver.WaitFor(3));  // ana enters Lead and Pro
  Identify("ana", R"({"plan":"free"})");
  ASSERT_TRUE(receiver.WaitFor(4));  // ana exits Pro
  std::vector<std::string> seen;
  for (const HttpRequest& r : receiver.requests()) {
    simdjson::dom::parser parser;
    simdjson::dom::element doc = parser.parse(r.body);
    seen.push_back(std::string(std::string_view(doc["type"])) + " " +
                   std::string(std::string_view(doc["group"])) + " " +
                   std::string(std::string_view(doc["contact"]["identities"].at(0)["value"])));
    EXPECT_EQ(r.Header("x-segmenta-event"), std::string_view(doc["type"]));
  }
  EXPECT_THAT(
      seen, ::testing::UnorderedElementsAre("stage.entered Visitor seed", "stage.entered Lead ana",
                                            "persona.entered Pro ana", "persona.exited Pro ana"));
}

}  // namespace
}  // namespace segmenta
