// Parses the text form of the condition language into a syntax tree.
#pragma once

#include <string_view>

#include "absl/status/statusor.h"
#include "lang/ast.h"

namespace segmenta {

// Parses `text`. Errors: InvalidArgument "line:column: what went wrong; hint", e.g.
// "2:14: expected a duration unit (days, hours, ...) after 30, found 'dais'; did you mean
// 'days'?". Names are not checked here (the compiler does). Thread-safe.
absl::StatusOr<NodePtr> ParseCondition(std::string_view text);

// A duration as the language writes it ("30 days", "1 hour"). Errors: InvalidArgument
// "line:column: reason". Thread-safe.
absl::StatusOr<Millis> ParseDuration(std::string_view text);

// True for the words that cannot be bare trait or property names ("count", "stage", ...):
// the text form writes trait("stage") for those. Thread-safe.
bool IsReservedWord(std::string_view word);

}  // namespace segmenta
