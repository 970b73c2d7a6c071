#include "tests/golden/golden_script.h"

#include <fstream>

#include "absl/strings/numbers.h"
#include "core/string_view.h"
#include "core/time_format.h"
#include "fmt/format.h"
#include "lang/parser.h"

namespace segmenta::golden {
namespace {

absl::Status Bad(std::string_view line, std::string_view expected) {
  return absl::InvalidArgumentError(fmt::format("'{}': expected {}", line, expected));
}

bool Indented(std::string_view line) { return line[0] == ' ' || line[0] == '\t'; }

std::string_view Trim(std::string_view text) {
  const size_t first = text.find_first_not_of(" \t");
  if (first == std::string_view::npos) return {};
  return text.substr(first, text.find_last_not_of(" \t") - first + 1);
}

// The pieces of `text` between `separator`s, trimmed; empty ones left out.
std::vector<std::string_view> Split(std::string_view text, char separator) {
  std::vector<std::string_view> out;
  while (!text.empty()) {
    const size_t end = std::min(text.find(separator), text.size());
    if (std::string_view piece = Trim(text.substr(0, end)); !piece.empty()) out.push_back(piece);
    text.remove_prefix(std::min(end + 1, text.size()));
  }
  return out;
}

// `text` with its first word taken off into `*word`.
std::string_view TakeWord(std::string_view text, std::string_view* word) {
  text = Trim(text);
  const size_t end = std::min(text.find(' '), text.size());
  *word = text.substr(0, end);
  return Trim(text.substr(end));
}

absl::StatusOr<double> Number(std::string_view text, std::string_view line) {
  double n = 0;
  if (!absl::SimpleAtod(AbslView(text), &n)) {
    return Bad(line, fmt::format("a number, not '{}'", text));
  }
  return n;
}

absl::StatusOr<Millis> Duration(std::string_view text, std::string_view line) {
  auto ms = ParseDuration(text);
  if (!ms.ok())
    return Bad(line, fmt::format("a duration ({})", std::string(ms.status().message())));
  return ms;
}

// "attribute 10: CONDITION", "macro -5: CONDITION", "activity 2 within 90 days cap 20:
// SELECTOR".
absl::StatusOr<ScoreRule> ParseRule(std::string_view item) {
  const std::string_view first_line = item.substr(0, item.find('\n'));
  constexpr std::string_view kForm = "'KIND POINTS [within DURATION] [cap N]: CONDITION'";
  const size_t colon = item.find(':');
  if (colon == std::string_view::npos) return Bad(first_line, kForm);
  ScoreRule rule;
  std::string_view word;
  std::string_view rest = TakeWord(item.substr(0, colon), &word);
  if (!ScoreRuleKindFromName(word, &rule.kind)) {
    return Bad(first_line, "a rule kind: attribute, activity or macro");
  }
  rest = TakeWord(rest, &word);
  auto points = Number(word, first_line);
  if (!points.ok()) return points.status();
  rule.points = *points;
  // The options: "within 90 days" and "cap 20", in either order.
  while (!rest.empty()) {
    rest = TakeWord(rest, &word);
    if (word == "within") {
      const size_t cap = rest.find(" cap ");
      const std::string_view duration = rest.substr(0, cap);
      auto ms = Duration(duration, first_line);
      if (!ms.ok()) return ms.status();
      rule.within = *ms;
      rest = cap == std::string_view::npos ? "" : rest.substr(cap + 1);
    } else if (word == "cap") {
      rest = TakeWord(rest, &word);
      auto cap = Number(word, first_line);
      if (!cap.ok()) return cap.status();
      rule.cap = *cap;
    } else {
      return Bad(first_line, kForm);
    }
  }
  rule.condition = std::string(Trim(item.substr(colon + 1)));
  return rule;
}

}  // namespace

bool IsHeader(std::string_view line) {
  for (std::string_view word : {"events", "condition", "expect", "error", "stages"}) {
    if (line == word) return true;
  }
  for (std::string_view prefix :
       {"at ", "group ", "expect ", "error ", "experience ", "context ", "decide ", "delete "}) {
    if (line.starts_with(prefix)) return true;
  }
  // "score NAME", not a condition such as score("Lead score") > 3 (no space after it).
  if (line.starts_with("score ") && line.size() > 6 && line[6] != '(') return true;
  return line.starts_with("persona ") && line.find(" threshold ") != std::string_view::npos;
}

absl::StatusOr<std::vector<Section>> ReadSections(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(fmt::format("cannot read {}", path));
  std::vector<Section> sections;
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos || line[0] == '#') continue;
    if (IsHeader(line) || sections.empty()) {
      sections.push_back(Section{number, line, {}});
    } else {
      sections.back().body.push_back(line);
    }
  }
  return sections;
}

