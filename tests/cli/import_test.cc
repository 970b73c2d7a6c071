// `segmenta import`, run as the real binary on real files: into a data directory, into a
// running server with --url, and as a dry run.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <regex>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "fmt/format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ingest/worker.h"
#include "profile/contact_reader.h"
#include "server/http_client.h"
#include "store/store.h"
#include "testing/server_process.h"
#include "tools/bench/harness/child_process.h"

namespace segmenta {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using testing::RunResult;
using testing::RunSegmentaFull;

class ImportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "/import_test_" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    data_ = dir_ + "/data";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string Write(const std::string& name, const std::string& text) {
    std::string path = dir_ + "/" + name;
    std::ofstream(path) << text;
    return path;
  }
  RunResult Import(std::vector<std::string> args) {
    args.insert(args.begin(), {"--data-dir", data_, "import"});
    return RunSegmentaFull(args);
  }
  // Opens the data directory (no server may hold it) to read what was stored.
  absl::StatusOr<Contact> Find(const std::string& id) {
    auto store = Store::Open(data_);
    if (!store.ok()) return store.status();
    return ContactReader(store->get()).Find(id);
  }

  std::string dir_;
  std::string data_;
};

TEST_F(ImportTest, ContactsCsvBecomesTypedTraitsAndBadRowsAreReportedByLine) {
  std::string csv = Write("crm.csv",
                          "user_id;first_name;age;zip;vip;email\r\n"
                          "u1;Jos\xC3\xA9;47;01234;true;jose@example.com\r\n"
                          ";Nobody;30;;false;\r\n"
                          "u2;\"Smith; Ann\";52;;false;\r\n"
                          "u3;Bad;\xE9;;;\r\n"
                          "u4;\"multi\nline\";19;;;\r\n"
                          "null;Placeholder;1;;;\r\n");
  RunResult r = Import({"contacts", csv});
  EXPECT_EQ(r.exit_code, 2) << r.err;  // imported, with refused rows
  EXPECT_THAT(r.err, HasSubstr(csv + ":3: empty id in column user_id"));
  EXPECT_THAT(r.err, HasSubstr(csv + ":5: column age is not valid UTF-8"));
  EXPECT_THAT(r.err, HasSubstr(csv + ":8: 'null' in column user_id is a placeholder"));
  EXPECT_THAT(r.err, HasSubstr("6 records read, 3 refused"));
  auto u1 = Find("u1");
  ASSERT_TRUE(u1.ok()) << u1.status();
  EXPECT_EQ(u1->traits["age"].json, "47");
  EXPECT_EQ(u1->traits["zip"].json, "\"01234\"");  // a postal code stays a string
  EXPECT_EQ(u1->traits["vip"].json, "true");
  EXPECT_EQ(u1->traits["first_name"].json, "\"Jos\xC3\xA9\"");
  EXPECT_EQ(Find("email:jose@example.com")->id, u1->id);  // e-mail links by default
  EXPECT_EQ(Find("u2")->traits["first_name"].json, "\"Smith; Ann\"");
  EXPECT_EQ(Find("u4")->traits["first_name"].json, "\"multi\\nline\"");
  EXPECT_FALSE(Find("u3").ok());

  // The same file again stores nothing twice: every row has a stable messageId.
  RunResult again = Import({"contacts", csv});
  EXPECT_THAT(again.err, HasSubstr("0 messages stored, 3 duplicates skipped"));
}

