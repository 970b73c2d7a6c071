// `segmenta groups`, `check` and `export group` against a running server.
#include <filesystem>
#include <fstream>

#include "absl/strings/ascii.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/http_client.h"
#include "testing/server_process.h"

namespace segmenta {
namespace {

using ::testing::HasSubstr;
using testing::RunResult;
using testing::RunSegmentaFull;

TEST(GroupsCliTest, DefinesChecksListsAndExportsGroups) {
  std::string dir = ::testing::TempDir() + "/groups_cli_test";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  std::string data = dir + "/data";
  auto key = testing::RunSegmenta(
      {"--data-dir", data, "keys", "create", "--kind", "write", "--name", "site"});
  auto token = testing::RunSegmenta(
      {"--data-dir", data, "keys", "create", "--kind", "admin", "--name", "ops"});
  ASSERT_TRUE(key.ok() && token.ok());
  std::string events = dir + "/events.jsonl";
  std::ofstream(events)
      << R"({"type":"identify","userId":"ana","traits":{"email":"ana@example.com","age":47,"city":"Bilbao, Spain"}})"
         "\n"
      << R"({"type":"track","userId":"ana","event":"Order Completed","properties":{"revenue":120}})"
         "\n"
      << R"({"type":"identify","userId":"bob","traits":{"age":30}})"
         "\n";
  auto server = testing::ServerProcess::Start(data);
  ASSERT_TRUE(server.ok()) << server.status();
  std::vector<std::string> conn = {"--url", server->url(), "--token",
                                   std::string(absl::StripAsciiWhitespace(*token))};
  auto run = [&](std::vector<std::string> args) {
    args.insert(args.end(), conn.begin(), conn.end());
    return RunSegmentaFull(args);
  };
  RunResult imported =
      RunSegmentaFull({"import", "activities", events, "--url", server->url(), "--write-key",
                       std::string(absl::StripAsciiWhitespace(*key))});
  ASSERT_EQ(imported.exit_code, 0) << imported.err;

  std::string condition = dir + "/buyers.cond";
  std::ofstream(condition)
      << "# customers\nsum(\"Order Completed\".revenue) > 100 and\n  agee > 40\n";
  RunResult bad = run({"check", condition});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_THAT(bad.err, HasSubstr(condition + ":3:3: unknown trait 'agee'; did you mean 'age'?"));
  std::ofstream(condition) << "sum(\"Order Completed\".revenue) > 100 and age > 40\n";
  RunResult good = run({"check", condition, "--count"});
  EXPECT_EQ(good.exit_code, 0) << good.err;
  EXPECT_THAT(good.out, HasSubstr("matches: 1"));

  RunResult created = run({"groups", "create", "Big buyers", "--condition-file", condition});
  EXPECT_EQ(created.exit_code, 0) << created.err;
  EXPECT_THAT(created.out, HasSubstr("Big buyers (dynamic): 1 members"));
  RunResult yes = run({"groups", "is-member", "Big buyers", "ana"});
  EXPECT_EQ(yes.exit_code, 0);
  RunResult no = run({"groups", "is-member", "Big buyers", "bob"});
  EXPECT_EQ(no.exit_code, 3);
  RunResult csv = run({"export", "group", "Big buyers", "--format", "csv"});
  EXPECT_EQ(csv.exit_code, 0) << csv.err;
  EXPECT_THAT(csv.out, HasSubstr("contact_id,user_id,email,anonymous_ids,age,city\n"));
  EXPECT_THAT(csv.out, HasSubstr(",ana,ana@example.com,,47,\"Bilbao, Spain\"\n"));
  RunResult jsonl = run({"export", "group", "Big buyers", "--format", "jsonl"});
  EXPECT_THAT(jsonl.out,
              HasSubstr(R"("traits":{"age":47,"city":"Bilbao, Spain","email":"ana@example.com"})"));
  RunResult missing = run({"groups", "show", "Nope"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_THAT(missing.err, HasSubstr("no group named \"Nope\" (HTTP 404)"));

  // `segmenta decide` asks the server what a visitor sees.
  const std::string write_key(absl::StripAsciiWhitespace(*key));
  HttpClient http(*ParseHttpUrl(server->url()));
  auto put = http.Request(
      "PUT", "/api/experiences/hero",
      R"({"variations":[{"name":"buyers","condition":"in group \"Big buyers\"","payload":{"t":1}}]})",
      {{"Authorization", "Bearer " + std::string(absl::StripAsciiWhitespace(*token))}});
  ASSERT_TRUE(put.ok() && put->status == 200) << (put.ok() ? put->body : put.status().ToString());
  RunResult decided = RunSegmentaFull(
      {"decide", "hero", "--user", "ana", "--url", server->url(), "--write-key", write_key});
  EXPECT_EQ(decided.exit_code, 0) << decided.err;
  EXPECT_THAT(decided.out, HasSubstr("hero: buyers  {\"t\":1}"));
  RunResult nobody =
      RunSegmentaFull({"decide", "hero", "--url", server->url(), "--write-key", write_key});
  EXPECT_EQ(nobody.exit_code, 2);
  EXPECT_THAT(nobody.err, HasSubstr("--user or --anonymous is required"));
  ASSERT_EQ(server->Terminate(), 0);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace segmenta