absl::StatusOr<std::vector<std::string>> JoinContinued(const std::vector<std::string>& body) {
  std::vector<std::string> items;
  for (const std::string& line : body) {
    if (!Indented(line)) {
      items.push_back(line);
    } else if (items.empty()) {
      return Bad(line, "a line at column 0 before indented ones (which continue it)");
    } else {
      items.back() += "\n" + line;
    }
  }
  return items;
}

absl::StatusOr<ScoreDefinition> ParseScore(std::string_view head,
                                           const std::vector<std::string>& body) {
  ScoreDefinition def;
  if (head.starts_with("persona ")) {
    const size_t at = head.rfind(" threshold ");
    def.persona = true;
    def.name = std::string(head.substr(8, at - 8));
    auto threshold = Number(head.substr(at + 11), head);
    if (!threshold.ok()) return threshold.status();
    def.threshold = *threshold;
  } else if (head.starts_with("score ")) {
    def.name = std::string(head.substr(6));
  } else {
    return Bad(head, "'score NAME' or 'persona NAME threshold N'");
  }
  auto items = JoinContinued(body);
  if (!items.ok()) return items.status();
  for (const std::string& item : *items) {
    if (item.starts_with("decay ")) {
      // decay every 30 days percent 25
      const size_t percent = item.find(" percent ");
      if (!item.starts_with("decay every ") || percent == std::string::npos) {
        return Bad(item, "'decay every DURATION percent N'");
      }
      auto every = Duration(std::string_view(item).substr(12, percent - 12), item);
      if (!every.ok()) return every.status();
      auto n = Number(std::string_view(item).substr(percent + 9), item);
      if (!n.ok()) return n.status();
      def.decay = {*every, *n};
      continue;
    }
    auto rule = ParseRule(item);
    if (!rule.ok()) return rule.status();
    def.rules.push_back(*std::move(rule));
  }
  return def;
}

absl::StatusOr<LifecycleDefinition> ParseStages(const std::vector<std::string>& body) {
  auto items = JoinContinued(body);
  if (!items.ok()) return items.status();
  LifecycleDefinition def;
  for (const std::string& item : *items) {
    StageDefinition stage;
    const size_t colon = item.find(':');
    stage.name = std::string(Trim(std::string_view(item).substr(0, colon)));
    if (colon != std::string::npos) {
      stage.condition = std::string(Trim(item.substr(colon + 1)));
    }
    def.stages.push_back(std::move(stage));
  }
  return def;
}

