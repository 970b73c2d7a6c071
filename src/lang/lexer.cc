#include "lang/lexer.h"

#include <charconv>

#include "absl/strings/ascii.h"
#include "fmt/format.h"
#include "lang/parser.h"
#include "lang/spelling.h"
#include "simdjson.h"

namespace segmenta {
namespace {

class Lexer {
 public:
  explicit Lexer(std::string_view text) : text_(text) {}

  absl::StatusOr<std::vector<Token>> Run() {
    std::vector<Token> out;
    while (true) {
      SkipSpaceAndComments();
      Token t;
      t.pos = {line_, Column()};
      if (pos_ >= text_.size()) {
        out.push_back(t);
        return out;
      }
      char c = text_[pos_];
      if (absl::ascii_isalpha(static_cast<unsigned char>(c)) || c == '_' || c == '$') {
        size_t start = pos_;
        while (pos_ < text_.size() &&
               (absl::ascii_isalnum(static_cast<unsigned char>(text_[pos_])) ||
                text_[pos_] == '_' || text_[pos_] == '$')) {
          ++pos_;
        }
        t.kind = Tok::kIdent;
        t.text = std::string(text_.substr(start, pos_ - start));
      } else if (absl::ascii_isdigit(static_cast<unsigned char>(c))) {
        size_t start = pos_;
        while (pos_ < text_.size() &&
               (absl::ascii_isdigit(static_cast<unsigned char>(text_[pos_])) ||
                text_[pos_] == '.' ||
                ((text_[pos_] == 'e' || text_[pos_] == 'E') && pos_ + 1 < text_.size() &&
                 (absl::ascii_isdigit(static_cast<unsigned char>(text_[pos_ + 1])) ||
                  text_[pos_ + 1] == '-' || text_[pos_ + 1] == '+')) ||
                ((text_[pos_] == '-' || text_[pos_] == '+') &&
                 (text_[pos_ - 1] == 'e' || text_[pos_ - 1] == 'E')))) {
          ++pos_;
        }
        t.kind = Tok::kNumber;
        t.text = std::string(text_.substr(start, pos_ - start));
        auto [end, ec] = std::from_chars(t.text.data(), t.text.data() + t.text.size(), t.number);
        if (ec != std::errc() || end != t.text.data() + t.text.size()) {
          return Error(t.pos, fmt::format("'{}' is not a number", t.text));
        }
      } else if (c == '"') {
        absl::Status s = ReadString(&t);
        if (!s.ok()) return s;
      } else {
        const size_t start = pos_++;
        char next = pos_ < text_.size() ? text_[pos_] : '\0';
        switch (c) {
          case '(':
            t.kind = Tok::kLParen;
            break;
          case ')':
            t.kind = Tok::kRParen;
            break;
          case '[':
            t.kind = Tok::kLBracket;
            break;
          case ']':
            t.kind = Tok::kRBracket;
            break;
          case ',':
            t.kind = Tok::kComma;
            break;
          case '.':
            t.kind = Tok::kDot;
            break;
          case '+':
            t.kind = Tok::kPlus;
            break;
          case '-':
            t.kind = Tok::kMinus;
            break;
          case '*':
            t.kind = Tok::kStar;
            break;
          case '/':
            t.kind = Tok::kSlash;
            break;
          case '=':
            t.kind = Tok::kEq;
            if (next == '=') ++pos_;
            break;
          case '!':
            if (next != '=')
              return Error(t.pos, "'!' must be followed by '=' (write 'not' to negate)");
            ++pos_;
            t.kind = Tok::kNe;
            break;
          case '<':
            if (next == '=') {
              ++pos_, t.kind = Tok::kLe;
            } else if (next == '>') {
              ++pos_, t.kind = Tok::kNe;
            } else {
              t.kind = Tok::kLt;
            }
            break;
          case '>':
            if (next == '=') {
              ++pos_, t.kind = Tok::kGe;
            } else {
              t.kind = Tok::kGt;
            }
            break;
          case '\'':
            return Error(t.pos, "strings are written in double quotes: \"text\"");
          default:
            return Error(t.pos, fmt::format("unexpected character '{}'", c));
        }
        t.text = std::string(text_.substr(start, pos_ - start));  // "<", "<=", "==" ...
      }
      out.push_back(std::move(t));
    }
  }

 private:
  int Column() const { return static_cast<int>(pos_ - line_start_) + 1; }

