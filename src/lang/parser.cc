#include "lang/parser.h"

#include <charconv>
#include <optional>
#include <vector>

#include "absl/strings/ascii.h"
#include "fmt/format.h"
#include "lang/computed.h"
#include "lang/lexer.h"
#include "lang/spelling.h"
#include "simdjson.h"

namespace segmenta {
namespace {

class Parser {
 public:
  explicit Parser(std::vector<Token> tokens) : tokens_(std::move(tokens)) {}

  absl::StatusOr<NodePtr> Run() {
    auto node = Expr(Scope::kContact);
    if (!node.ok()) return node.status();
    if (Peek().kind != Tok::kEnd) {
      return Error(Peek().pos, fmt::format("unexpected {} after a complete condition{}",
                                           Describe(Peek()), Hint()));
    }
    return node;
  }

  absl::StatusOr<Millis> RunDuration() {
    auto ms = Duration();
    if (!ms.ok()) return ms.status();
    if (Peek().kind != Tok::kEnd) {
      return Error(Peek().pos, fmt::format("unexpected {} after a duration", Describe(Peek())));
    }
    return ms;
  }

 private:
  // What bare names mean where they appear.
  enum class Scope { kContact, kAccount, kEvent };
  // Inside a selector's where clause, window keywords end the clause.
  struct Context {
    Scope scope;
    bool in_where;
  };

  const Token& Peek(size_t ahead = 0) const {
    return tokens_[std::min(pos_ + ahead, tokens_.size() - 1)];
  }
  const Token& Take() { return tokens_[std::min(pos_++, tokens_.size() - 1)]; }
  bool TakeKeyword(std::string_view word) {
    if (!IsKeyword(Peek(), word)) return false;
    ++pos_;
    return true;
  }
  bool TakeIf(Tok kind) {
    if (Peek().kind != kind) return false;
    ++pos_;
    return true;
  }

  absl::Status Error(SourcePos pos, std::string message) const {
    return absl::InvalidArgumentError(fmt::format("{}:{}: {}", pos.line, pos.column, message));
  }
  // A hint for a misspelled keyword at the current token.
  std::string Hint() const {
    const Token& t = Peek();
    if (t.kind != Tok::kIdent) return "";
    std::string lower = absl::AsciiStrToLower(t.text);
    std::string best = ClosestWord(lower, ReservedWords());
    if (best.empty()) return "; did you forget 'and' or 'or' before it?";
    return fmt::format("; did you mean '{}'?", best);
  }
  absl::Status Expect(Tok kind, std::string_view what) {
    if (TakeIf(kind)) return absl::OkStatus();
    return Error(Peek().pos, fmt::format("expected {}, found {}", what, Describe(Peek())));
  }
  absl::Status ExpectKeyword(std::string_view word) {
    if (TakeKeyword(word)) return absl::OkStatus();
    return Error(Peek().pos, fmt::format("expected '{}', found {}", word, Describe(Peek())));
  }

  NodePtr Make(NodeKind kind, SourcePos pos) {
    auto node = std::make_unique<Node>();
    node->kind = kind;
    node->pos = pos;
    return node;
  }

  absl::StatusOr<NodePtr> Expr(Scope scope, bool in_where = false) {
    Context saved = ctx_;
    ctx_ = {scope, in_where};
    auto node = Or();
    ctx_ = saved;
    return node;
  }

  absl::StatusOr<NodePtr> Or() {
    SourcePos pos = Peek().pos;
    auto first = And();
    if (!first.ok() || !IsKeyword(Peek(), "or")) return first;
    NodePtr node = Make(NodeKind::kOr, pos);
    node->children.push_back(*std::move(first));
    while (TakeKeyword("or")) {
      auto next = And();
      if (!next.ok()) return next;
      node->children.push_back(*std::move(next));
    }
    return node;
  }

  absl::StatusOr<NodePtr> And() {
    SourcePos pos = Peek().pos;
    auto first = Not();
    if (!first.ok() || !IsKeyword(Peek(), "and")) return first;
    NodePtr node = Make(NodeKind::kAnd, pos);
    node->children.push_back(*std::move(first));
    while (TakeKeyword("and")) {
      auto next = Not();
      if (!next.ok()) return next;
      node->children.push_back(*std::move(next));
    }
    return node;
  }

