#include "tools/bench/peers/postgres.h"

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "fmt/format.h"
#include "gtest/gtest.h"

namespace segmenta {
namespace {

std::vector<std::string> Lines(int n) {
  std::vector<std::string> lines;
  for (int i = 0; i < n; ++i) {
    lines.push_back(fmt::format(
        R"({{"type":"track","messageId":"m-{}","anonymousId":"a{}","event":"Product Viewed",)"
        R"("properties":{{"name":"quote \" and backslash \\ and \u00e9"}}}})",
        i, i % 7));
  }
  return lines;
}

std::string Message(const absl::Status& status) { return std::string(status.message()); }

// Each test gets a throwaway cluster of its own; a machine where no PostgreSQL server can
// start (its binaries or its system user missing: scripts/setup installs them) skips them.
class PostgresPeerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<PostgresPeer>> peer = PostgresPeer::Start();
    if (absl::IsFailedPrecondition(peer.status())) GTEST_SKIP() << Message(peer.status());
    ASSERT_TRUE(peer.ok()) << Message(peer.status());
    peer_ = *std::move(peer);
  }

  std::unique_ptr<PostgresPeer> peer_;
};

TEST_F(PostgresPeerTest, InsertsEachMessageIdOnce) {
  ASSERT_TRUE(peer_->ResetEventsTable().ok());
  std::vector<std::string> lines = Lines(250);
  // An SDK retry: the same messages again, in other batches.
  std::vector<std::string> with_retries = lines;
  with_retries.insert(with_retries.end(), lines.begin(), lines.begin() + 120);

  auto report = peer_->InsertBatched(with_retries, 3, 100);
  ASSERT_TRUE(report.ok()) << Message(report.status());
  EXPECT_EQ(report->events, 250u);
  EXPECT_EQ(report->batches, 4u);
  EXPECT_GT(report->events_per_second, 0);
  EXPECT_TRUE(peer_->Stop().ok());
}

TEST_F(PostgresPeerTest, RunsWithDefaultDurability) {
  EXPECT_EQ(*peer_->Setting("fsync"), "on");
  EXPECT_EQ(*peer_->Setting("synchronous_commit"), "on");
  EXPECT_EQ(*peer_->Setting("full_page_writes"), "on");
  EXPECT_EQ(*peer_->Setting("listen_addresses"), "127.0.0.1");
}

TEST_F(PostgresPeerTest, CopiesJsonLinesVerbatim) {
  ASSERT_TRUE(peer_->ResetEventsTable().ok());
  std::string path = ::testing::TempDir() + fmt::format("/pg_peer_copy_{}.jsonl", getpid());
  {
    std::ofstream out(path);
    for (const std::string& line : Lines(1000)) out << line << '\n';
  }
  auto report = peer_->CopyFile(path);
  std::remove(path.c_str());
  // Backslash escapes inside the JSON would break a text-format COPY; every row arrives.
  ASSERT_TRUE(report.ok()) << Message(report.status());
  EXPECT_EQ(report->events, 1000u);
  EXPECT_EQ(*peer_->CountEvents(), 1000u);
  auto name =
      peer_->QueryValue("SELECT body->'properties'->>'name' FROM events WHERE message_id = 'm-3'");
  ASSERT_TRUE(name.ok()) << Message(name.status());
  EXPECT_EQ(*name, "quote \" and backslash \\ and \u00e9");
}

TEST_F(PostgresPeerTest, StopDeletesTheCluster) {
  std::string dir = peer_->dir();
  ASSERT_TRUE(std::filesystem::exists(dir + "/data/PG_VERSION"));
  ASSERT_TRUE(peer_->Stop().ok());
  EXPECT_FALSE(std::filesystem::exists(dir));
  EXPECT_TRUE(peer_->Stop().ok());          // idempotent
  EXPECT_FALSE(peer_->CountEvents().ok());  // the server is gone
}

}  // namespace
}  // namespace segmenta