TEST_F(ImportTest, AccountsThenContactsByEmailThenActivitiesLinkUp) {
  std::string accounts = Write("accounts.csv",
                               "group_id,name,industry,employees\n"
                               "acme,Acme,Retail,120\n"
                               "globex,Globex,Energy,30\n");
  std::string contacts = Write("contacts.csv",
                               "email,country\n"
                               "Ana@Example.com,ES\n"
                               "not-an-email,DE\n");
  std::string events = Write(
      "events.jsonl",
      R"({"type":"identify","userId":"ana","traits":{"email":"ana@example.com"}})"
      "\n"
      "\n"
      R"({"type":"group","userId":"ana","groupId":"acme"})"
      "\n"
      R"({"type":"track","userId":"ana","event":"Order Completed","properties":{"revenue":9.5}})"
      "\n"
      R"({"type":"track","userId":"ana"})"
      "\n"
      "{not json\n");
  RunResult a = Import({"accounts", accounts});
  EXPECT_EQ(a.exit_code, 0) << a.err;
  RunResult c = Import({"contacts", contacts});
  EXPECT_EQ(c.exit_code, 2) << c.err;
  EXPECT_THAT(c.err, HasSubstr(contacts + ":3: 'not-an-email' in column email is not an e-mail"));
  RunResult e = Import({"activities", events});
  EXPECT_EQ(e.exit_code, 2) << e.err;
  EXPECT_THAT(e.err, HasSubstr(events + ":5: event: is required"));
  EXPECT_THAT(e.err, HasSubstr(events + ":6: "));
  auto ana = Find("ana");
  ASSERT_TRUE(ana.ok()) << ana.status();
  EXPECT_EQ(ana->traits["country"].json, "\"ES\"");  // from the CSV, linked by e-mail
  EXPECT_EQ(ana->accounts, std::vector<std::string>{"acme"});
  auto store = Store::Open(data_);
  ASSERT_TRUE(store.ok());
  auto acme = ContactReader(store->get()).FindAccount("acme");
  ASSERT_TRUE(acme.ok());
  EXPECT_EQ(acme->traits["employees"].json, "120");
}

// Every record of every family of the data directory `dir`, as "family key = value" lines,
// without the time each activity was received (the time of its import) and, with
// `ignore_duplicates`, without the count of duplicates skipped.
std::vector<std::string> Records(const std::string& dir, bool ignore_duplicates = false) {
  static const std::regex kReceivedAt(R"("receivedAt":"[^"]*")");
  static const std::regex kDuplicates(R"("duplicates":[0-9]+)");
  std::vector<std::string> out;
  auto store = Store::Open(dir);
  EXPECT_TRUE(store.ok()) << store.status();
  if (!store.ok()) return out;
  for (int f = 0; f < static_cast<int>(Family::kCount); ++f) {
    auto it = (*store)->NewIterator(static_cast<Family>(f));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      std::string value = std::regex_replace(it->value().ToString(), kReceivedAt, "");
      if (ignore_duplicates && f == static_cast<int>(Family::kMeta)) {
        value = std::regex_replace(value, kDuplicates, "");
      }
      out.push_back(
          fmt::format("{} {} = {}", f, absl::CEscape(it->key().ToString()), absl::CEscape(value)));
    }
  }
  return out;
}

