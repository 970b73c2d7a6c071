// Golden tests of contact groups, in the spirit of DuckDB's sqllogictest: each file under
// tests/golden/ is a case, so that a new case is a file, not code.
//
// A file is a sequence of sections, each a header line and the lines under it; blank
// lines and lines starting with '#' are ignored.
//   at 2026-11-24T10:00:00Z    moves the clock (forward only) and runs due timers
//   events                     Segment messages, one JSON object per line; a message
//   {...}                      without "timestamp" happens at the clock's time
//   group NAME                 defines a group (other than the one under test), the
//   CONDITION...               condition on the following lines
//   condition                  defines the group under test, "test"
//   CONDITION...
//   expect                     the members of "test" now, by userId (else anonymousId),
//   ana bob                    one or more per line, or "(none)"; checked on the members
//                              kept current in real time and on a batch evaluation
//   error                      the condition under test must be refused with a message
//   TEXT                       containing TEXT
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "absl/strings/str_join.h"
#include "collect/parser.h"
#include "core/time_format.h"
#include "eval/batch.h"
#include "fmt/format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "profile/contact_reader.h"
#include "segments/engine.h"

namespace segmenta {
namespace {

std::vector<std::string> GoldenFiles() {
  std::vector<std::string> files;
  for (const auto& entry :
       std::filesystem::directory_iterator(SEGMENTA_SOURCE_DIR "/tests/golden")) {
    if (entry.path().extension() == ".test") files.push_back(entry.path().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

struct Block {
  int line = 0;  // first line of the block
  std::vector<std::string> lines;
};

bool IsHeader(const std::string& line) {
  return line.rfind("at ", 0) == 0 || line == "events" || line.rfind("group ", 0) == 0 ||
         line == "condition" || line == "expect" || line == "error";
}

// Sections: a header line and the lines up to the next header. Blank lines and comments
// are skipped.
std::vector<Block> ReadBlocks(const std::string& path) {
  std::ifstream in(path);
  std::vector<Block> blocks;
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line[0] == '#' || line.find_first_not_of(" \t") == std::string::npos) {
      continue;
    }
    if (IsHeader(line) || blocks.empty()) {
      blocks.push_back(Block{number, {line}});
    } else {
      blocks.back().lines.push_back(line);
    }
  }
  return blocks;
}

class GoldenTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "/golden_" + std::filesystem::path(GetParam()).stem().string();
    std::filesystem::remove_all(dir_);
    store_ = *Store::Open(dir_);
    worker_ = *Worker::Start(store_.get(), {}, &clock_);
    engine_ = *GroupEngine::Start(store_.get(), worker_.get(), &clock_);
  }
  void TearDown() override {
    engine_.reset();
    worker_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  // The identity a test names a contact by.
  std::string NameOf(ContactId id) {
    auto contact = ContactReader(store_.get()).FindById(id);
    if (!contact.ok()) return "#" + std::to_string(id);
    for (IdentityKind kind : {IdentityKind::kUser, IdentityKind::kAnonymous}) {
      for (const Identity& identity : contact->identities) {
        if (identity.kind == kind) return identity.value;
      }
    }
    return "#" + std::to_string(id);
  }

  std::set<std::string> Names(const Roaring& members) {
    std::set<std::string> out;
    for (uint32_t id : members) out.insert(NameOf(id));
    return out;
  }

  FakeClock clock_{absl::FromUnixSeconds(1767225600)};  // 2026-01-01, before every case
  std::string dir_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<Worker> worker_;
  std::unique_ptr<GroupEngine> engine_;
};

TEST_P(GoldenTest, MembersAreAsExpected) {
  const std::string path = GetParam();
  const std::string file = std::filesystem::path(path).filename().string();
  MessageParser parser;
  int messages = 0;
  bool defined = false;
  int checks = 0;
  for (const Block& block : ReadBlocks(path)) {
    const std::string where = fmt::format("{}:{}", file, block.line);
    const std::string& head = block.lines[0];
    std::vector<std::string> body(block.lines.begin() + 1, block.lines.end());
    if (head.rfind("at ", 0) == 0) {
      auto t = ParseTimestamp(head.substr(3));
      ASSERT_TRUE(t.ok()) << where << ": " << t.status();
      ASSERT_GE(*t, clock_.Now()) << where << ": the clock only moves forward";
      clock_.Set(*t);
      ASSERT_TRUE(worker_->RunDueTimers().ok()) << where;
      ASSERT_TRUE(body.empty()) << where << ": unexpected lines after 'at'";
    } else if (head == "events") {
      std::vector<Message> batch;
      for (const std::string& line : body) {
        ParseResult parsed = parser.ParseLine(line, clock_.Now());
        ASSERT_TRUE(parsed.errors.empty())
            << where << ": " << line << ": " << parsed.errors[0].field << " "
            << parsed.errors[0].reason;
        Message m = std::move(parsed.messages[0]);
        m.message_id = fmt::format("golden-{}", ++messages);
        batch.push_back(std::move(m));
      }
      auto result = worker_->SubmitAndWait(std::move(batch));
      ASSERT_TRUE(result.ok()) << where << ": " << result.status();
    } else if (head.rfind("group ", 0) == 0 || head == "condition" || head == "error") {
      const bool expect_error = head == "error";
      if (expect_error) {
        ASSERT_FALSE(body.empty()) << where << ": 'error' needs a message and a condition";
      }
      GroupDefinition def;
      def.name = head == "condition" || expect_error ? "test" : head.substr(6);
      std::vector<std::string> condition(body.begin() + (expect_error ? 1 : 0), body.end());
      def.condition = absl::StrJoin(condition, "\n");
      auto created = engine_->Create(def);
      if (expect_error) {
        ASSERT_FALSE(created.ok()) << where << ": the condition was accepted";
        EXPECT_THAT(std::string(created.status().message()), ::testing::HasSubstr(body[0]))
            << where;
        ++checks;
        continue;
      }
      ASSERT_TRUE(created.ok()) << where << ": " << created.status();
      if (def.name == "test") defined = true;
    } else if (head == "expect") {
      ASSERT_TRUE(defined) << where << ": 'expect' before 'condition'";
      std::set<std::string> expected;
      for (const std::string& line : body) {
        if (line == "(none)") continue;
        std::istringstream words(line);
        std::string name;
        while (words >> name) expected.insert(name);
      }
      auto live = engine_->MemberBitmap("test");
      ASSERT_TRUE(live.ok());
      EXPECT_EQ(Names(*live), expected) << where << ": members kept current in real time";
      // A batch evaluation at the same instant agrees.
      auto info = engine_->Get("test");
      ASSERT_TRUE(info.ok());
      auto check = engine_->Check(info->definition.condition, /*count=*/true);
      ASSERT_TRUE(check.ok()) << check.status();
      EXPECT_EQ(*check->matches, expected.size()) << where << ": batch evaluation";
      ++checks;
    } else {
      FAIL() << where << ": unknown block '" << head << "'";
    }
  }
  EXPECT_GT(checks, 0) << file << " checks nothing";
}

INSTANTIATE_TEST_SUITE_P(Files, GoldenTest, ::testing::ValuesIn(GoldenFiles()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string name = std::filesystem::path(info.param).stem().string();
                           for (char& c : name) {
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return name;
                         });

}  // namespace
}  // namespace segmenta
