// Golden tests of the audience engine and the decider, in the spirit of DuckDB's
// sqllogictest: each file under tests/golden/ is a case, so that a new case is a file, not
// code. tests/golden/README.md says the same with examples.
//
// A file is a sequence of sections, each a header line at column 0 and the lines under it;
// blank lines and lines starting with '#' are ignored, and an indented line continues the
// line before it (a long condition).
//
// Time and events
//   at 2026-11-24T10:00:00Z    moves the clock (forward only) and runs due timers
//   events                     Segment messages, one JSON object per line; a message
//   {...}                      without "timestamp" happens at the clock's time
//
// Definitions (a second definition of the same name replaces the first, as PUT does)
//   group NAME                 a contact group and its condition
//   CONDITION...
//   condition                  the group under test, "test", that "expect" reads
//   CONDITION...
//   score NAME                 a score, or a persona with its threshold, and its rules:
//   persona NAME threshold N   attribute POINTS: CONDITION
//   RULE...                    macro POINTS: CONDITION
//                              activity POINTS [within DURATION] [cap N]: SELECTOR
//                              decay every DURATION percent N      (scores)
//   stages                     the lifecycle stages in funnel order: the first a name
//   NAME                       alone, every other "NAME: CONDITION"
//   NAME: CONDITION...
//   experience SLOT            an experience: variations in order, each with an optional
//   variation NAME             targeting condition and its payload (JSON), and a default;
//     when CONDITION           as an experiment, "experiment KEY", an optional "audience
//     show PAYLOAD             CONDITION" and "allocation NAME PERCENT, ..., control
//   default PAYLOAD            PERCENT" (conditions of variations are then not used)
//   error [DEFINITION HEADER]  the definition under it must be refused with a message
//   TEXT                       containing TEXT; with no header, the condition of "test"
//   DEFINITION BODY...
//   delete group NAME          deletes a definition, as DELETE does: a group, a score, a
//   delete score|persona NAME  persona, or the lifecycle stages
//   delete stages
//
// Expectations, checked on what the engine keeps current in real time AND on a
// recomputation from scratch (a copy of the store whose engine computed everything at
// start), except history, which is what happened
//   expect                     the members of "test" (or of group NAME) now, by userId
//   expect group NAME          (else anonymousId), several a line, or "(none)"; the
//   ana bob                    recomputation is a batch evaluation of its condition
//   expect points NAME         each contact's points in score or persona NAME, to three
//   ana 12.5                   decimals
//   expect persona             each contact's persona, or "(none)"
//   ana Cycling engineer
//   expect stage               each contact's lifecycle stage
//   ana Customer
//   expect history ana KIND    every move of contact ana in or out of a group, persona or
//   TIME entered|exited NAME (CAUSE)   stage (KIND), oldest first, with its cause
//
// Decisions
//   context NAME               a request's context (JSON, may span lines), for decide lines
//   {...}
//   decide SLOT                one decision a line, at the clock's now: the visitor, the
//   userId=ID anonymousId=ID [CONTEXT] -> VARIATION [PAYLOAD]
//                              context by name (none: empty) and the expected variation
//                              ("default", "control" or a name) and payload (JSON)
#include <filesystem>
#include <map>
#include <set>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_join.h"
#include "collect/parser.h"
#include "core/json_writer.h"
#include "core/time_format.h"
#include "fmt/format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/golden/golden_script.h"
#include "tests/golden/golden_system.h"