  absl::StatusOr<NodePtr> Not() {
    SourcePos pos = Peek().pos;
    if (IsKeyword(Peek(), "not") && !IsKeyword(Peek(1), "in")) {
      ++pos_;
      auto inner = Not();
      if (!inner.ok()) return inner;
      NodePtr node = Make(NodeKind::kNot, pos);
      node->children.push_back(*std::move(inner));
      return node;
    }
    if (IsKeyword(Peek(), "not") && IsKeyword(Peek(1), "in") && IsKeyword(Peek(2), "group")) {
      pos_ += 3;
      return InGroup(pos, /*negated=*/true);
    }
    return Comparison();
  }

  absl::StatusOr<NodePtr> InGroup(SourcePos pos, bool negated) {
    if (Peek().kind != Tok::kString) {
      return Error(Peek().pos, fmt::format("expected the group's name in double quotes after "
                                           "'in group', found {}",
                                           Describe(Peek())));
    }
    NodePtr node = Make(NodeKind::kInGroup, pos);
    node->name = Take().text;
    node->negated = negated;
    return node;
  }

  absl::StatusOr<Millis> Duration() {
    const Token& number = Peek();
    if (number.kind != Tok::kNumber) {
      return Error(number.pos,
                   fmt::format("expected a duration such as 30 days, found {}", Describe(number)));
    }
    ++pos_;
    const Token& unit = Peek();
    std::optional<Millis> ms = unit.kind == Tok::kIdent ? UnitMillis(unit.text) : std::nullopt;
    if (!ms) {
      std::string hint;
      if (unit.kind == Tok::kIdent) {
        std::string best = ClosestWord(absl::AsciiStrToLower(unit.text), DurationUnitWords());
        if (!best.empty()) hint = fmt::format("; did you mean '{}'?", best);
      }
      return Error(unit.pos, fmt::format("expected a unit (seconds, minutes, hours, days, weeks) "
                                         "after {}, found {}{}",
                                         number.text, Describe(unit), hint));
    }
    ++pos_;
    return static_cast<Millis>(number.number * static_cast<double>(*ms));
  }

