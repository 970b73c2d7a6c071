// The condition language's tokens, its lexer and its reserved words: what the parser
// (lang/parser.cc) reads. Internal to src/lang.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "lang/ast.h"
#include "lang/computed.h"

namespace segmenta {

enum class Tok : uint8_t {
  kEnd,
  kIdent,   // names and keywords
  kString,  // "..."
  kNumber,
  kLParen,
  kRParen,
  kLBracket,
  kRBracket,
  kComma,
  kDot,
  kEq,
  kNe,
  kLt,
  kLe,
  kGt,
  kGe,
  kPlus,
  kMinus,
  kStar,
  kSlash,
};

struct Token {
  Tok kind = Tok::kEnd;
  std::string text;  // identifier as written, decoded string, number text
  double number = 0;
  SourcePos pos;
};

// The text form of `text`, with a kEnd token last. Errors: InvalidArgument "line:column:
// reason" (an unterminated string, a bad escape, an unexpected character). Thread-safe.
absl::StatusOr<std::vector<Token>> Tokenize(std::string_view text);

// How an error message names `t` ("the end of the condition", "'foo'", "the string …").
std::string Describe(const Token& t);

// The words of duration units ("second", "seconds", … "weeks"), for suggestions.
std::vector<std::string> DurationUnitWords();

// The length of one duration unit written `word` (any case), or nullopt.
std::optional<Millis> UnitMillis(std::string_view word);

// True when `t` is the identifier `word`, in any case.
bool IsKeyword(const Token& t, std::string_view word);

// The built-in computed value written `word` (any case), or null.
const ComputedKind* BuiltInKind(std::string_view word);

// Every reserved word, in order, for suggestions.
std::vector<std::string> ReservedWords();

}  // namespace segmenta