  void SkipSpaceAndComments() {
    while (pos_ < text_.size()) {
      char c = text_[pos_];
      if (c == '\n') {
        ++pos_;
        ++line_;
        line_start_ = pos_;
      } else if (c == ' ' || c == '\t' || c == '\r') {
        ++pos_;
      } else if (c == '#') {
        while (pos_ < text_.size() && text_[pos_] != '\n') ++pos_;
      } else {
        break;
      }
    }
  }

  absl::Status ReadString(Token* t) {
    size_t start = pos_++;
    bool escaped = false;
    while (pos_ < text_.size()) {
      char c = text_[pos_];
      if (c == '\n') break;
      ++pos_;
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        // The literal is JSON: let simdjson decode its escapes.
        std::string_view literal = text_.substr(start, pos_ - start);
        simdjson::dom::parser parser;
        simdjson::padded_string padded(literal);
        std::string_view decoded;
        if (parser.parse(padded).get(decoded) != simdjson::SUCCESS) {
          return Error(t->pos, "invalid string: bad escape or invalid UTF-8");
        }
        t->kind = Tok::kString;
        t->text = std::string(decoded);
        return absl::OkStatus();
      }
    }
    return Error(t->pos, "unterminated string: a closing \" is missing on this line");
  }

  absl::Status Error(SourcePos pos, std::string message) {
    return absl::InvalidArgumentError(fmt::format("{}:{}: {}", pos.line, pos.column, message));
  }

  std::string_view text_;
  size_t pos_ = 0;
  int line_ = 1;
  size_t line_start_ = 0;
};

}  // namespace

absl::StatusOr<std::vector<Token>> Tokenize(std::string_view text) { return Lexer(text).Run(); }

std::string Describe(const Token& t) {
  switch (t.kind) {
    case Tok::kEnd:
      return "the end of the condition";
    case Tok::kString:
      return fmt::format("the string \"{}\"", t.text.substr(0, 40));
    case Tok::kNumber:
    case Tok::kIdent:
      return fmt::format("'{}'", t.text);
    default:
      return fmt::format("'{}'", t.text);
  }
}

constexpr std::string_view kUnitWords[] = {"second", "seconds", "minute", "minutes", "hour",
                                           "hours",  "day",     "days",   "week",    "weeks"};

std::optional<Millis> UnitMillis(std::string_view word) {
  std::string w = absl::AsciiStrToLower(std::string(word));
  if (w == "second" || w == "seconds") return 1000;
  if (w == "minute" || w == "minutes") return 60 * 1000;
  if (w == "hour" || w == "hours") return 3600 * 1000;
  if (w == "day" || w == "days") return 86400 * 1000;
  if (w == "week" || w == "weeks") return 7 * 86400 * 1000;
  return std::nullopt;
}

bool IsKeyword(const Token& t, std::string_view word) {
  return t.kind == Tok::kIdent && EqualsIgnoringCase(t.text, word);
}

// Words that cannot be bare trait or property names (write trait("…") for those), with
// the bare words of the built-in computed values (persona, stage).
constexpr std::string_view kReserved[] = {
    "and",       "or",          "not",          "in",        "is",         "null",     "true",
    "false",     "between",     "within",       "last",      "next",       "older",    "than",
    "before",    "after",       "since",        "now",       "count",      "sum",      "avg",
    "min",       "max",         "first",        "did",       "where",      "followed", "by",
    "any",       "no",          "account",      "group",     "overall",    "trait",    "contains",
    "icontains", "starts_with", "istarts_with", "ends_with", "iends_with", "matches"};

// The built-in computed value written `word` (any case), or null.
const ComputedKind* BuiltInKind(std::string_view word) {
  for (const ComputedKind& kind : ComputedKinds::BuiltIn().kinds()) {
    if (EqualsIgnoringCase(word, kind.word)) return &kind;
  }
  return nullptr;
}

bool IsReservedWord(std::string_view word) {
  for (std::string_view r : kReserved) {
    if (EqualsIgnoringCase(word, r)) return true;
  }
  const ComputedKind* kind = BuiltInKind(word);
  return kind != nullptr && !kind->named;
}

// Every reserved word, in order, for suggestions.
std::vector<std::string> ReservedWords() {
  std::vector<std::string> words(std::begin(kReserved), std::end(kReserved));
  for (const ComputedKind& kind : ComputedKinds::BuiltIn().kinds()) {
    if (!kind.named) words.push_back(kind.word);
  }
  return words;
}

std::vector<std::string> DurationUnitWords() {
  return std::vector<std::string>(std::begin(kUnitWords), std::end(kUnitWords));
}

}  // namespace segmenta