  absl::StatusOr<NodePtr> Comparison() {
    SourcePos pos = Peek().pos;
    auto left = Additive();
    if (!left.ok()) return left;
    const Token& t = Peek();
    auto binary = [&](NodeKind kind, Op op) -> absl::StatusOr<NodePtr> {
      ++pos_;
      auto right = Additive();
      if (!right.ok()) return right;
      NodePtr node = Make(kind, pos);
      node->op = op;
      node->children.push_back(*std::move(left));
      node->children.push_back(*std::move(right));
      return node;
    };
    switch (t.kind) {
      case Tok::kEq:
        return binary(NodeKind::kCompare, Op::kEq);
      case Tok::kNe:
        return binary(NodeKind::kCompare, Op::kNe);
      case Tok::kLt:
        return binary(NodeKind::kCompare, Op::kLt);
      case Tok::kLe:
        return binary(NodeKind::kCompare, Op::kLe);
      case Tok::kGt:
        return binary(NodeKind::kCompare, Op::kGt);
      case Tok::kGe:
        return binary(NodeKind::kCompare, Op::kGe);
      default:
        break;
    }
    if (t.kind != Tok::kIdent) return left;
    static constexpr std::pair<std::string_view, Op> kStringOps[] = {
        {"contains", Op::kContains},      {"icontains", Op::kIContains},
        {"starts_with", Op::kStartsWith}, {"istarts_with", Op::kIStartsWith},
        {"ends_with", Op::kEndsWith},     {"iends_with", Op::kIEndsWith},
        {"matches", Op::kMatches}};
    for (const auto& [word, op] : kStringOps) {
      if (IsKeyword(t, word)) return binary(NodeKind::kCompare, op);
    }
    if (IsKeyword(t, "in") || (IsKeyword(t, "not") && IsKeyword(Peek(1), "in"))) {
      bool negated = IsKeyword(t, "not");
      pos_ += negated ? 2 : 1;
      NodePtr node = Make(NodeKind::kIn, pos);
      node->negated = negated;
      node->children.push_back(*std::move(left));
      absl::Status s = List(&node->list);
      if (!s.ok()) return s;
      return node;
    }
    if (IsKeyword(t, "between")) {
      ++pos_;
      auto low = Additive();
      if (!low.ok()) return low;
      absl::Status s = ExpectKeyword("and");
      if (!s.ok()) return s;
      auto high = Additive();
      if (!high.ok()) return high;
      NodePtr node = Make(NodeKind::kBetween, pos);
      node->children.push_back(*std::move(left));
      node->children.push_back(*std::move(low));
      node->children.push_back(*std::move(high));
      return node;
    }
    if (IsKeyword(t, "is")) {
      ++pos_;
      bool negated = TakeKeyword("not");
      absl::Status s = ExpectKeyword("null");
      if (!s.ok()) return s;
      NodePtr node = Make(NodeKind::kIsNull, pos);
      node->negated = negated;
      node->children.push_back(*std::move(left));
      return node;
    }
    // Time tests; inside a where clause these words start the selector's window instead.
    if (ctx_.in_where) return left;
    if (IsKeyword(t, "within")) {
      ++pos_;
      TimeTest test;
      if (TakeKeyword("last")) {
        test = TimeTest::kWithinLast;
      } else if (TakeKeyword("next")) {
        test = TimeTest::kWithinNext;
      } else {
        return Error(Peek().pos, fmt::format("expected 'last' or 'next' after 'within', found {}",
                                             Describe(Peek())));
      }
      auto d = Duration();
      if (!d.ok()) return d.status();
      NodePtr node = Make(NodeKind::kTimeTest, pos);
      node->time_test = test;
      node->duration = *d;
      node->children.push_back(*std::move(left));
      return node;
    }
    if (IsKeyword(t, "older")) {
      ++pos_;
      absl::Status s = ExpectKeyword("than");
      if (!s.ok()) return s;
      auto d = Duration();
      if (!d.ok()) return d.status();
      NodePtr node = Make(NodeKind::kTimeTest, pos);
      node->time_test = TimeTest::kOlderThan;
      node->duration = *d;
      node->children.push_back(*std::move(left));
      return node;
    }
    if (IsKeyword(t, "before")) return binary(NodeKind::kCompare, Op::kLt);
    if (IsKeyword(t, "after")) return binary(NodeKind::kCompare, Op::kGt);
    return left;
  }

  absl::Status List(std::vector<Value>* out) {
    absl::Status s = Expect(Tok::kLBracket, "'[' to start a list");
    if (!s.ok()) return s;
    if (TakeIf(Tok::kRBracket)) return absl::OkStatus();
    while (true) {
      const Token& t = Peek();
      bool minus = t.kind == Tok::kMinus && Peek(1).kind == Tok::kNumber;
      if (minus) ++pos_;
      const Token& v = Take();
      if (v.kind == Tok::kString) {
        out->push_back(Value::String(v.text));
      } else if (v.kind == Tok::kNumber) {
        out->push_back(Value::Number(minus ? -v.number : v.number));
      } else if (IsKeyword(v, "true") || IsKeyword(v, "false")) {
        out->push_back(Value::Bool(IsKeyword(v, "true")));
      } else {
        return Error(v.pos, fmt::format("a list holds literals (strings, numbers, true, false), "
                                        "found {}",
                                        Describe(v)));
      }
      if (TakeIf(Tok::kRBracket)) return absl::OkStatus();
      s = Expect(Tok::kComma, "',' or ']' in the list");
      if (!s.ok()) return s;
    }
  }

  absl::StatusOr<NodePtr> Additive() {
    SourcePos pos = Peek().pos;
    auto left = Multiplicative();
    if (!left.ok()) return left;
    while (Peek().kind == Tok::kPlus || Peek().kind == Tok::kMinus) {
      Op op = Take().kind == Tok::kPlus ? Op::kAdd : Op::kSub;
      auto right = Multiplicative();
      if (!right.ok()) return right;
      NodePtr node = Make(NodeKind::kArith, pos);
      node->op = op;
      node->children.push_back(*std::move(left));
      node->children.push_back(*std::move(right));
      left = std::move(node);
    }
    return left;
  }