// The traffic of 1,000 generated contacts in time order, as in a real log: a visitor's
// anonymous pages, and much later the identify that merges them.
std::vector<std::string> TimeOrderedTraffic(const std::string& dir) {
  std::string events = dir + "/generated.jsonl";
  RunResult gen = RunSegmentaFull({"gen", "-n", "1000", "-o", events});
  EXPECT_EQ(gen.exit_code, 0) << gen.err;
  std::vector<std::pair<std::string, std::string>> timed;  // timestamp, line
  static const std::regex kTimestamp(R"re("timestamp":"([^"]*)")re");
  std::ifstream in(events);
  std::string line;
  std::smatch match;
  while (std::getline(in, line)) {
    EXPECT_TRUE(std::regex_search(line, match, kTimestamp)) << line;
    timed.emplace_back(match[1], line);
  }
  std::stable_sort(timed.begin(), timed.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<std::string> lines;
  for (auto& [time, text] : timed) lines.push_back(std::move(text));
  return lines;
}

// Writes lines [from, to) of `lines`, then each of `retried` ranges again.
std::string WriteLines(const std::string& path, const std::vector<std::string>& lines, size_t from,
                       size_t to, const std::vector<std::pair<size_t, size_t>>& retried = {}) {
  std::ofstream out(path);
  for (size_t i = from; i < to; ++i) out << lines[i] << '\n';
  for (const auto& [a, b] : retried) {
    for (size_t i = a; i < b; ++i) out << lines[i] << '\n';
  }
  return path;
}

// Runs `segmenta --data-dir DIR import activities --buffer-mb 0.2 FIFO`, writes `lines` to
// the FIFO (a named pipe under `work`), and kills it (SIGKILL) once a spill has added its
// table files to the store (the first buffer's directory, DIR/bulk-load/000000, came and
// went), while its input is still open: in the middle of the import. False if no spill
// ended within 30 s.
bool ImportKilledAfterASpill(const std::string& dir, const std::string& work,
                             const std::vector<std::string>& lines) {
  signal(SIGPIPE, SIG_IGN);  // a write after the child is gone fails instead
  const std::string fifo = work + "/input.fifo";
  if (mkfifo(fifo.c_str(), 0600) != 0) return false;
  auto child = ChildProcess::Spawn({testing::SegmentaBinary(), "--data-dir", dir, "import",
                                    "activities", "--buffer-mb", "0.2", fifo});
  if (!child.ok()) return false;
  // The FIFO opens for writing once the import has opened it to read (ENXIO until then).
  int fd = -1;
  for (int waited = 0; fd < 0 && waited < 3000 && child->Running(); ++waited) {
    fd = open(fifo.c_str(), O_WRONLY | O_NONBLOCK);
    if (fd < 0) usleep(10000);
  }
  if (fd < 0) return false;
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  std::FILE* input = fdopen(fd, "w");
  const std::string spill_dir = dir + "/bulk-load/000000";
  bool spilling = false;
  for (size_t i = 0; i < lines.size() && !spilling; ++i) {
    if (std::fprintf(input, "%s\n", lines[i].c_str()) < 0 || std::fflush(input) != 0) break;
    if (i % 20 == 19) spilling = std::filesystem::exists(spill_dir);
  }
  for (int waited = 0; !spilling && waited < 3000; ++waited) {
    usleep(10000);
    spilling = std::filesystem::exists(spill_dir);
  }
  bool spilled = false;
  for (int waited = 0; spilling && !spilled && waited < 3000; ++waited) {
    usleep(10000);
    spilled = !std::filesystem::exists(spill_dir);
  }
  const int status = child->Stop(SIGKILL, absl::ZeroDuration());
  std::fclose(input);
  return spilled && WIFSIGNALED(status);
}

// An import without --durable builds table files (a bulk load) instead of going through the
// write path that the server uses; both must store the same records. Two imports, each of
// half of the traffic, with a buffer of 0.2 MiB that spills many times: merges move
// activities written several submissions before them, spilled or still buffered, or by the
// first import; retried messageIds (lines again at the end of the second file) meet their
// first copy in an earlier spill or the first import. A third import, of the second file
// again, is all duplicates.
TEST_F(ImportTest, BulkImportStoresWhatTheDurableWritePathStores) {
  std::vector<std::string> lines = TimeOrderedTraffic(dir_);
  const size_t half = lines.size() / 2;
  std::string first = WriteLines(dir_ + "/first.jsonl", lines, 0, half);
  std::string second =
      WriteLines(dir_ + "/second.jsonl", lines, half, lines.size(), {{0, 300}, {half, half + 200}});
  const std::string durable = dir_ + "/durable";
  const std::string files[] = {first, second, second};
  for (int i = 0; i < 3; ++i) {
    RunResult a =
        RunSegmentaFull({"--data-dir", durable, "import", "activities", "--durable", files[i]});
    ASSERT_EQ(a.exit_code, 0) << a.err;
    RunResult b = Import({"activities", "--buffer-mb", "0.2", files[i]});
    ASSERT_EQ(b.exit_code, 0) << b.err;
    // The third, all duplicates, merges nothing.
    if (i < 2) {
      EXPECT_THAT(b.err, Not(HasSubstr("merges +0"))) << i;
    }
  }
  std::vector<std::string> expected = Records(durable);
  std::vector<std::string> bulk = Records(data_);
  EXPECT_GT(expected.size(), 10000u);
  ASSERT_EQ(bulk.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) ASSERT_EQ(bulk[i], expected[i]) << i;
  EXPECT_FALSE(std::filesystem::exists(data_ + "/bulk-load"));
}

// A bulk import killed in the middle keeps whole spills only; run again, it stores what one
// uninterrupted import stores (the messages it had kept count as duplicates the second
// time).
TEST_F(ImportTest, BulkImportKilledMidwayAndRunAgainStoresWhatOneImportStores) {
  std::vector<std::string> lines = TimeOrderedTraffic(dir_);
  const size_t half = lines.size() / 2;
  std::string first = WriteLines(dir_ + "/first.jsonl", lines, 0, half);
  std::string second = WriteLines(dir_ + "/second.jsonl", lines, half, lines.size());
  const std::string clean = dir_ + "/clean";
  for (const std::string& file : {first, second}) {
    RunResult r = RunSegmentaFull({"--data-dir", clean, "import", "activities", file});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  RunResult r = Import({"activities", first});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_TRUE(ImportKilledAfterASpill(
      data_, dir_,
      std::vector<std::string>(lines.begin() + static_cast<ptrdiff_t>(half), lines.end())));
  RunResult again = Import({"activities", second});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_THAT(again.err, Not(HasSubstr(" 0 duplicates skipped")));
  std::vector<std::string> expected = Records(clean, /*ignore_duplicates=*/true);
  std::vector<std::string> rerun = Records(data_, /*ignore_duplicates=*/true);
  ASSERT_EQ(rerun.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) ASSERT_EQ(rerun[i], expected[i]) << i;
}

TEST_F(ImportTest, DryRunValidatesAndStoresNothing) {
  std::string events = Write("events.jsonl", R"({"type":"track","anonymousId":"a","event":"E"})"
                                             "\n"
                                             R"({"type":"nope","anonymousId":"a"})"
                                             "\n");
  RunResult r = Import({"activities", "--dry-run", events});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr(events + ":2: type"));
  EXPECT_THAT(r.err, HasSubstr("dry run: 1 valid messages, nothing stored"));
  EXPECT_FALSE(std::filesystem::exists(data_));
}

TEST_F(ImportTest, UnusableInputFailsUpFrontWithTheReason) {
  RunResult missing = Import({"activities", dir_ + "/nope.jsonl"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_THAT(missing.err, HasSubstr("nope.jsonl: No such file"));
  std::string no_id = Write("no_id.csv", "name,age\nAna,3\n");
  RunResult r = Import({"contacts", no_id});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr(no_id + ":1: no id column (userId, user_id, id or email) among "
                                       "the columns name, age; name it with --id-column"));
  // --id-column picks it.
  RunResult named = Import({"contacts", "--id-column", "name", no_id});
  EXPECT_EQ(named.exit_code, 0) << named.err;
  EXPECT_TRUE(Find("Ana").ok());
}

TEST_F(ImportTest, TooManyErrorsStopTheImport) {
  std::string text;
  for (int i = 0; i < 50; ++i) text += "{\"type\":\"track\"}\n";
  std::string events = Write("bad.jsonl", text);
  RunResult r = Import({"activities", "--max-errors", "10", events});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("stopping at " + events + ":11: more than 10 refused records"));
}

TEST_F(ImportTest, ImportsIntoARunningServerThroughTheTrackingApi) {
  auto key = testing::RunSegmenta(
      {"--data-dir", data_, "keys", "create", "--kind", "write", "--name", "import"});
  ASSERT_TRUE(key.ok()) << key.status();
  std::string write_key(absl::StripAsciiWhitespace(*key));
  auto server = testing::ServerProcess::Start(data_);
  ASSERT_TRUE(server.ok()) << server.status();
  std::string text;
  for (int i = 0; i < 3000; ++i) {
    text += fmt::format(
        R"({{"type":"track","anonymousId":"v{}","event":"Product Viewed","messageId":"m{}"}})"
        "\n",
        i % 100, i);
  }
  std::string events = Write("events.jsonl", text);
  std::string contacts = Write("contacts.csv", "userId,plan\nu1,pro\n");
  // The data directory is the server's: a local import is refused with the way out.
  RunResult locked = Import({"activities", events});
  EXPECT_EQ(locked.exit_code, 1);
  EXPECT_THAT(locked.err, HasSubstr("--url"));
  RunResult wrong = Import({"activities", events, "--url", server->url(), "--write-key", "sk_no"});
  EXPECT_EQ(wrong.exit_code, 1);
  EXPECT_THAT(wrong.err, HasSubstr("refused the write key"));
  RunResult r = Import({"activities", events, "--url", server->url(), "--write-key", write_key});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("3000 messages acknowledged"));
  RunResult c = Import({"contacts", contacts, "--url", server->url(), "--write-key", write_key});
  EXPECT_EQ(c.exit_code, 0) << c.err;
  ASSERT_EQ(server->Terminate(), 0);
  EXPECT_EQ(Find("u1")->traits["plan"].json, "\"pro\"");
  auto store = Store::Open(data_);
  ASSERT_TRUE(store.ok());
  ContactReader reader(store->get());
  auto v7 = reader.Find("v7");
  ASSERT_TRUE(v7.ok());
  EXPECT_EQ(*reader.ActivityCount(v7->id), 30u);
}

}  // namespace
}  // namespace segmenta
