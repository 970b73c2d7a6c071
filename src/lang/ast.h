// The syntax tree of a condition, shared by the text form, the JSON form and the compiler.
// See docs/conditions.md for the language.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/value.h"

namespace segmenta {

// Where a node starts in the text (1-based); 0:0 for nodes from JSON.
struct SourcePos {
  int line = 0;
  int column = 0;
};

enum class NodeKind : uint8_t {
  kAnd,           // children: two or more conditions
  kOr,            // children: two or more conditions
  kNot,           // children[0]
  kCompare,       // op, children[0] op children[1]
  kIn,            // children[0] in list (negated: not in)
  kBetween,       // children: x, low, high
  kIsNull,        // children[0] is null (negated: is not null)
  kTimeTest,      // children[0] within last / within next / older than `duration`
  kTrait,         // contact trait `name` (dotted path)
  kAccountTrait,  // account trait `name`, inside any/no account
  kProperty,      // event property `name`, inside a selector's where
  kLiteral,       // value
  kNow,
  kArith,         // op, children[0] op children[1]
  kAggregate,     // aggregate over selector
  kDid,           // selector (negated: did not); with selector2: a sequence
  kOverall,       // children[0]: an aggregate over every contact's events
  kAnyAccount,    // children[0] holds for some account (negated: no account)
  kAccountCount,  // number of accounts
  kInGroup,       // member of group `name` (negated: not in group)
  kComputed,      // a value the engine computes: `computed_kind` ("score") and `name`
  kVisit,         // hot data of the visit being decided: `name` ("referrer.search_engine")
};

enum class Op : uint8_t {
  kNone,
  kEq,
  kNe,
  kLt,
  kLe,
  kGt,
  kGe,
  kContains,
  kIContains,
  kStartsWith,
  kIStartsWith,
  kEndsWith,
  kIEndsWith,
  kMatches,
  kAdd,
  kSub,
  kMul,
  kDiv,
};

enum class Aggregate : uint8_t { kCount, kSum, kAvg, kMin, kMax, kFirst, kLast };
enum class TimeTest : uint8_t { kWithinLast, kWithinNext, kOlderThan };

// Which activities a selector names.
enum class ActivityKind : uint8_t { kTrack, kPage, kScreen, kIdentify, kGroup, kAlias, kAny };

// "=", "contains", "+" ...; "count", "sum" ...; "within last" ...; "page", "any" ...
std::string_view OpName(Op op);
std::string_view AggregateName(Aggregate aggregate);
std::string_view TimeTestName(TimeTest test);
std::string_view ActivityKindName(ActivityKind kind);

struct Node;

// A time window on the events a selector names.
struct Window {
  enum class Kind : uint8_t { kNone, kLast, kSince, kBefore, kBetween };
  Kind kind = Kind::kNone;
  Millis duration = 0;         // kLast
  std::unique_ptr<Node> from;  // kSince, kBetween (exclusive for since, inclusive between)
  std::unique_ptr<Node> to;    // kBefore, kBetween
};

// The events an aggregate or `did` ranges over.
struct Selector {
  ActivityKind kind = ActivityKind::kTrack;
  std::string event;     // the track event's name (kTrack only)
  std::string property;  // for sum/avg/min/max and first/last of a value; "" otherwise
  std::unique_ptr<Node> where;
  Window window;
  SourcePos pos;
};

struct Node {
  NodeKind kind = NodeKind::kLiteral;
  SourcePos pos;
  Op op = Op::kNone;
  bool negated = false;
  std::vector<std::unique_ptr<Node>> children;
  Value value;              // kLiteral
  std::vector<Value> list;  // kIn
  std::string name;         // kTrait, kAccountTrait, kProperty, kInGroup, kComputed, kVisit
  // kTrait / kAccountTrait written trait("…"): a name not seen in the data yet is accepted.
  // kComputed written with a name, kind("…"); false for a bare word (persona).
  bool quoted = false;
  // kComputed: the word of its kind, lower case ("score", "persona"; lang/computed.h).
  std::string computed_kind;
  Aggregate aggregate = Aggregate::kCount;
  TimeTest time_test = TimeTest::kWithinLast;
  Millis duration = 0;                  // kTimeTest; kDid sequence "within" (0: any time later)
  std::unique_ptr<Selector> selector;   // kAggregate, kDid
  std::unique_ptr<Selector> selector2;  // kDid sequence: "followed by"

  // Filled by the compiler.
  ValueType type = ValueType::kNull;
  // The compiler's numbering: the index of this node's overall(...) aggregate or regex in
  // the plan's tables (Plan::overall_aggregates, Plan::regex); -1 when none.
  int slot = -1;
};

using NodePtr = std::unique_ptr<Node>;

// The JSON form (docs/conditions.md). Thread-safe.
std::string NodeToJson(const Node& node);
// Errors: InvalidArgument naming the JSON path of the bad part ("and[1].cmp: unknown
// operator \"~\"").
absl::StatusOr<NodePtr> NodeFromJson(std::string_view json);

// The text form, parenthesized where precedence requires. Parsing it gives the same tree.
std::string NodeToText(const Node& node);

// A deep copy.
NodePtr CloneNode(const Node& node);

// A duration as the text form writes it ("30 days", "1 hour", "90 seconds"); ParseDuration
// (parser.h) reads it back. Thread-safe.
std::string FormatDuration(Millis ms);

}  // namespace segmenta