  absl::StatusOr<NodePtr> Multiplicative() {
    SourcePos pos = Peek().pos;
    auto left = Unary();
    if (!left.ok()) return left;
    while (Peek().kind == Tok::kStar || Peek().kind == Tok::kSlash) {
      Op op = Take().kind == Tok::kStar ? Op::kMul : Op::kDiv;
      auto right = Unary();
      if (!right.ok()) return right;
      NodePtr node = Make(NodeKind::kArith, pos);
      node->op = op;
      node->children.push_back(*std::move(left));
      node->children.push_back(*std::move(right));
      left = std::move(node);
    }
    return left;
  }

  absl::StatusOr<NodePtr> Unary() {
    if (Peek().kind == Tok::kMinus) {
      SourcePos pos = Take().pos;
      auto inner = Unary();
      if (!inner.ok()) return inner;
      if ((*inner)->kind == NodeKind::kLiteral && (*inner)->value.type() == ValueType::kNumber) {
        (*inner)->value = Value::Number(-(*inner)->value.as_number());
        (*inner)->pos = pos;
        return inner;
      }
      NodePtr node = Make(NodeKind::kArith, pos);
      node->op = Op::kSub;
      NodePtr zero = Make(NodeKind::kLiteral, pos);
      zero->value = Value::Number(0);
      node->children.push_back(std::move(zero));
      node->children.push_back(*std::move(inner));
      return node;
    }
    return Primary();
  }

  std::optional<Aggregate> AggregateWord(const Token& t) const {
    static constexpr std::pair<std::string_view, Aggregate> kWords[] = {
        {"count", Aggregate::kCount}, {"sum", Aggregate::kSum}, {"avg", Aggregate::kAvg},
        {"min", Aggregate::kMin},     {"max", Aggregate::kMax}, {"first", Aggregate::kFirst},
        {"last", Aggregate::kLast}};
    for (const auto& [word, agg] : kWords) {
      if (IsKeyword(t, word)) return agg;
    }
    return std::nullopt;
  }

