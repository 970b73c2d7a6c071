#include "tools/bench/workloads/ceiling.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "fmt/format.h"
#include "gtest/gtest.h"
#include "server/http_client.h"

namespace segmenta {
namespace {

std::string TempLog() {
  const char* tmp = std::getenv("TMPDIR");
  return fmt::format("{}/ceiling_test_{}.log", tmp != nullptr ? tmp : "/tmp", getpid());
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string Batch(int n, int first) {
  std::string body = R"({"batch":[)";
  for (int i = 0; i < n; ++i) {
    if (i > 0) body += ',';
    body += fmt::format(R"({{"type":"track","userId":"u{}","event":"Viewed","messageId":"m{}"}})",
                        first + i, first + i);
  }
  return body + "]}";
}

int PortOf(const CeilingServer& server) {
  absl::StatusOr<HttpEndpoint> endpoint = ParseHttpUrl(server.url());
  EXPECT_TRUE(endpoint.ok());
  return endpoint->port;
}

TEST(CeilingServerTest, HttpOnlyAnswersAtOnceAndKeepsNothing) {
  const std::string log = TempLog();
  absl::StatusOr<std::unique_ptr<CeilingServer>> server =
      CeilingServer::Start(CeilingKind::kHttp, log, 2);
  ASSERT_TRUE(server.ok()) << server.status();
  HttpClient client(PortOf(**server));
  absl::StatusOr<HttpClientResponse> r = client.Request("POST", "/v1/batch", "not even JSON");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, R"({"success":true})");
  EXPECT_EQ((*server)->synced_bytes(), 0u);
  EXPECT_FALSE(std::filesystem::exists(log));
}

// Every acknowledged body is in the log, whole and once, however the requests of several
// connections were grouped into fdatasyncs; a bad batch is refused and not logged.
TEST(CeilingServerTest, ValidateAndSyncLogsEveryAcknowledgedBodyAndRefusesBadOnes) {
  const std::string log = TempLog();
  std::vector<std::string> bodies;
  {
    absl::StatusOr<std::unique_ptr<CeilingServer>> server =
        CeilingServer::Start(CeilingKind::kValidateAndSync, log, 2);
    ASSERT_TRUE(server.ok()) << server.status();
    const int port = PortOf(**server);

    HttpClient client(port);
    absl::StatusOr<HttpClientResponse> bad =
        client.Request("POST", "/v1/batch", R"({"batch":[{"type":"track","event":"Viewed"}]})");
    ASSERT_TRUE(bad.ok()) << bad.status();
    EXPECT_EQ(bad->status, 400);
    EXPECT_NE(bad->body.find("userId or anonymousId is required"), std::string::npos) << bad->body;

    constexpr int kThreads = 4;
    constexpr int kRequests = 40;
    std::vector<std::vector<std::string>> sent(kThreads);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        HttpClient c(port);
        for (int i = 0; i < kRequests; ++i) {
          std::string body = Batch(1 + (i * 7 + t) % 30, (t * kRequests + i) * 100);
          absl::StatusOr<HttpClientResponse> r = c.Request("POST", "/v1/batch", body);
          ASSERT_TRUE(r.ok()) << r.status();
          ASSERT_EQ(r->status, 200) << r->body;
          sent[t].push_back(std::move(body));
        }
      });
    }
    for (std::thread& t : threads) t.join();
    size_t bytes = 0;
    for (const auto& s : sent) {
      for (const std::string& body : s) {
        bytes += body.size() + 1;
        bodies.push_back(body);
      }
    }
    EXPECT_EQ((*server)->synced_bytes(), bytes);
  }
  // The log holds the bodies, a line each, in some order, then spaces padding its last block.
  std::string logged = ReadAll(log);
  std::filesystem::remove(log);
  while (!logged.empty() && logged.back() == ' ') logged.pop_back();
  std::vector<std::string> lines;
  std::stringstream in(logged);
  for (std::string line; std::getline(in, line);) {
    while (!line.empty() && line.front() == ' ') line.erase(0, 1);  // an earlier round's padding
    lines.push_back(line);
  }
  std::sort(lines.begin(), lines.end());
  std::sort(bodies.begin(), bodies.end());
  EXPECT_EQ(lines, bodies);
}

}  // namespace
}  // namespace segmenta
