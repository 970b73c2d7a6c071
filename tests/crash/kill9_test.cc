// Kills `segmenta serve` with SIGKILL in the middle of a sustained load, restarts it, and
// checks that every acknowledged message is stored exactly once.
#include <atomic>
#include <filesystem>
#include <mutex>
#include <set>
#include <thread>

#include "absl/strings/ascii.h"
#include "fmt/format.h"
#include "gtest/gtest.h"
#include "server/http_client.h"
#include "store/store.h"
#include "testing/server_process.h"

namespace segmenta {
namespace {

using testing::RunSegmenta;
using testing::ServerProcess;

// Messages per batch of `client`: even clients send batches large enough that the commits
// holding them are written by the worker's store thread while the next commit is applied;
// commits of odd clients' batches alone are written by the writer itself.
int BatchSize(int client) { return client % 2 == 0 ? 300 : 50; }

// One batch of track messages with ids "c{client}-b{batch}-m{i}".
std::string BatchBody(int client, int batch) {
  std::string body = R"({"batch":[)";
  for (int i = 0; i < BatchSize(client); ++i) {
    if (i > 0) body += ',';
    body +=
        fmt::format(R"({{"type":"track","event":"Product Viewed","anonymousId":"visitor-{}-{}",)"
                    R"("messageId":"c{}-b{}-m{}","properties":{{"product_id":"p{}","price":{}}}}})",
                    client, batch % 17, client, batch, i, i, i * 1.5);
  }
  body += "]}";
  return body;
}

std::vector<std::string> MessageIds(int client, int batch) {
  std::vector<std::string> ids;
  for (int i = 0; i < BatchSize(client); ++i) {
    ids.push_back(fmt::format("c{}-b{}-m{}", client, batch, i));
  }
  return ids;
}

class Kill9Test : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "/kill9_test";
    std::filesystem::remove_all(dir_);
    auto key =
        RunSegmenta({"--data-dir", dir_, "keys", "create", "--kind", "write", "--name", "crash"});
    ASSERT_TRUE(key.ok()) << key.status();
    write_key_ = std::string(absl::StripAsciiWhitespace(*key));
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string dir_;
  std::string write_key_;
};

TEST_F(Kill9Test, EveryAcknowledgedMessageSurvivesSigkillExactlyOnce) {
  constexpr int kClients = 6;
  auto server = ServerProcess::Start(dir_);
  ASSERT_TRUE(server.ok()) << server.status();

  std::mutex mu;
  std::set<std::string> acked;                 // messageIds whose batch got a 200
  std::vector<int> batches_sent(kClients, 0);  // batches attempted per client
  std::atomic<bool> stop{false};
  std::atomic<int> acked_batches{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      HttpClient http(server->port());
      for (int b = 0; !stop.load(); ++b) {
        {
          std::lock_guard<std::mutex> lock(mu);
          batches_sent[c] = b + 1;
        }
        auto res = http.Request(
            "POST", "/v1/batch", BatchBody(c, b),
            {{"Authorization", BasicAuth(write_key_)}, {"Content-Type", "application/json"}});
        if (!res.ok()) return;  // the server is gone
        ASSERT_EQ(res->status, 200) << res->body;
        std::lock_guard<std::mutex> lock(mu);
        for (auto& id : MessageIds(c, b)) acked.insert(id);
        acked_batches.fetch_add(1);
      }
    });
  }
  // Sustained load, then SIGKILL while requests are in flight.
  while (acked_batches.load() < 300) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  server->Kill();
  stop = true;
  for (auto& t : clients) t.join();
  ASSERT_GT(acked.size(), 0u);

  // Restart; the SDKs retry every batch they sent (acknowledged or not): same messageIds.
  auto restarted = ServerProcess::Start(dir_);
  ASSERT_TRUE(restarted.ok()) << restarted.status();
  size_t expected = 0;
  {
    HttpClient http(restarted->port());
    for (int c = 0; c < kClients; ++c) {
      int from = std::max(0, batches_sent[c] - 5);
      for (int b = from; b < batches_sent[c]; ++b) {
        auto res = http.Request("POST", "/v1/batch", BatchBody(c, b),
                                {{"Authorization", BasicAuth(write_key_)}});
        ASSERT_TRUE(res.ok()) << res.status();
        ASSERT_EQ(res->status, 200) << res->body;
      }
      expected += static_cast<size_t>(batches_sent[c]) * BatchSize(c);
    }
  }
  ASSERT_EQ(restarted->Terminate(), 0);

  // Read the store directly: each messageId stored once, every acknowledged one present.
  auto store = Store::Open(dir_);
  ASSERT_TRUE(store.ok()) << store.status();
  std::map<std::string, int> stored;
  auto it = (*store)->NewIterator(Family::kActivities);
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    std::string value = it->value().ToString();
    size_t at = value.find("\"messageId\":\"");
    ASSERT_NE(at, std::string::npos) << value;
    size_t start = at + 13;
    ++stored[value.substr(start, value.find('"', start) - start)];
  }
  for (const auto& [id, count] : stored) EXPECT_EQ(count, 1) << "duplicate " << id;
  size_t missing = 0;
  for (const std::string& id : acked) missing += stored.count(id) == 0;
  EXPECT_EQ(missing, 0u) << "acknowledged messages lost after SIGKILL";
  // Each client sends one batch at a time, so every batch was acknowledged or is in the
  // retried tail: all of them are stored, none twice.
  EXPECT_EQ(stored.size(), expected);
  RecordProperty("acknowledged", static_cast<int>(acked.size()));
  RecordProperty("stored", static_cast<int>(stored.size()));
}

}  // namespace
}  // namespace segmenta