  absl::StatusOr<NodePtr> Primary() {
    const Token& t = Peek();
    SourcePos pos = t.pos;
    switch (t.kind) {
      case Tok::kNumber: {
        ++pos_;
        NodePtr node = Make(NodeKind::kLiteral, pos);
        if (Peek().kind == Tok::kIdent && UnitMillis(Peek().text)) {
          --pos_;
          auto d = Duration();
          if (!d.ok()) return d.status();
          node->value = Value::Duration(*d);
        } else {
          node->value = Value::Number(t.number);
        }
        return node;
      }
      case Tok::kString: {
        ++pos_;
        NodePtr node = Make(NodeKind::kLiteral, pos);
        node->value = Value::String(t.text);
        return node;
      }
      case Tok::kLParen: {
        ++pos_;
        // Parentheses reset the where-clause rule: time tests are allowed inside.
        auto inner = Expr(ctx_.scope, false);
        if (!inner.ok()) return inner;
        absl::Status s = Expect(Tok::kRParen, "')'");
        if (!s.ok()) return s;
        return inner;
      }
      case Tok::kLBracket:
        return Error(pos, "a list may only follow 'in' or 'not in'");
      case Tok::kIdent:
        break;
      default:
        return Error(pos,
                     fmt::format("expected a value, a name or a condition, found {}", Describe(t)));
    }
    if (IsKeyword(t, "true") || IsKeyword(t, "false")) {
      ++pos_;
      NodePtr node = Make(NodeKind::kLiteral, pos);
      node->value = Value::Bool(IsKeyword(t, "true"));
      return node;
    }
    if (IsKeyword(t, "null")) {
      ++pos_;
      return Make(NodeKind::kLiteral, pos);
    }
    if (IsKeyword(t, "now")) {
      ++pos_;
      return Make(NodeKind::kNow, pos);
    }
    if (std::optional<Aggregate> agg = AggregateWord(t); agg && Peek(1).kind == Tok::kLParen) {
      pos_ += 2;
      if (ctx_.scope == Scope::kAccount) {
        return Error(pos, "activities are not available inside 'any account (...)'");
      }
      auto selector = Select(/*allow_property=*/true);
      if (!selector.ok()) return selector.status();
      absl::Status s = Expect(Tok::kRParen, fmt::format("')' to close {}(", t.text));
      if (!s.ok()) return s;
      NodePtr node = Make(NodeKind::kAggregate, pos);
      node->aggregate = *agg;
      node->selector = *std::move(selector);
      if (*agg == Aggregate::kCount && !node->selector->property.empty()) {
        return Error(node->selector->pos, "count() counts events: drop the .property");
      }
      if ((*agg == Aggregate::kSum || *agg == Aggregate::kAvg || *agg == Aggregate::kMin ||
           *agg == Aggregate::kMax) &&
          node->selector->property.empty()) {
        return Error(node->selector->pos,
                     fmt::format("{}() needs a property: {}(\"Order Completed\".revenue)",
                                 AggregateName(*agg), AggregateName(*agg)));
      }
      return node;
    }
    if (IsKeyword(t, "did")) {
      ++pos_;
      if (ctx_.scope == Scope::kAccount) {
        return Error(pos, "activities are not available inside 'any account (...)'");
      }
      NodePtr node = Make(NodeKind::kDid, pos);
      node->negated = TakeKeyword("not");
      auto selector = Select(/*allow_property=*/false, /*in_parens=*/false);
      if (!selector.ok()) return selector.status();
      node->selector = *std::move(selector);
      bool not_followed = IsKeyword(Peek(), "not") && IsKeyword(Peek(1), "followed");
      if (IsKeyword(Peek(), "followed") || not_followed) {
        if (node->negated) {
          return Error(pos,
                       "write 'not (did A followed by B)' rather than 'did not A followed by B'");
        }
        pos_ += not_followed ? 2 : 1;
        absl::Status s = ExpectKeyword("by");
        if (!s.ok()) return s;
        auto second = Select(/*allow_property=*/false, /*in_parens=*/false);
        if (!second.ok()) return second.status();
        node->selector2 = *std::move(second);
        node->negated = not_followed;
        if (TakeKeyword("within")) {
          auto d = Duration();
          if (!d.ok()) return d.status();
          node->duration = *d;
        } else if (not_followed) {
          return Error(Peek().pos,
                       "'not followed by' needs 'within DURATION': how long to wait "
                       "for the second event");
        }
      }
      return node;
    }
    if (IsKeyword(t, "overall") && Peek(1).kind == Tok::kLParen) {
      pos_ += 2;
      auto inner = Additive();
      if (!inner.ok()) return inner;
      if ((*inner)->kind != NodeKind::kAggregate) {
        return Error((*inner)->pos,
                     "overall(...) takes an aggregate: overall(avg(\"Order "
                     "Completed\".revenue))");
      }
      absl::Status s = Expect(Tok::kRParen, "')' to close overall(");
      if (!s.ok()) return s;
      NodePtr node = Make(NodeKind::kOverall, pos);
      node->children.push_back(*std::move(inner));
      return node;
    }
    if ((IsKeyword(t, "any") || IsKeyword(t, "no")) && IsKeyword(Peek(1), "account")) {
      pos_ += 2;
      if (ctx_.scope != Scope::kContact) {
        return Error(pos, "'any account' is only available at the top of a condition");
      }
      absl::Status s = Expect(Tok::kLParen, "'(' and a condition on account traits");
      if (!s.ok()) return s;
      auto inner = Expr(Scope::kAccount);
      if (!inner.ok()) return inner;
      s = Expect(Tok::kRParen, "')'");
      if (!s.ok()) return s;
      NodePtr node = Make(NodeKind::kAnyAccount, pos);
      node->negated = IsKeyword(t, "no");
      node->children.push_back(*std::move(inner));
      return node;
    }
    if (IsKeyword(t, "account") && IsKeyword(Peek(1), "count")) {
      pos_ += 2;
      return Make(NodeKind::kAccountCount, pos);
    }
    if (IsKeyword(t, "in") && IsKeyword(Peek(1), "group")) {
      pos_ += 2;
      return InGroup(pos, false);
    }
    if (const ComputedKind* kind = BuiltInKind(t.text);
        kind != nullptr && !kind->named && ctx_.scope == Scope::kContact) {
      ++pos_;
      NodePtr node = Make(NodeKind::kComputed, pos);
      node->computed_kind = kind->word;
      return node;
    }
    if (IsKeyword(t, "trait") && Peek(1).kind == Tok::kLParen) {
      pos_ += 2;
      if (Peek().kind != Tok::kString) {
        return Error(Peek().pos,
                     "expected the trait's name in double quotes: trait(\"First Name\")");
      }
      NodePtr node =
          Make(ctx_.scope == Scope::kAccount ? NodeKind::kAccountTrait : NodeKind::kTrait, pos);
      node->name = Take().text;
      node->quoted = true;
      absl::Status s = Expect(Tok::kRParen, "')'");
      if (!s.ok()) return s;
      return node;
    }
    if (IsReservedWord(t.text)) {
      return Error(pos, fmt::format("'{}' cannot start a value here{}", t.text,
                                    IsKeyword(t, "in") ? "; did you mean 'in group \"…\"'?"
                                                       : "; a trait with this name is written "
                                                         "trait(\"" +
                                                             t.text + "\")"));
    }
    // A computed value: KIND("name"). The compiler checks that its kind is known.
    if (Peek(1).kind == Tok::kLParen) {
      const ComputedKind* kind = BuiltInKind(t.text);
      if (kind != nullptr || Peek(2).kind == Tok::kString) return Computed(kind);
    }
    // A name: trait, account trait or event property, by scope.
    ++pos_;
    std::string path = t.text;
    while (Peek().kind == Tok::kDot && Peek(1).kind == Tok::kIdent) {
      pos_ += 1;
      path += "." + Take().text;
    }
    NodeKind kind = ctx_.scope == Scope::kContact   ? NodeKind::kTrait
                    : ctx_.scope == Scope::kAccount ? NodeKind::kAccountTrait
                                                    : NodeKind::kProperty;
    NodePtr node = Make(kind, pos);
    node->name = std::move(path);
    return node;
  }

