#include "lang/ast.h"

#include "core/json_writer.h"
#include "fmt/format.h"
#include "lang/computed.h"
#include "lang/parser.h"
#include "simdjson.h"

namespace segmenta {
namespace {

constexpr std::pair<Op, std::string_view> kOps[] = {
    {Op::kEq, "="},
    {Op::kNe, "!="},
    {Op::kLt, "<"},
    {Op::kLe, "<="},
    {Op::kGt, ">"},
    {Op::kGe, ">="},
    {Op::kContains, "contains"},
    {Op::kIContains, "icontains"},
    {Op::kStartsWith, "starts_with"},
    {Op::kIStartsWith, "istarts_with"},
    {Op::kEndsWith, "ends_with"},
    {Op::kIEndsWith, "iends_with"},
    {Op::kMatches, "matches"},
    {Op::kAdd, "+"},
    {Op::kSub, "-"},
    {Op::kMul, "*"},
    {Op::kDiv, "/"},
};

constexpr std::pair<Aggregate, std::string_view> kAggregates[] = {
    {Aggregate::kCount, "count"}, {Aggregate::kSum, "sum"}, {Aggregate::kAvg, "avg"},
    {Aggregate::kMin, "min"},     {Aggregate::kMax, "max"}, {Aggregate::kFirst, "first"},
    {Aggregate::kLast, "last"}};

constexpr std::pair<ActivityKind, std::string_view> kKinds[] = {
    {ActivityKind::kTrack, "track"},   {ActivityKind::kPage, "page"},
    {ActivityKind::kScreen, "screen"}, {ActivityKind::kIdentify, "identify"},
    {ActivityKind::kGroup, "group"},   {ActivityKind::kAlias, "alias"},
    {ActivityKind::kAny, "any"}};

constexpr std::pair<TimeTest, std::string_view> kTimeTests[] = {
    {TimeTest::kWithinLast, "within_last"},
    {TimeTest::kWithinNext, "within_next"},
    {TimeTest::kOlderThan, "older_than"}};

// ---------------------------------------------------------------------------------------
// JSON writing

void WriteDuration(Millis ms, JsonWriter& w) {
  w.BeginObject();
  if (ms % (86400 * 1000) == 0) {
    w.Field("days", ms / (86400 * 1000));
  } else if (ms % (3600 * 1000) == 0) {
    w.Field("hours", ms / (3600 * 1000));
  } else if (ms % (60 * 1000) == 0) {
    w.Field("minutes", ms / (60 * 1000));
  } else {
    w.Field("seconds", static_cast<double>(ms) / 1000.0);
  }
  w.EndObject();
}

void WriteNode(const Node& n, JsonWriter& w);

void WriteSelector(const Selector& s, JsonWriter& w) {
  w.BeginObject();
  w.Field("event",
          s.kind == ActivityKind::kTrack ? std::string_view(s.event) : ActivityKindName(s.kind));
  if (s.kind == ActivityKind::kTrack && ActivityKindName(ActivityKind::kTrack) != s.event) {
    // A track event whose name is also a kind word is told apart by "track": true.
    for (const auto& [kind, name] : kKinds) {
      if (name == s.event) w.Field("track", true);
    }
  }
  if (!s.property.empty()) w.Field("property", s.property);
  if (s.where) {
    w.Key("where");
    WriteNode(*s.where, w);
  }
  switch (s.window.kind) {
    case Window::Kind::kNone:
      break;
    case Window::Kind::kLast:
      w.Key("window").BeginObject().Key("last");
      WriteDuration(s.window.duration, w);
      w.EndObject();
      break;
    case Window::Kind::kSince:
      w.Key("window").BeginObject().Key("since");
      WriteNode(*s.window.from, w);
      w.EndObject();
      break;
    case Window::Kind::kBefore:
      w.Key("window").BeginObject().Key("before");
      WriteNode(*s.window.to, w);
      w.EndObject();
      break;
    case Window::Kind::kBetween:
      w.Key("window").BeginObject().Key("between").BeginArray();
      WriteNode(*s.window.from, w);
      WriteNode(*s.window.to, w);
      w.EndArray().EndObject();
      break;
  }
  w.EndObject();
}

void WriteValue(const Value& v, JsonWriter& w) {
  if (v.type() == ValueType::kDuration) {
    w.BeginObject().Key("duration");
    WriteDuration(v.as_millis(), w);
    w.EndObject();
    return;
  }
  w.BeginObject().Key("value").Raw(v.ToJson()).EndObject();
}

void WriteNode(const Node& n, JsonWriter& w) {
  switch (n.kind) {
    case NodeKind::kAnd:
    case NodeKind::kOr:
      w.BeginObject().Key(n.kind == NodeKind::kAnd ? "and" : "or").BeginArray();
      for (const NodePtr& c : n.children) WriteNode(*c, w);
      w.EndArray().EndObject();
      return;
    case NodeKind::kNot:
      w.BeginObject().Key("not");
      WriteNode(*n.children[0], w);
      w.EndObject();
      return;
    case NodeKind::kCompare:
    case NodeKind::kArith:
      w.BeginObject().Field(n.kind == NodeKind::kCompare ? "cmp" : "arith", OpName(n.op));
      w.Key("left");
      WriteNode(*n.children[0], w);
      w.Key("right");
      WriteNode(*n.children[1], w);
      w.EndObject();
      return;
    case NodeKind::kIn:
      w.BeginObject().Key("in");
      WriteNode(*n.children[0], w);
      w.Key("list").BeginArray();
      for (const Value& v : n.list) w.Raw(v.ToJson());
      w.EndArray();
      if (n.negated) w.Field("negated", true);
      w.EndObject();
      return;
    case NodeKind::kBetween:
      w.BeginObject().Key("between");
      WriteNode(*n.children[0], w);
      w.Key("low");
      WriteNode(*n.children[1], w);
      w.Key("high");
      WriteNode(*n.children[2], w);
      w.EndObject();
      return;
    case NodeKind::kIsNull:
      w.BeginObject().Key("is_null");
      WriteNode(*n.children[0], w);
      if (n.negated) w.Field("negated", true);
      w.EndObject();
      return;
    case NodeKind::kTimeTest:
      w.BeginObject().Key("time");
      WriteNode(*n.children[0], w);
      w.Key(TimeTestName(n.time_test));
      WriteDuration(n.duration, w);
      w.EndObject();
      return;
    case NodeKind::kTrait:
      w.BeginObject().Field("trait", n.name);
      if (n.quoted) w.Field("quoted", true);
      w.EndObject();
      return;
    case NodeKind::kAccountTrait:
      w.BeginObject().Field("account_trait", n.name);
      if (n.quoted) w.Field("quoted", true);
      w.EndObject();
      return;
    case NodeKind::kProperty:
      w.BeginObject().Field("property", n.name).EndObject();
      return;
    case NodeKind::kLiteral:
      WriteValue(n.value, w);
      return;
    case NodeKind::kNow:
      w.BeginObject().Field("now", true).EndObject();
      return;
    case NodeKind::kAggregate:
      w.BeginObject().Key(AggregateName(n.aggregate));
      WriteSelector(*n.selector, w);
      w.EndObject();
      return;
    case NodeKind::kDid:
      w.BeginObject();
      if (n.selector2) {
        w.Key("followed_by").BeginArray();
        WriteSelector(*n.selector, w);
        WriteSelector(*n.selector2, w);
        w.EndArray();
        if (n.duration > 0) {
          w.Key("within");
          WriteDuration(n.duration, w);
        }
      } else {
        w.Key("did");
        WriteSelector(*n.selector, w);
      }
      if (n.negated) w.Field("negated", true);
      w.EndObject();
      return;
    case NodeKind::kOverall:
      w.BeginObject().Key("overall");
      WriteNode(*n.children[0], w);
      w.EndObject();
      return;
    case NodeKind::kAnyAccount:
      w.BeginObject().Key(n.negated ? "no_account" : "any_account");
      WriteNode(*n.children[0], w);
      w.EndObject();
      return;
    case NodeKind::kAccountCount:
      w.BeginObject().Field("account_count", true).EndObject();
      return;
    case NodeKind::kInGroup:
      w.BeginObject().Field("in_group", n.name);
      if (n.negated) w.Field("negated", true);
      w.EndObject();
      return;
    case NodeKind::kComputed:
      w.BeginObject();
      if (n.quoted) {
        w.Field(n.computed_kind, n.name);
      } else {
        w.Field(n.computed_kind, true);
      }
      w.EndObject();
      return;
    case NodeKind::kVisit:
      w.BeginObject().Field("visit", n.name).EndObject();
      return;
  }
}

// ---------------------------------------------------------------------------------------
// JSON reading

using simdjson::dom::element;
using simdjson::dom::object;

class JsonReader {
 public:
  absl::StatusOr<NodePtr> Read(element e, const std::string& path) {
    object o;
    if (e.get(o) != simdjson::SUCCESS || o.size() == 0) {
      return Error(path, "expected an object such as {\"and\": [...]}");
    }
    auto node = std::make_unique<Node>();
    auto has = [&](std::string_view key) {
      element ignored;
      return o.at_key(key).get(ignored) == simdjson::SUCCESS;
    };
    auto child = [&](std::string_view key) -> absl::StatusOr<NodePtr> {
      element c;
      if (o.at_key(key).get(c) != simdjson::SUCCESS) {
        return Error(path, fmt::format("\"{}\" is missing", key));
      }
      return Read(c, fmt::format("{}.{}", path, key));
    };
    auto flag = [&](std::string_view key) {
      bool b = false;
      return o.at_key(key).get(b) == simdjson::SUCCESS && b;
    };
    auto string_of = [&](std::string_view key, std::string* out) -> absl::Status {
      std::string_view s;
      if (o.at_key(key).get(s) != simdjson::SUCCESS) {
        return Error(path, fmt::format("\"{}\" must be a string", key));
      }
      *out = std::string(s);
      return absl::OkStatus();
    };
    node->negated = flag("negated");
    if (has("and") || has("or")) {
      bool is_and = has("and");
      node->kind = is_and ? NodeKind::kAnd : NodeKind::kOr;
      simdjson::dom::array items;
      if (o.at_key(is_and ? "and" : "or").get(items) != simdjson::SUCCESS || items.size() < 1) {
        return Error(path, "\"and\"/\"or\" takes a non-empty array of conditions");
      }
      size_t i = 0;
      for (element item : items) {
        auto c = Read(item, fmt::format("{}.{}[{}]", path, is_and ? "and" : "or", i++));
        if (!c.ok()) return c.status();
        node->children.push_back(*std::move(c));
      }
      if (node->children.size() == 1) return std::move(node->children[0]);
      return node;
    }
    if (has("not")) {
      node->kind = NodeKind::kNot;
      auto c = child("not");
      if (!c.ok()) return c.status();
      node->children.push_back(*std::move(c));
      return node;
    }
    if (has("cmp") || has("arith")) {
      bool cmp = has("cmp");
      node->kind = cmp ? NodeKind::kCompare : NodeKind::kArith;
      std::string op;
      absl::Status s = string_of(cmp ? "cmp" : "arith", &op);
      if (!s.ok()) return s;
      node->op = Op::kNone;
      for (const auto& [value, name] : kOps) {
        bool arith_op =
            value == Op::kAdd || value == Op::kSub || value == Op::kMul || value == Op::kDiv;
        if (name == op && arith_op != cmp) node->op = value;
      }
      if (node->op == Op::kNone) {
        return Error(
            path, fmt::format("unknown {} operator \"{}\"", cmp ? "comparison" : "arithmetic", op));
      }
      for (std::string_view key : {"left", "right"}) {
        auto c = child(key);
        if (!c.ok()) return c.status();
        node->children.push_back(*std::move(c));
      }
      return node;
    }
    if (has("in")) {
      node->kind = NodeKind::kIn;
      auto c = child("in");
      if (!c.ok()) return c.status();
      node->children.push_back(*std::move(c));
      simdjson::dom::array list;
      if (o.at_key("list").get(list) != simdjson::SUCCESS) {
        return Error(path, "\"list\" must be an array of literals");
      }
      for (element item : list) {
        if (item.is_object() || item.is_array() || item.is_null()) {
          return Error(path + ".list", "a list holds strings, numbers and booleans");
        }
        node->list.push_back(Value::FromJson(item));
      }
      return node;
    }
    if (has("between")) {
      node->kind = NodeKind::kBetween;
      for (std::string_view key : {"between", "low", "high"}) {
        auto c = child(key);
        if (!c.ok()) return c.status();
        node->children.push_back(*std::move(c));
      }
      return node;
    }
    if (has("is_null")) {
      node->kind = NodeKind::kIsNull;
      auto c = child("is_null");
      if (!c.ok()) return c.status();
      node->children.push_back(*std::move(c));
      return node;
    }
    if (has("time")) {
      node->kind = NodeKind::kTimeTest;
      auto c = child("time");
      if (!c.ok()) return c.status();
      node->children.push_back(*std::move(c));
      bool found = false;
      for (const auto& [test, name] : kTimeTests) {
        element d;
        if (o.at_key(name).get(d) != simdjson::SUCCESS) continue;
        node->time_test = test;
        auto ms = ReadDuration(d, fmt::format("{}.{}", path, name));
        if (!ms.ok()) return ms.status();
        node->duration = *ms;
        found = true;
      }
      if (!found) return Error(path, "\"time\" needs within_last, within_next or older_than");
      return node;
    }
    if (has("trait") || has("account_trait") || has("property")) {
      node->kind = has("trait")           ? NodeKind::kTrait
                   : has("account_trait") ? NodeKind::kAccountTrait
                                          : NodeKind::kProperty;
      absl::Status s = string_of(has("trait")           ? "trait"
                                 : has("account_trait") ? "account_trait"
                                                        : "property",
                                 &node->name);
      if (!s.ok()) return s;
      if (node->name.empty()) return Error(path, "a name cannot be empty");
      node->quoted = flag("quoted");
      return node;
    }
    if (has("value")) {
      node->kind = NodeKind::kLiteral;
      element v;
      v = o.at_key("value").value_unsafe();
      if (v.is_object() || v.is_array()) return Error(path, "\"value\" must be a scalar");
      node->value = Value::FromJson(v);
      return node;
    }
    if (has("duration")) {
      node->kind = NodeKind::kLiteral;
      element d;
      d = o.at_key("duration").value_unsafe();
      auto ms = ReadDuration(d, path + ".duration");
      if (!ms.ok()) return ms.status();
      node->value = Value::Duration(*ms);
      return node;
    }
    if (has("now")) {
      node->kind = NodeKind::kNow;
      return node;
    }
    for (const auto& [agg, name] : kAggregates) {
      if (!has(name)) continue;
      node->kind = NodeKind::kAggregate;
      node->aggregate = agg;
      element s;
      s = o.at_key(name).value_unsafe();
      auto selector = ReadSelector(s, fmt::format("{}.{}", path, name));
      if (!selector.ok()) return selector.status();
      node->selector = *std::move(selector);
      return node;
    }
    if (has("did")) {
      node->kind = NodeKind::kDid;
      element s;
      s = o.at_key("did").value_unsafe();
      auto selector = ReadSelector(s, path + ".did");
      if (!selector.ok()) return selector.status();
      node->selector = *std::move(selector);
      return node;
    }
    if (has("followed_by")) {
      node->kind = NodeKind::kDid;
      simdjson::dom::array pair;
      if (o.at_key("followed_by").get(pair) != simdjson::SUCCESS || pair.size() != 2) {
        return Error(path, "\"followed_by\" takes two selectors");
      }
      auto first = ReadSelector(pair.at(0).value_unsafe(), path + ".followed_by[0]");
      if (!first.ok()) return first.status();
      auto second = ReadSelector(pair.at(1).value_unsafe(), path + ".followed_by[1]");
      if (!second.ok()) return second.status();
      node->selector = *std::move(first);
      node->selector2 = *std::move(second);
      element d;
      if (o.at_key("within").get(d) == simdjson::SUCCESS) {
        auto ms = ReadDuration(d, path + ".within");
        if (!ms.ok()) return ms.status();
        node->duration = *ms;
      } else if (node->negated) {
        return Error(path, "a negated \"followed_by\" needs \"within\"");
      }
      return node;
    }
    if (has("overall")) {
      node->kind = NodeKind::kOverall;
      auto c = child("overall");
      if (!c.ok()) return c.status();
      if ((*c)->kind != NodeKind::kAggregate) return Error(path, "\"overall\" takes an aggregate");
      node->children.push_back(*std::move(c));
      return node;
    }
    if (has("any_account") || has("no_account")) {
      node->kind = NodeKind::kAnyAccount;
      node->negated = has("no_account");
      auto c = child(node->negated ? "no_account" : "any_account");
      if (!c.ok()) return c.status();
      node->children.push_back(*std::move(c));
      return node;
    }
    if (has("account_count")) {
      node->kind = NodeKind::kAccountCount;
      return node;
    }
    if (has("in_group")) {
      node->kind = NodeKind::kInGroup;
      absl::Status s = string_of("in_group", &node->name);
      if (!s.ok()) return s;
      return node;
    }
    // The built-in computed values are read as they always were: {"score": "Name"} (a
    // string is required), {"persona": …} (whatever the value).
    for (const ComputedKind& kind : ComputedKinds::BuiltIn().kinds()) {
      if (!has(kind.word)) continue;
      node->kind = NodeKind::kComputed;
      node->computed_kind = kind.word;
      node->quoted = kind.named;
      if (kind.named) {
        absl::Status s = string_of(kind.word, &node->name);
        if (!s.ok()) return s;
      }
      return node;
    }
    if (has("visit")) {
      node->kind = NodeKind::kVisit;
      absl::Status s = string_of("visit", &node->name);
      if (!s.ok()) return s;
      return node;
    }
    // Any other computed value: {"KIND": "name"}, or {"KIND": true} for a kind without
    // names; the compiler checks that its kind is known.
    for (auto field : o) {
      if (field.key == "negated") continue;
      std::string_view name;
      bool bare = false;
      if (field.value.get(name) == simdjson::SUCCESS) {
        node->quoted = true;
        node->name = std::string(name);
      } else if (field.value.get(bare) != simdjson::SUCCESS || !bare) {
        break;
      }
      node->kind = NodeKind::kComputed;
      node->computed_kind = std::string(field.key);
      return node;
    }
    std::string_view first_key = (*o.begin()).key;
    return Error(path, fmt::format("unknown node \"{}\"", first_key));
  }