namespace segmenta::golden {
namespace {

// The .test files of `dir`, in name order (none when there is no such folder).
std::vector<std::string> GoldenFiles(const std::string& dir) {
  std::vector<std::string> files;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(dir, error)) {
    if (entry.path().extension() == ".test") files.push_back(entry.path().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

// `json` minified, to compare payloads however they are spaced; the text itself when it is
// not JSON.
std::string Minified(const std::string& json) {
  simdjson::dom::parser parser;
  simdjson::padded_string padded(json);
  simdjson::dom::element root;
  if (parser.parse(padded).get(root) != simdjson::SUCCESS) return json;
  return MinifiedJson(root);
}

// The body of a section after its first line.
std::vector<std::string> AfterFirst(const std::vector<std::string>& body) {
  return body.empty() ? body : std::vector<std::string>(body.begin() + 1, body.end());
}

class GoldenTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "/golden_" + std::filesystem::path(GetParam()).stem().string();
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    // 2026-01-01, before every case.
    auto system = GoldenSystem::Start(dir_ + "/live", absl::FromUnixSeconds(1767225600));
    ASSERT_TRUE(system.ok()) << system.status();
    live_ = std::move(*system);
  }
  void TearDown() override {
    recomputed_.reset();
    live_.reset();
    std::filesystem::remove_all(dir_);
  }

  // Runs one section (where_ names it in messages).
  void Run(const Section& s);
  void At(const Section& s);
  void Events(const Section& s);
  // A definition (group, condition, score, persona, stages, experience) from its header
  // and body; with `error`, checks that it is refused with a message containing `error`.
  void Define(std::string_view head, const std::vector<std::string>& body,
              const std::string* error);
  void Delete(const Section& s);
  void ExpectMembers(const Section& s);
  void ExpectPerContact(const Section& s);
  void ExpectHistory(const Section& s);
  void Decide(const Section& s);

  // The recomputation from scratch of the state now, made once per state.
  GoldenSystem* Recomputed();

  std::string where_;  // "file:line" of the section running
  std::string dir_;
  std::unique_ptr<GoldenSystem> live_;
  std::unique_ptr<GoldenSystem> recomputed_;  // null when the state changed since
  int recomputations_ = 0;
  MessageParser parser_;
  int messages_ = 0;
  bool defined_ = false;  // "test" is defined
  int checks_ = 0;
  std::map<std::string, std::string> contexts_;
};

void GoldenTest::Run(const Section& s) {
  const std::string& head = s.head;
  if (head.starts_with("at ")) return At(s);
  if (head == "events") return Events(s);
  if (head == "expect" || head.starts_with("expect group ")) return ExpectMembers(s);
  if (head.starts_with("expect history ")) return ExpectHistory(s);
  if (head.starts_with("expect ")) return ExpectPerContact(s);
  if (head.starts_with("decide ")) return Decide(s);
  if (head.starts_with("delete ")) return Delete(s);
  if (head.starts_with("context ")) {
    contexts_[head.substr(8)] = absl::StrJoin(s.body, "\n");
    return;
  }
  if (head == "error" || head.starts_with("error ")) {
    ASSERT_FALSE(s.body.empty()) << where_ << ": 'error' needs a message and a definition";
    const std::string definition = head == "error" ? "condition" : head.substr(6);
    return Define(definition, AfterFirst(s.body), &s.body.front());
  }
  Define(head, s.body, nullptr);
}

void GoldenTest::At(const Section& s) {
  auto t = ParseTimestamp(s.head.substr(3));
  ASSERT_TRUE(t.ok()) << where_ << ": " << t.status();
  ASSERT_GE(*t, live_->clock().Now()) << where_ << ": the clock only moves forward";
  ASSERT_TRUE(s.body.empty()) << where_ << ": unexpected lines after 'at'";
  live_->clock().Set(*t);
  recomputed_.reset();
  ASSERT_TRUE(live_->worker()->RunDueTimers().ok()) << where_;
}

void GoldenTest::Events(const Section& s) {
  std::vector<Message> batch;
  for (const std::string& line : s.body) {
    ParseResult parsed = parser_.ParseLine(line, live_->clock().Now());
    ASSERT_TRUE(parsed.errors.empty()) << where_ << ": " << line << ": " << parsed.errors[0].field
                                       << " " << parsed.errors[0].reason;
    Message m = std::move(parsed.messages[0]);
    m.message_id = fmt::format("golden-{}", ++messages_);
    batch.push_back(std::move(m));
  }
  recomputed_.reset();
  auto result = live_->worker()->SubmitAndWait(std::move(batch));
  ASSERT_TRUE(result.ok()) << where_ << ": " << result.status();
}

void GoldenTest::Define(std::string_view head, const std::vector<std::string>& body,
                        const std::string* error) {
  AudienceEngine* engine = live_->engine();
  absl::Status status;
  recomputed_.reset();
  if (head == "condition" || head.starts_with("group ")) {
    GroupDefinition def;
    def.name = head == "condition" ? "test" : std::string(head.substr(6));
    def.condition = absl::StrJoin(body, "\n");
    status = engine->groups().Get(def.name).ok() ? engine->groups().Update(def.name, def).status()
                                                 : engine->groups().Create(def).status();
    if (status.ok() && def.name == "test") defined_ = true;
  } else if (head.starts_with("score ") || head.starts_with("persona ")) {
    auto def = ParseScore(head, body);
    ASSERT_TRUE(def.ok()) << where_ << ": " << def.status();
    status = engine->scores().Get(def->name).ok()
                 ? engine->scores().Update(def->name, *def).status()
                 : engine->scores().Create(*def).status();
  } else if (head == "stages") {
    auto def = ParseStages(body);
    ASSERT_TRUE(def.ok()) << where_ << ": " << def.status();
    status = engine->stages().Set(*def).status();
  } else if (head.starts_with("experience ")) {
    auto def = ParseExperience(head, body);
    ASSERT_TRUE(def.ok()) << where_ << ": " << def.status();
    auto decider = live_->decider();
    ASSERT_TRUE(decider.ok()) << where_ << ": " << decider.status();
    status = (*decider)->Put(*def).status();
  } else {
    FAIL() << where_ << ": unknown section '" << head << "'";
  }
  if (error == nullptr) {
    ASSERT_TRUE(status.ok()) << where_ << ": " << status;
    return;
  }
  ASSERT_FALSE(status.ok()) << where_ << ": the definition was accepted";
  EXPECT_THAT(std::string(status.message()), ::testing::HasSubstr(*error)) << where_;
  ++checks_;
}

void GoldenTest::Delete(const Section& s) {
  // "delete group NAME", "delete score NAME", "delete persona NAME", "delete stages".
  ASSERT_TRUE(s.body.empty()) << where_ << ": unexpected lines after 'delete'";
  AudienceEngine* engine = live_->engine();
  const std::string what = s.head.substr(7);
  absl::Status status;
  recomputed_.reset();
  if (what.starts_with("group ")) {
    status = engine->groups().Delete(what.substr(6));
    if (status.ok() && what == "group test") defined_ = false;
  } else if (what.starts_with("score ") || what.starts_with("persona ")) {
    status = engine->scores().Delete(what.substr(what.find(' ') + 1));
  } else if (what == "stages") {
    status = engine->stages().Delete();
  } else {
    FAIL() << where_ << ": expected 'delete group|score|persona NAME' or 'delete stages'";
  }
  ASSERT_TRUE(status.ok()) << where_ << ": " << status;
}

void GoldenTest::ExpectMembers(const Section& s) {
  // "expect" (the group "test") or "expect group NAME".
  const std::string group = s.head == "expect" ? "test" : s.head.substr(13);
  ASSERT_TRUE(group != "test" || defined_) << where_ << ": 'expect' before 'condition'";
  std::set<std::string> expected;
  for (const std::string& line : s.body) {
    if (line == "(none)") continue;
    std::istringstream words(line);
    std::string name;
    while (words >> name) expected.insert(name);
  }
  AudienceEngine* engine = live_->engine();
  auto live = engine->audiences().Bitmap(AudienceKind::kGroup, group);
  ASSERT_TRUE(live.ok()) << where_ << ": " << live.status();
  std::set<std::string> names;
  for (uint32_t id : *live) names.insert(live_->NameOf(id));
  EXPECT_EQ(names, expected) << where_ << ": members kept current in real time";
  // A batch evaluation at the same instant agrees.
  auto info = engine->groups().Get(group);
  ASSERT_TRUE(info.ok());
  auto check = engine->conditions().Check(info->definition.condition, /*count=*/true);
  ASSERT_TRUE(check.ok()) << check.status();
  EXPECT_EQ(*check->matches, expected.size()) << where_ << ": batch evaluation";
  ++checks_;
}

void GoldenTest::ExpectPerContact(const Section& s) {
  // "expect points NAME", "expect persona", "expect stage".
  std::string score;
  const bool points = s.head.starts_with("expect points ");
  if (points) {
    score = s.head.substr(14);
  } else {
    ASSERT_TRUE(s.head == "expect persona" || s.head == "expect stage")
        << where_ << ": unknown expectation '" << s.head << "'";
  }
  const bool persona = s.head == "expect persona";
  for (const auto& [system, label] :
       {std::pair{live_.get(), "kept current"}, std::pair{Recomputed(), "recomputed"}}) {
    ASSERT_NE(system, nullptr) << where_;
    for (const std::string& line : s.body) {
      auto expected = SplitContact(line);
      ASSERT_TRUE(expected.ok()) << where_ << ": " << expected.status();
      const auto& [name, value] = *expected;
      std::optional<ContactId> id = system->Find(name);
      ASSERT_TRUE(id.has_value()) << where_ << ": no contact named " << name;
      const ContactScores scores = system->engine()->scores().Of(*id);
      if (!points) {
        const std::string& actual = persona ? scores.persona : scores.stage;
        EXPECT_EQ(actual.empty() ? "(none)" : actual, value)
            << where_ << ": " << (persona ? "persona" : "stage") << " of " << name << ", " << label;
        continue;
      }
      double want = 0;
      ASSERT_TRUE(absl::SimpleAtod(value, &want)) << where_ << ": '" << value << "' is no number";
      auto it = std::find_if(scores.scores.begin(), scores.scores.end(),
                             [&](const ContactScores::Score& x) { return x.name == score; });
      ASSERT_NE(it, scores.scores.end()) << where_ << ": no score named " << score;
      EXPECT_NEAR(it->points, want, 0.0005)
          << where_ << ": points of " << name << " in " << score << ", " << label;
    }
  }
  ++checks_;
}

void GoldenTest::ExpectHistory(const Section& s) {
  // "expect history CONTACT KIND"
  std::istringstream in(s.head.substr(15));
  std::vector<std::string> words;
  for (std::string w; in >> w;) words.push_back(w);
  ASSERT_EQ(words.size(), 2u) << where_ << ": expected 'expect history CONTACT KIND'";
  const std::string& kind = words[1];
  ASSERT_TRUE(kind == "group" || kind == "persona" || kind == "stage")
      << where_ << ": KIND is group, persona or stage";
  std::optional<ContactId> id = live_->Find(words[0]);
  ASSERT_TRUE(id.has_value()) << where_ << ": no contact named " << words[0];
  std::vector<std::string> expected;
  for (const std::string& line : s.body) {
    auto move = ParseMove(line);
    ASSERT_TRUE(move.ok()) << where_ << ": " << move.status();
    expected.push_back(FormatMove(*move));  // times however written, compared as times
  }
  auto history = live_->engine()->audiences().ContactHistory(*id, 10000);
  ASSERT_TRUE(history.ok()) << where_ << ": " << history.status();
  std::vector<std::string> actual;
  for (auto e = history->rbegin(); e != history->rend(); ++e) {
    if (AudienceKindName(e->kind) != kind) continue;
    actual.push_back(FormatMove({e->time_ms, e->entered, e->audience_name, e->cause}));
  }
  EXPECT_EQ(absl::StrJoin(actual, "\n"), absl::StrJoin(expected, "\n"))
      << where_ << ": history of " << words[0];
  ++checks_;
}

void GoldenTest::Decide(const Section& s) {
  auto decider = live_->decider();
  ASSERT_TRUE(decider.ok()) << where_ << ": " << decider.status();
  const std::string slot = s.head.substr(7);
  recomputed_.reset();  // exposures are activities
  for (const std::string& line : s.body) {
    auto expected = ParseDecision(line);
    ASSERT_TRUE(expected.ok()) << where_ << ": " << expected.status();
    std::string context = "{}";
    if (!expected->context.empty()) {
      auto it = contexts_.find(expected->context);
      ASSERT_NE(it, contexts_.end()) << where_ << ": no context named " << expected->context;
      context = it->second;
    }
    simdjson::dom::parser parser;
    simdjson::padded_string padded(context);
    simdjson::dom::element root;
    ASSERT_EQ(parser.parse(padded).get(root), simdjson::SUCCESS)
        << where_ << ": context " << expected->context << " is not JSON";
    auto visit = ReadVisit(&root, ToMillis(live_->clock().Now()), false);
    ASSERT_TRUE(visit.ok()) << where_ << ": " << visit.status();
    auto decisions = (*decider)->Decide(
        DecideRequest{expected->user_id, expected->anonymous_id, {slot}, *std::move(visit)});
    ASSERT_TRUE(decisions.ok()) << where_ << ": " << decisions.status();
    // Exposures are held, then queued: hand them over and wait (the worker keeps order), so
    // that the next decision sees them.
    (*decider)->FlushExposures();
    ASSERT_TRUE(live_->worker()->SubmitAndWait({}).ok());
    const Decision& d = (*decisions)[0];
    EXPECT_EQ(d.variation, expected->variation)
        << where_ << ": " << line << " (" << d.reason << ")";
    if (!expected->payload.empty()) {
      EXPECT_EQ(Minified(d.payload), Minified(expected->payload)) << where_ << ": " << line;
    }
    ++checks_;
  }
}

GoldenSystem* GoldenTest::Recomputed() {
  if (recomputed_ == nullptr) {
    const std::string dir = fmt::format("{}/recomputed-{}", dir_, ++recomputations_);
    auto copy = live_->Recomputed(dir);
    EXPECT_TRUE(copy.ok()) << where_ << ": " << copy.status();
    if (copy.ok()) recomputed_ = std::move(*copy);
  }
  return recomputed_.get();
}

TEST_P(GoldenTest, AsExpected) {
  const std::string path = GetParam();
  const std::string file = std::filesystem::path(path).filename().string();
  auto sections = ReadSections(path);
  ASSERT_TRUE(sections.ok()) << sections.status();
  for (const Section& s : *sections) {
    where_ = fmt::format("{}:{}", file, s.line);
    Run(s);
    if (HasFatalFailure()) return;
  }
  EXPECT_GT(checks_, 0) << file << " checks nothing";
}

std::string TestName(const ::testing::TestParamInfo<std::string>& info) {
  std::string name = std::filesystem::path(info.param).stem().string();
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return name;
}

INSTANTIATE_TEST_SUITE_P(Files, GoldenTest,
                         ::testing::ValuesIn(GoldenFiles(SEGMENTA_SOURCE_DIR "/tests/golden")),
                         TestName);

}  // namespace
}  // namespace segmenta::golden