  // KIND("name") at the current token; `kind` is its built-in kind, if it is one.
  absl::StatusOr<NodePtr> Computed(const ComputedKind* kind) {
    const SourcePos pos = Peek().pos;
    const std::string word = absl::AsciiStrToLower(Take().text);
    ++pos_;  // (
    if (ctx_.scope != Scope::kContact) {
      return Error(pos, fmt::format("{}(\"…\") is a contact's; it is not available here", word));
    }
    if (Peek().kind != Tok::kString) {
      return Error(Peek().pos,
                   kind != nullptr && !kind->usage.empty()
                       ? "expected " + kind->usage
                       : fmt::format("expected the name in double quotes: {}(\"…\")", word));
    }
    NodePtr node = Make(NodeKind::kComputed, pos);
    node->computed_kind = word;
    node->name = Take().text;
    node->quoted = true;
    absl::Status s = Expect(Tok::kRParen, "')'");
    if (!s.ok()) return s;
    return node;
  }

  // selector := event ["." property] ["where" condition] [window]
  // Inside an aggregate's parentheses the where clause runs to the window or the ')'; after
  // `did` it is one predicate (parenthesize a compound one: did "X" where (a and b)), so
  // that `did "X" where a and b` means (did "X" where a) and b.
  absl::StatusOr<std::unique_ptr<Selector>> Select(bool allow_property, bool in_parens = true) {
    auto selector = std::make_unique<Selector>();
    const Token& t = Peek();
    selector->pos = t.pos;
    static constexpr std::pair<std::string_view, ActivityKind> kKinds[] = {
        {"page", ActivityKind::kPage},         {"screen", ActivityKind::kScreen},
        {"identify", ActivityKind::kIdentify}, {"group", ActivityKind::kGroup},
        {"alias", ActivityKind::kAlias},       {"any", ActivityKind::kAny}};
    bool known = false;
    if (t.kind == Tok::kString) {
      if (t.text.empty()) return Error(t.pos, "an event name cannot be empty");
      selector->kind = ActivityKind::kTrack;
      selector->event = t.text;
      known = true;
    } else {
      for (const auto& [word, kind] : kKinds) {
        if (IsKeyword(t, word)) {
          selector->kind = kind;
          known = true;
        }
      }
    }
    if (!known) {
      return Error(t.pos, fmt::format("expected an event: its name in double quotes (\"Order "
                                      "Completed\") or page, screen, identify, group, alias, "
                                      "any; found {}",
                                      Describe(t)));
    }
    ++pos_;
    if (Peek().kind == Tok::kDot) {
      ++pos_;
      if (!allow_property) {
        return Error(Peek().pos,
                     "a property is only selected in sum, avg, min, max, first and last");
      }
      if (Peek().kind != Tok::kIdent) {
        return Error(Peek().pos,
                     fmt::format("expected a property name after '.', found {}", Describe(Peek())));
      }
      selector->property = Take().text;
      while (Peek().kind == Tok::kDot && Peek(1).kind == Tok::kIdent) {
        ++pos_;
        selector->property += "." + Take().text;
      }
    }
    if (TakeKeyword("where")) {
      absl::StatusOr<NodePtr> where;
      if (in_parens) {
        where = Expr(Scope::kEvent, /*in_where=*/true);
      } else {
        Context saved = ctx_;
        ctx_ = {Scope::kEvent, true};
        where = Not();
        ctx_ = saved;
      }
      if (!where.ok()) return where.status();
      selector->where = *std::move(where);
    }
    absl::Status s = ParseWindow(&selector->window);
    if (!s.ok()) return s;
    return selector;
  }