absl::StatusOr<ExperienceDefinition> ParseExperience(std::string_view head,
                                                     const std::vector<std::string>& body) {
  ExperienceDefinition def;
  def.slot = std::string(head.substr(head.find(' ') + 1));
  std::string* continued = nullptr;  // the condition an indented line continues
  for (const std::string& line : body) {
    std::string_view word;
    const std::string_view rest = TakeWord(line, &word);
    if (Indented(line)) {
      if (def.variations.empty()) return Bad(line, "'variation NAME' before 'when' and 'show'");
      Variation& v = def.variations.back();
      if (word == "when") {
        v.condition = std::string(rest);
        continued = &v.condition;
      } else if (word == "show") {
        v.payload = std::string(rest);
        continued = nullptr;
      } else if (continued != nullptr) {
        *continued += "\n" + line;
      } else {
        return Bad(line, "'when CONDITION' or 'show PAYLOAD' under a variation");
      }
      continue;
    }
    continued = nullptr;
    if (word == "variation") {
      def.variations.push_back(Variation{std::string(rest), "", "null"});
    } else if (word == "default") {
      def.default_payload = std::string(rest);
    } else if (word == "experiment") {
      def.experiment = std::string(rest);
    } else if (word == "audience") {
      def.audience = std::string(rest);
      continued = &def.audience;
    } else if (word == "allocation") {
      for (std::string_view arm : Split(rest, ',')) {
        std::string_view name;
        auto percent = Number(Trim(TakeWord(arm, &name)), line);
        if (!percent.ok()) return percent.status();
        if (name == "control") {
          def.control = *percent;
        } else {
          def.allocation.emplace_back(std::string(name), *percent);
        }
      }
    } else {
      return Bad(line, "variation, default, experiment, audience or allocation");
    }
  }
  return def;
}

absl::StatusOr<ExpectedDecision> ParseDecision(std::string_view line) {
  constexpr std::string_view kForm = "'userId=ID anonymousId=ID [CONTEXT] -> VARIATION [PAYLOAD]'";
  const size_t arrow = line.find("->");
  if (arrow == std::string_view::npos) return Bad(line, kForm);
  ExpectedDecision d;
  for (std::string_view word : Split(line.substr(0, arrow), ' ')) {
    if (word.starts_with("userId=")) {
      d.user_id = std::string(word.substr(7));
    } else if (word.starts_with("anonymousId=")) {
      d.anonymous_id = std::string(word.substr(12));
    } else if (d.context.empty()) {
      d.context = std::string(word);
    } else {
      return Bad(line, kForm);
    }
  }
  std::string_view variation;
  d.payload = std::string(Trim(TakeWord(line.substr(arrow + 2), &variation)));
  d.variation = std::string(variation);
  if (d.variation.empty() || (d.user_id.empty() && d.anonymous_id.empty())) {
    return Bad(line, kForm);
  }
  return d;
}

absl::StatusOr<ExpectedMove> ParseMove(std::string_view line) {
  constexpr std::string_view kForm = "'TIME entered|exited NAME (CAUSE)'";
  std::string_view time;
  std::string_view verb;
  std::string_view rest = TakeWord(TakeWord(line, &time), &verb);
  const size_t open = rest.find(" (");
  if ((verb != "entered" && verb != "exited") || open == std::string_view::npos ||
      !rest.ends_with(")")) {
    return Bad(line, kForm);
  }
  auto t = ParseTimestamp(time);
  if (!t.ok()) return Bad(line, fmt::format("a time ({})", std::string(t.status().message())));
  ExpectedMove move;
  move.time_ms = ToMillis(*t);
  move.entered = verb == "entered";
  move.name = std::string(rest.substr(0, open));
  move.cause = std::string(rest.substr(open + 2, rest.size() - open - 3));
  return move;
}

std::string FormatMove(const ExpectedMove& move) {
  std::string time = FormatTimestamp(FromMillis(move.time_ms));
  if (time.ends_with(".000Z")) time.replace(time.size() - 5, 5, "Z");
  return fmt::format("{} {} {} ({})", time, move.entered ? "entered" : "exited", move.name,
                     move.cause);
}

absl::StatusOr<std::pair<std::string, std::string>> SplitContact(std::string_view line) {
  std::string_view contact;
  const std::string_view rest = Trim(TakeWord(line, &contact));
  if (contact.empty() || rest.empty()) return Bad(line, "'CONTACT VALUE'");
  return std::pair{std::string(contact), std::string(rest)};
}

}  // namespace segmenta::golden
