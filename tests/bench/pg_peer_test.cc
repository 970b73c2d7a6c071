#include "cli/pg_peer.h"

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

TEST(PostgresPeerTest, InsertsEachMessageIdOnce) {
  auto peer = PostgresPeer::Start();
  ASSERT_TRUE(peer.ok()) << Message(peer.status());
  ASSERT_TRUE((*peer)->ResetEventsTable().ok());
  std::vector<std::string> lines = Lines(250);
  // An SDK retry: the same messages again, in other batches.
  std::vector<std::string> with_retries = lines;
  with_retries.insert(with_retries.end(), lines.begin(), lines.begin() + 120);

  auto report = (*peer)->InsertBatched(with_retries, 3, 100);
  ASSERT_TRUE(report.ok()) << Message(report.status());
  EXPECT_EQ(report->events, 250u);
  EXPECT_EQ(report->batches, 4u);
  EXPECT_GT(report->events_per_second, 0);
  EXPECT_TRUE((*peer)->Stop().ok());
}

TEST(PostgresPeerTest, RunsWithDefaultDurability) {
  auto peer = PostgresPeer::Start();
  ASSERT_TRUE(peer.ok()) << Message(peer.status());
  EXPECT_EQ(*(*peer)->Setting("fsync"), "on");
  EXPECT_EQ(*(*peer)->Setting("synchronous_commit"), "on");
  EXPECT_EQ(*(*peer)->Setting("full_page_writes"), "on");
  EXPECT_EQ(*(*peer)->Setting("listen_addresses"), "127.0.0.1");
}

TEST(PostgresPeerTest, CopiesJsonLinesVerbatim) {
  auto peer = PostgresPeer::Start();
  ASSERT_TRUE(peer.ok()) << Message(peer.status());
  ASSERT_TRUE((*peer)->ResetEventsTable().ok());
  std::string path = ::testing::TempDir() + fmt::format("/pg_peer_copy_{}.jsonl", getpid());
  {
    std::ofstream out(path);
    for (const std::string& line : Lines(1000)) out << line << '\n';
  }
  auto report = (*peer)->CopyFile(path);
  std::remove(path.c_str());
  // Backslash escapes inside the JSON would break a text-format COPY; every row arrives.
  ASSERT_TRUE(report.ok()) << Message(report.status());
  EXPECT_EQ(report->events, 1000u);
  EXPECT_EQ(*(*peer)->CountEvents(), 1000u);
  auto name = (*peer)->QueryValue(
      "SELECT body->'properties'->>'name' FROM events WHERE message_id = 'm-3'");
  ASSERT_TRUE(name.ok()) << Message(name.status());
  EXPECT_EQ(*name, "quote \" and backslash \\ and \u00e9");
}

TEST(PostgresPeerTest, StopDeletesTheCluster) {
  auto peer = PostgresPeer::Start();
  ASSERT_TRUE(peer.ok()) << Message(peer.status());
  std::string dir = (*peer)->dir();
  ASSERT_TRUE(std::filesystem::exists(dir + "/data/PG_VERSION"));
  ASSERT_TRUE((*peer)->Stop().ok());
  EXPECT_FALSE(std::filesystem::exists(dir));
  EXPECT_TRUE((*peer)->Stop().ok());          // idempotent
  EXPECT_FALSE((*peer)->CountEvents().ok());  // the server is gone
}

}  // namespace
}  // namespace segmenta