  absl::Status ParseWindow(Window* window) {
    if (IsKeyword(Peek(), "within") && IsKeyword(Peek(1), "last")) {
      pos_ += 2;
      auto d = Duration();
      if (!d.ok()) return d.status();
      window->kind = Window::Kind::kLast;
      window->duration = *d;
      return absl::OkStatus();
    }
    Window::Kind kind = Window::Kind::kNone;
    if (IsKeyword(Peek(), "since") || IsKeyword(Peek(), "after")) kind = Window::Kind::kSince;
    if (IsKeyword(Peek(), "before")) kind = Window::Kind::kBefore;
    if (IsKeyword(Peek(), "between")) kind = Window::Kind::kBetween;
    if (kind == Window::Kind::kNone) return absl::OkStatus();
    ++pos_;
    // Window bounds are times of the contact's world (traits, other aggregates, now), and
    // plain expressions: 'and' after the first bound of between belongs to between.
    Context saved = ctx_;
    ctx_ = {Scope::kContact, false};
    auto first = Additive();
    absl::StatusOr<NodePtr> second = NodePtr();
    if (first.ok() && kind == Window::Kind::kBetween) {
      absl::Status s = ExpectKeyword("and");
      second = s.ok() ? Additive() : absl::StatusOr<NodePtr>(s);
    }
    ctx_ = saved;
    if (!first.ok()) return first.status();
    if (!second.ok()) return second.status();
    window->kind = kind;
    if (kind == Window::Kind::kBefore) {
      window->to = *std::move(first);
    } else {
      window->from = *std::move(first);
      window->to = *std::move(second);
    }
    return absl::OkStatus();
  }

  std::vector<Token> tokens_;
  size_t pos_ = 0;
  Context ctx_{Scope::kContact, false};
};

}  // namespace

absl::StatusOr<NodePtr> ParseCondition(std::string_view text) {
  auto tokens = Tokenize(text);
  if (!tokens.ok()) return tokens.status();
  if (tokens->size() == 1) {
    return absl::InvalidArgumentError("1:1: the condition is empty");
  }
  Parser parser(*std::move(tokens));
  return parser.Run();
}

absl::StatusOr<Millis> ParseDuration(std::string_view text) {
  auto tokens = Tokenize(text);
  if (!tokens.ok()) return tokens.status();
  Parser parser(*std::move(tokens));
  return parser.RunDuration();
}

}  // namespace segmenta