 private:
  absl::Status Error(const std::string& path, std::string message) {
    return absl::InvalidArgumentError(fmt::format("{}: {}", path, message));
  }

  absl::StatusOr<Millis> ReadDuration(element e, const std::string& path) {
    object o;
    if (e.get(o) != simdjson::SUCCESS || o.size() != 1) {
      return Error(path, "a duration is an object such as {\"days\": 30}");
    }
    auto field = *o.begin();
    double amount = 0;
    if (field.value.get(amount) != simdjson::SUCCESS) {
      int64_t i = 0;
      if (field.value.get(i) != simdjson::SUCCESS)
        return Error(path, "the amount must be a number");
      amount = static_cast<double>(i);
    }
    static constexpr std::pair<std::string_view, Millis> kUnits[] = {{"seconds", 1000},
                                                                     {"minutes", 60000},
                                                                     {"hours", 3600000},
                                                                     {"days", 86400000},
                                                                     {"weeks", 604800000}};
    for (const auto& [unit, ms] : kUnits) {
      if (field.key == unit) return static_cast<Millis>(amount * static_cast<double>(ms));
    }
    return Error(path, fmt::format("unknown unit \"{}\": seconds, minutes, hours, days, weeks",
                                   std::string_view(field.key)));
  }

  absl::StatusOr<std::unique_ptr<Selector>> ReadSelector(element e, const std::string& path) {
    object o;
    if (e.get(o) != simdjson::SUCCESS) {
      return Error(path, "a selector is an object such as {\"event\": \"Order Completed\"}");
    }
    auto s = std::make_unique<Selector>();
    std::string_view event;
    if (o.at_key("event").get(event) != simdjson::SUCCESS || event.empty()) {
      return Error(path, "\"event\" must be a non-empty string");
    }
    bool track = false;
    if (o.at_key("track").get(track) != simdjson::SUCCESS) track = false;
    s->kind = ActivityKind::kTrack;
    s->event = std::string(event);
    if (!track) {
      for (const auto& [kind, name] : kKinds) {
        if (name == event && kind != ActivityKind::kTrack) {
          s->kind = kind;
          s->event.clear();
        }
      }
    }
    std::string_view property;
    if (o.at_key("property").get(property) == simdjson::SUCCESS)
      s->property = std::string(property);
    element where;
    if (o.at_key("where").get(where) == simdjson::SUCCESS) {
      auto w = Read(where, path + ".where");
      if (!w.ok()) return w.status();
      s->where = *std::move(w);
    }
    object window;
    if (o.at_key("window").get(window) == simdjson::SUCCESS) {
      element v;
      if (window.at_key("last").get(v) == simdjson::SUCCESS) {
        auto ms = ReadDuration(v, path + ".window.last");
        if (!ms.ok()) return ms.status();
        s->window.kind = Window::Kind::kLast;
        s->window.duration = *ms;
      } else if (window.at_key("since").get(v) == simdjson::SUCCESS) {
        auto t = Read(v, path + ".window.since");
        if (!t.ok()) return t.status();
        s->window.kind = Window::Kind::kSince;
        s->window.from = *std::move(t);
      } else if (window.at_key("before").get(v) == simdjson::SUCCESS) {
        auto t = Read(v, path + ".window.before");
        if (!t.ok()) return t.status();
        s->window.kind = Window::Kind::kBefore;
        s->window.to = *std::move(t);
      } else if (window.at_key("between").get(v) == simdjson::SUCCESS) {
        simdjson::dom::array pair;
        if (v.get(pair) != simdjson::SUCCESS || pair.size() != 2) {
          return Error(path + ".window.between", "takes two times");
        }
        auto from = Read(pair.at(0).value_unsafe(), path + ".window.between[0]");
        if (!from.ok()) return from.status();
        auto to = Read(pair.at(1).value_unsafe(), path + ".window.between[1]");
        if (!to.ok()) return to.status();
        s->window.kind = Window::Kind::kBetween;
        s->window.from = *std::move(from);
        s->window.to = *std::move(to);
      } else {
        return Error(path + ".window", "expected last, since, before or between");
      }
    }
    return s;
  }
};

// ---------------------------------------------------------------------------------------
// Text writing

std::string DurationText(Millis ms) {
  auto plural = [](int64_t n, std::string_view unit) {
    return fmt::format("{} {}{}", n, unit, n == 1 ? "" : "s");
  };
  if (ms % (7 * 86400000LL) == 0 && ms != 0) return plural(ms / (7 * 86400000LL), "week");
  if (ms % 86400000 == 0) return plural(ms / 86400000, "day");
  if (ms % 3600000 == 0) return plural(ms / 3600000, "hour");
  if (ms % 60000 == 0) return plural(ms / 60000, "minute");
  if (ms % 1000 == 0) return plural(ms / 1000, "second");
  return fmt::format("{} seconds", static_cast<double>(ms) / 1000.0);
}

bool IsIdentifierPath(std::string_view name) {
  if (name.empty()) return false;
  bool start = true;
  for (char c : name) {
    if (c == '.') {
      if (start) return false;
      start = true;
      continue;
    }
    bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '$';
    bool digit = c >= '0' && c <= '9';
    if (start ? !alpha : !(alpha || digit)) return false;
    start = false;
  }
  return !start;
}

// Binding strength, for parentheses: or 1, and 2, not 3, comparison 4, + - 5, * / 6,
// primary 7.
int Precedence(const Node& n) {
  switch (n.kind) {
    case NodeKind::kOr:
      return 1;
    case NodeKind::kAnd:
      return 2;
    case NodeKind::kNot:
      return 3;
    case NodeKind::kCompare:
    case NodeKind::kIn:
    case NodeKind::kBetween:
    case NodeKind::kIsNull:
    case NodeKind::kTimeTest:
      return 4;
    case NodeKind::kArith:
      return n.op == Op::kAdd || n.op == Op::kSub ? 5 : 6;
    case NodeKind::kInGroup:
      return n.negated ? 3 : 7;
    case NodeKind::kDid:
      return 3;  // "did E where ... within ..." reads best parenthesized inside others
    case NodeKind::kLiteral:
      return 7;
    default:
      return 7;
  }
}

void WriteText(const Node& n, std::string& out);

void WriteOperand(const Node& n, int min_precedence, std::string& out) {
  if (Precedence(n) < min_precedence) {
    out += '(';
    WriteText(n, out);
    out += ')';
  } else {
    WriteText(n, out);
  }
}

void WriteSelectorText(const Selector& s, std::string& out) {
  if (s.kind == ActivityKind::kTrack) {
    AppendJsonString(s.event, &out);
  } else {
    out += ActivityKindName(s.kind);
  }
  if (!s.property.empty()) {
    out += '.';
    out += s.property;
  }
  if (s.where) {
    out += " where ";
    // Parenthesized so that a window after it is not read as part of it.
    out += '(';
    WriteText(*s.where, out);
    out += ')';
  }
  switch (s.window.kind) {
    case Window::Kind::kNone:
      break;
    case Window::Kind::kLast:
      out += " within last " + DurationText(s.window.duration);
      break;
    case Window::Kind::kSince:
      out += " since ";
      WriteOperand(*s.window.from, 5, out);
      break;
    case Window::Kind::kBefore:
      out += " before ";
      WriteOperand(*s.window.to, 5, out);
      break;
    case Window::Kind::kBetween:
      out += " between ";
      WriteOperand(*s.window.from, 5, out);
      out += " and ";
      WriteOperand(*s.window.to, 5, out);
      break;
  }
}

void WriteNameText(const Node& n, std::string& out) {
  if (n.quoted || !IsIdentifierPath(n.name) || IsReservedWord(n.name.substr(0, n.name.find('.')))) {
    out += "trait(";
    AppendJsonString(n.name, &out);
    out += ')';
  } else {
    out += n.name;
  }
}

void WriteText(const Node& n, std::string& out) {
  switch (n.kind) {
    case NodeKind::kAnd:
    case NodeKind::kOr: {
      int p = Precedence(n);
      for (size_t i = 0; i < n.children.size(); ++i) {
        if (i > 0) out += n.kind == NodeKind::kAnd ? " and " : " or ";
        WriteOperand(*n.children[i], p + 1, out);
      }
      return;
    }
    case NodeKind::kNot:
      out += "not ";
      WriteOperand(*n.children[0], 3, out);
      return;
    case NodeKind::kCompare:
      WriteOperand(*n.children[0], 5, out);
      out += ' ';
      out += OpName(n.op);
      out += ' ';
      WriteOperand(*n.children[1], 5, out);
      return;
    case NodeKind::kArith: {
      int p = Precedence(n);
      WriteOperand(*n.children[0], p, out);
      out += ' ';
      out += OpName(n.op);
      out += ' ';
      WriteOperand(*n.children[1], p + 1, out);
      return;
    }
    case NodeKind::kIn:
      WriteOperand(*n.children[0], 5, out);
      out += n.negated ? " not in [" : " in [";
      for (size_t i = 0; i < n.list.size(); ++i) {
        if (i > 0) out += ", ";
        out += n.list[i].ToJson();
      }
      out += ']';
      return;
    case NodeKind::kBetween:
      WriteOperand(*n.children[0], 5, out);
      out += " between ";
      WriteOperand(*n.children[1], 5, out);
      out += " and ";
      WriteOperand(*n.children[2], 5, out);
      return;
    case NodeKind::kIsNull:
      WriteOperand(*n.children[0], 5, out);
      out += n.negated ? " is not null" : " is null";
      return;
    case NodeKind::kTimeTest:
      WriteOperand(*n.children[0], 5, out);
      out += n.time_test == TimeTest::kWithinLast   ? " within last "
             : n.time_test == TimeTest::kWithinNext ? " within next "
                                                    : " older than ";
      out += DurationText(n.duration);
      return;
    case NodeKind::kTrait:
    case NodeKind::kAccountTrait:
      WriteNameText(n, out);
      return;
    case NodeKind::kProperty:
      out += n.name;
      return;
    case NodeKind::kLiteral:
      if (n.value.type() == ValueType::kDuration) {
        out += DurationText(n.value.as_millis());
      } else {
        out += n.value.ToJson();
      }
      return;
    case NodeKind::kNow:
      out += "now";
      return;
    case NodeKind::kAggregate:
      out += AggregateName(n.aggregate);
      out += '(';
      WriteSelectorText(*n.selector, out);
      out += ')';
      return;
    case NodeKind::kDid:
      out += n.negated && !n.selector2 ? "did not " : "did ";
      WriteSelectorText(*n.selector, out);
      if (n.selector2) {
        out += n.negated ? " not followed by " : " followed by ";
        // The second selector's own window would swallow "within": parenthesize by rule.
        WriteSelectorText(*n.selector2, out);
        if (n.duration > 0) out += " within " + DurationText(n.duration);
      }
      return;
    case NodeKind::kOverall:
      out += "overall(";
      WriteText(*n.children[0], out);
      out += ')';
      return;
    case NodeKind::kAnyAccount:
      out += n.negated ? "no account (" : "any account (";
      WriteText(*n.children[0], out);
      out += ')';
      return;
    case NodeKind::kAccountCount:
      out += "account count";
      return;
    case NodeKind::kInGroup:
      out += n.negated ? "not in group " : "in group ";
      AppendJsonString(n.name, &out);
      return;
    case NodeKind::kComputed:
      out += n.computed_kind;
      if (n.quoted) {
        out += '(';
        AppendJsonString(n.name, &out);
        out += ')';
      }
      return;
    case NodeKind::kVisit:
      out += "visit." + n.name;
      return;
  }
}

std::unique_ptr<Selector> CloneSelector(const Selector& s) {
  auto out = std::make_unique<Selector>();
  out->kind = s.kind;
  out->event = s.event;
  out->property = s.property;
  out->pos = s.pos;
  if (s.where) out->where = CloneNode(*s.where);
  out->window.kind = s.window.kind;
  out->window.duration = s.window.duration;
  if (s.window.from) out->window.from = CloneNode(*s.window.from);
  if (s.window.to) out->window.to = CloneNode(*s.window.to);
  return out;
}

}  // namespace

std::string_view OpName(Op op) {
  for (const auto& [value, name] : kOps) {
    if (value == op) return name;
  }
  return "?";
}

std::string_view AggregateName(Aggregate aggregate) {
  for (const auto& [value, name] : kAggregates) {
    if (value == aggregate) return name;
  }
  return "?";
}

std::string_view TimeTestName(TimeTest test) {
  for (const auto& [value, name] : kTimeTests) {
    if (value == test) return name;
  }
  return "?";
}

std::string_view ActivityKindName(ActivityKind kind) {
  for (const auto& [value, name] : kKinds) {
    if (value == kind) return name;
  }
  return "?";
}

std::string NodeToJson(const Node& node) {
  JsonWriter w;
  WriteNode(node, w);
  return w.Take();
}

absl::StatusOr<NodePtr> NodeFromJson(std::string_view json) {
  simdjson::dom::parser parser;
  simdjson::padded_string padded(json);
  element root;
  if (parser.parse(padded).get(root) != simdjson::SUCCESS) {
    return absl::InvalidArgumentError("condition: malformed JSON");
  }
  JsonReader reader;
  return reader.Read(root, "condition");
}

std::string NodeToText(const Node& node) {
  std::string out;
  WriteText(node, out);
  return out;
}

NodePtr CloneNode(const Node& node) {
  auto out = std::make_unique<Node>();
  out->kind = node.kind;
  out->pos = node.pos;
  out->op = node.op;
  out->negated = node.negated;
  for (const NodePtr& c : node.children) out->children.push_back(CloneNode(*c));
  out->value = node.value;
  out->list = node.list;
  out->name = node.name;
  out->quoted = node.quoted;
  out->computed_kind = node.computed_kind;
  out->aggregate = node.aggregate;
  out->time_test = node.time_test;
  out->duration = node.duration;
  if (node.selector) out->selector = CloneSelector(*node.selector);
  if (node.selector2) out->selector2 = CloneSelector(*node.selector2);
  out->type = node.type;
  out->slot = node.slot;
  return out;
}

std::string FormatDuration(Millis ms) { return DurationText(ms); }

}  // namespace segmenta
