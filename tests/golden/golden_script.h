// A golden file (tests/golden/*.test) read into sections, and the compact forms its
// sections write definitions and expectations in, parsed into the engine's own definitions.
// The grammar is in golden_test.cc's header comment and tests/golden/README.md. Nothing here
// runs the engine.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "decide/experience.h"
#include "segments/scoring.h"

namespace segmenta::golden {

// A header line and the lines under it, up to the next header; blank lines and lines
// starting with '#' are left out. Body lines keep their indentation.
struct Section {
  int line = 0;  // the header's line number, for messages
  std::string head;
  std::vector<std::string> body;
};

// The sections of the file at `path`. A line before the first header is a section of its
// own (which the runner refuses as unknown). Errors: NotFound when the file cannot be read.
absl::StatusOr<std::vector<Section>> ReadSections(const std::string& path);

// True when `line` is a section header: it starts at column 0 with one of the header words
// in the form the grammar gives ("persona NAME threshold N", not "persona = ...").
bool IsHeader(std::string_view line);

// The lines of `body` joined into items: a line at column 0 starts an item, an indented line
// continues the one before it (joined with a newline). Errors: InvalidArgument for an
// indented first line.
absl::StatusOr<std::vector<std::string>> JoinContinued(const std::vector<std::string>& body);

// "score NAME" or "persona NAME threshold N" with rule lines under it:
//   attribute POINTS: CONDITION
//   macro POINTS: CONDITION
//   activity POINTS [within DURATION] [cap N]: SELECTOR
//   decay every DURATION percent N
// into a definition as POST /api/scores (or /api/personas) would make it. Errors:
// InvalidArgument naming the line that does not read.
absl::StatusOr<ScoreDefinition> ParseScore(std::string_view head,
                                           const std::vector<std::string>& body);

// "stages" with one stage a line, in funnel order: "NAME" (the first) or "NAME: CONDITION".
// Errors: InvalidArgument.
absl::StatusOr<LifecycleDefinition> ParseStages(const std::vector<std::string>& body);

// "experience SLOT" with
//   variation NAME
//     when CONDITION        (optional; indented lines continue it)
//     show PAYLOAD          (JSON)
//   default PAYLOAD
//   experiment KEY
//   audience CONDITION
//   allocation NAME PERCENT, NAME PERCENT, control PERCENT
// Errors: InvalidArgument naming the line.
absl::StatusOr<ExperienceDefinition> ParseExperience(std::string_view head,
                                                     const std::vector<std::string>& body);

// One line of a "decide SLOT" section:
//   userId=ID anonymousId=ID [CONTEXT] -> VARIATION [PAYLOAD]
// (one id or both; CONTEXT names a "context" section; PAYLOAD is JSON).
struct ExpectedDecision {
  std::string user_id;
  std::string anonymous_id;
  std::string context;  // "" for none
  std::string variation;
  std::string payload;  // "" when not checked
};
absl::StatusOr<ExpectedDecision> ParseDecision(std::string_view line);

// One line of an "expect history CONTACT KIND" section:
//   TIME entered|exited NAME (CAUSE)
struct ExpectedMove {
  int64_t time_ms = 0;
  bool entered = false;
  std::string name;
  std::string cause;
};
absl::StatusOr<ExpectedMove> ParseMove(std::string_view line);
// A move as ParseMove reads it (the time with milliseconds only when it has some).
std::string FormatMove(const ExpectedMove& move);

// "CONTACT REST": the first word and the rest of the line, trimmed. Errors:
// InvalidArgument when either is missing.
absl::StatusOr<std::pair<std::string, std::string>> SplitContact(std::string_view line);

}  // namespace segmenta::golden
