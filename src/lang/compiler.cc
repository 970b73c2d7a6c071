#include "lang/compiler.h"

#include <algorithm>

#include "absl/strings/str_join.h"
#include "core/time_format.h"
#include "fmt/format.h"
#include "lang/parser.h"
#include "lang/spelling.h"

namespace segmenta {

std::string EventKey(const Selector& selector) {
  return selector.kind == ActivityKind::kTrack ? selector.event
                                               : std::string(ActivityKindName(selector.kind));
}

namespace {

constexpr TypeSet kAnyType = 0xFF;

// The single type a set stands for when it has one (null bits ignored), else kNull.
ValueType Dominant(TypeSet set) {
  set &= static_cast<TypeSet>(~TypeBit(ValueType::kNull));
  for (ValueType t : {ValueType::kNumber, ValueType::kString, ValueType::kBool, ValueType::kTime,
                      ValueType::kDuration}) {
    if (set == TypeBit(t)) return t;
  }
  return ValueType::kNull;
}

std::string SetName(TypeSet set) {
  if (set == kAnyType) return "any type";
  std::vector<std::string> names;
  for (ValueType t : {ValueType::kNumber, ValueType::kString, ValueType::kBool, ValueType::kTime,
                      ValueType::kDuration}) {
    if (set & TypeBit(t)) names.emplace_back(ValueTypeName(t));
  }
  return names.empty() ? "null" : absl::StrJoin(names, " or ");
}

std::vector<std::string> Keys(const absl::flat_hash_map<std::string, TypeSet>& map) {
  std::vector<std::string> out;
  for (const auto& [k, v] : map) out.push_back(k);
  std::sort(out.begin(), out.end());
  return out;
}

template <typename T>
void AddUnique(std::vector<T>& v, const T& x) {
  if (std::find(v.begin(), v.end(), x) == v.end()) v.push_back(x);
}

}  // namespace

// Walks the tree once: resolves names, infers and checks types, numbers regexes and
// overall aggregates, and records what the plan depends on.
class Checker {
 public:
  Checker(const Schema& schema, std::string_view self, Plan* plan)
      : schema_(schema), self_(self), plan_(plan) {}

  enum class Scope { kContact, kAccount, kEvent };

  // The types `n` may hold, after checking it.
  absl::StatusOr<TypeSet> Check(Node& n, Scope scope, const std::string& event_key) {
    switch (n.kind) {
      case NodeKind::kAnd:
      case NodeKind::kOr:
      case NodeKind::kNot:
        for (NodePtr& c : n.children) {
          absl::Status s = ExpectBool(*c, scope, event_key);
          if (!s.ok()) return s;
        }
        return Result(n, ValueType::kBool);
      case NodeKind::kCompare:
        return CheckCompare(n, scope, event_key);
      case NodeKind::kIn: {
        auto left = Check(*n.children[0], scope, event_key);
        if (!left.ok()) return left;
        for (const Value& v : n.list) {
          if (!(TypeBit(v.type()) & *left) && *left != kAnyType) {
            return Error(
                n, fmt::format("{} holds {}, the list holds a {} ({})", Describe(*n.children[0]),
                               SetName(*left), ValueTypeName(v.type()), v.ToJson()));
          }
        }
        return Result(n, ValueType::kBool);
      }
      case NodeKind::kBetween: {
        auto x = Check(*n.children[0], scope, event_key);
        if (!x.ok()) return x;
        for (int i : {1, 2}) {
          auto bound = Check(*n.children[i], scope, event_key);
          if (!bound.ok()) return bound;
          absl::Status s = Comparable(n, *n.children[0], *x, *n.children[i], *bound, Op::kLe);
          if (!s.ok()) return s;
        }
        return Result(n, ValueType::kBool);
      }
      case NodeKind::kIsNull: {
        auto x = Check(*n.children[0], scope, event_key);
        if (!x.ok()) return x;
        return Result(n, ValueType::kBool);
      }
      case NodeKind::kTimeTest: {
        auto x = Check(*n.children[0], scope, event_key);
        if (!x.ok()) return x;
        if (!TimeLike(*n.children[0], *x)) {
          return Error(*n.children[0],
                       fmt::format("'{}' needs a time; {} holds {}", TimeTestName(n.time_test),
                                   Describe(*n.children[0]), SetName(*x)));
        }
        if (n.duration <= 0) return Error(n, "the duration must be positive");
        plan_->time_dependent_ = true;
        return Result(n, ValueType::kBool);
      }
      case NodeKind::kTrait:
        if (!n.quoted && scope == Scope::kContact && n.name.rfind("visit.", 0) == 0) {
          return CheckVisit(n);
        }
        return CheckName(n, schema_.traits, "trait", &plan_->traits_);
      case NodeKind::kVisit:
        return CheckVisit(n);
      case NodeKind::kAccountTrait:
        plan_->uses_accounts_ = true;
        return CheckName(n, schema_.account_traits, "account trait", nullptr);
      case NodeKind::kProperty:
        return CheckProperty(n, event_key);
      case NodeKind::kLiteral:
        n.type = n.value.type();
        return TypeBit(n.value.type());
      case NodeKind::kNow:
        plan_->time_dependent_ = true;
        return Result(n, ValueType::kTime);
      case NodeKind::kArith:
        return CheckArith(n, scope, event_key);
      case NodeKind::kAggregate:
        if (scope == Scope::kAccount) return Error(n, "activities are not available on accounts");
        return CheckAggregate(n);
      case NodeKind::kDid: {
        if (scope == Scope::kAccount) return Error(n, "activities are not available on accounts");
        absl::Status s = CheckSelector(*n.selector);
        if (!s.ok()) return s;
        if (n.selector2) {
          s = CheckSelector(*n.selector2);
          if (!s.ok()) return s;
          if (n.negated) plan_->time_dependent_ = true;
          if (n.duration < 0) return Error(n, "the duration must be positive");
        }
        return Result(n, ValueType::kBool);
      }
      case NodeKind::kOverall: {
        auto x = Check(*n.children[0], Scope::kContact, "");
        if (!x.ok()) return x;
        n.slot = static_cast<int>(plan_->overall_.size());
        plan_->overall_.push_back(n.children[0].get());
        n.type = n.children[0]->type;
        return *x;
      }
      case NodeKind::kAnyAccount: {
        if (scope != Scope::kContact) return Error(n, "'any account' cannot be nested here");
        plan_->uses_accounts_ = true;
        absl::Status s = ExpectBool(*n.children[0], Scope::kAccount, "");
        if (!s.ok()) return s;
        return Result(n, ValueType::kBool);
      }
      case NodeKind::kAccountCount:
        plan_->uses_accounts_ = true;
        return Result(n, ValueType::kNumber);
      case NodeKind::kInGroup: {
        absl::Status s = CheckGroup(n);
        if (!s.ok()) return s;
        return Result(n, ValueType::kBool);
      }
      case NodeKind::kComputed:
        if (scope != Scope::kContact) {
          return Error(n,
                       fmt::format("{} is a contact's; it is not available here", NodeToText(n)));
        }
        return CheckComputed(n);
    }
    return Error(n, "unknown node");
  }

 private:
  absl::Status Error(const Node& n, std::string message) const {
    return absl::InvalidArgumentError(fmt::format("{}:{}: {}", n.pos.line, n.pos.column, message));
  }

  static TypeSet Result(Node& n, ValueType t) {
    n.type = t;
    return TypeBit(t);
  }

  std::string Describe(const Node& n) const {
    switch (n.kind) {
      case NodeKind::kTrait:
        return fmt::format("trait '{}'", n.name);
      case NodeKind::kAccountTrait:
        return fmt::format("account trait '{}'", n.name);
      case NodeKind::kProperty:
        return fmt::format("property '{}'", n.name);
      case NodeKind::kLiteral:
        return n.value.ToJson();
      default:
        return fmt::format("'{}'", NodeToText(n));
    }
  }

  absl::Status ExpectBool(Node& n, Scope scope, const std::string& event_key) {
    auto t = Check(n, scope, event_key);
    if (!t.ok()) return t.status();
    if (!(*t & TypeBit(ValueType::kBool))) {
      return Error(n, fmt::format("expected a condition, but {} is a {}; compare it: {} = …",
                                  Describe(n), SetName(*t), NodeToText(n)));
    }
    return absl::OkStatus();
  }

  // Times, and strings (ISO-8601 text is read as a time where a time is expected).
  bool TimeLike(const Node& n, TypeSet t) const {
    return t & (TypeBit(ValueType::kTime) | TypeBit(ValueType::kString));
  }

  // A string literal compared with a time is read as a time, once, here.
  absl::Status CoerceToTime(Node& literal) {
    if (literal.kind != NodeKind::kLiteral || literal.value.type() != ValueType::kString) {
      return absl::OkStatus();
    }
    absl::StatusOr<absl::Time> t = ParseTimestamp(literal.value.as_string());
    if (!t.ok()) {
      return Error(literal, fmt::format("{} is compared with a time but is not one: {}",
                                        literal.value.ToJson(), std::string(t.status().message())));
    }
    literal.value = Value::Time(ToMillis(*t));
    literal.type = ValueType::kTime;
    return absl::OkStatus();
  }

  absl::Status Comparable(const Node& op_node, Node& left, TypeSet l, Node& right, TypeSet r,
                          Op op) {
    if (l == kAnyType || r == kAnyType) return absl::OkStatus();
    const TypeSet time = TypeBit(ValueType::kTime);
    if ((l & time) || (r & time)) {
      Node& other = (l & time) ? right : left;
      TypeSet other_set = (l & time) ? r : l;
      if (other_set & time) return absl::OkStatus();
      if (TimeLike(other, other_set)) return CoerceToTime(other);
    }
    if (left.kind == NodeKind::kLiteral && left.value.is_null()) {
      return Error(op_node, "compare with null using 'is null' or 'is not null'");
    }
    if (right.kind == NodeKind::kLiteral && right.value.is_null()) {
      return Error(op_node, fmt::format("compare with null using '{} is {}null'", NodeToText(left),
                                        op == Op::kNe ? "not " : ""));
    }
    if (!(l & r & ~TypeBit(ValueType::kNull))) {
      return Error(op_node, fmt::format("type mismatch: {} holds {}, {} holds {}", Describe(left),
                                        SetName(l), Describe(right), SetName(r)));
    }
    if ((l & r) == TypeBit(ValueType::kBool) && op != Op::kEq && op != Op::kNe) {
      return Error(op_node, "booleans are compared with = and != only");
    }
    return absl::OkStatus();
  }

  absl::StatusOr<TypeSet> CheckCompare(Node& n, Scope scope, const std::string& event_key) {
    auto l = Check(*n.children[0], scope, event_key);
    if (!l.ok()) return l;
    auto r = Check(*n.children[1], scope, event_key);
    if (!r.ok()) return r;
    switch (n.op) {
      case Op::kContains:
      case Op::kIContains:
      case Op::kStartsWith:
      case Op::kIStartsWith:
      case Op::kEndsWith:
      case Op::kIEndsWith:
      case Op::kMatches: {
        const TypeSet str = TypeBit(ValueType::kString);
        for (int i : {0, 1}) {
          TypeSet t = i == 0 ? *l : *r;
          if (!(t & str)) {
            return Error(*n.children[i],
                         fmt::format("'{}' works on strings; {} holds {}", OpName(n.op),
                                     Describe(*n.children[i]), SetName(t)));
          }
        }
        if (n.op == Op::kMatches) {
          const Node& pattern = *n.children[1];
          if (pattern.kind != NodeKind::kLiteral) {
            return Error(pattern, "the pattern of 'matches' must be a string literal");
          }
          auto re = std::make_unique<RE2>(pattern.value.as_string(), RE2::Quiet);
          if (!re->ok()) {
            return Error(pattern, fmt::format("invalid regular expression: {}", re->error()));
          }
          n.slot = static_cast<int>(plan_->regexes_.size());
          plan_->regexes_.push_back(std::move(re));
        }
        break;
      }
      default: {
        absl::Status s = Comparable(n, *n.children[0], *l, *n.children[1], *r, n.op);
        if (!s.ok()) return s;
      }
    }
    return Result(n, ValueType::kBool);
  }

  absl::StatusOr<TypeSet> CheckArith(Node& n, Scope scope, const std::string& event_key) {
    auto l = Check(*n.children[0], scope, event_key);
    if (!l.ok()) return l;
    auto r = Check(*n.children[1], scope, event_key);
    if (!r.ok()) return r;
    const TypeSet num = TypeBit(ValueType::kNumber), time = TypeBit(ValueType::kTime),
                  dur = TypeBit(ValueType::kDuration);
    auto is = [](TypeSet s, TypeSet t) { return s == kAnyType || (s & t); };
    ValueType result = ValueType::kNull;
    switch (n.op) {
      case Op::kAdd:
      case Op::kSub:
        if (is(*l, num) && is(*r, num) && !(*l & time) && !(*r & time)) {
          result = ValueType::kNumber;
        } else if (is(*l, time) && is(*r, dur)) {
          result = ValueType::kTime;
        } else if (n.op == Op::kAdd && is(*l, dur) && is(*r, time)) {
          result = ValueType::kTime;
        } else if (n.op == Op::kSub && is(*l, time) && is(*r, time)) {
          result = ValueType::kDuration;
        } else if (is(*l, dur) && is(*r, dur)) {
          result = ValueType::kDuration;
        }
        break;
      case Op::kMul:
      case Op::kDiv:
        if (is(*l, num) && is(*r, num)) {
          result = ValueType::kNumber;
        } else if (is(*l, dur) && is(*r, num)) {
          result = ValueType::kDuration;
        } else if (n.op == Op::kMul && is(*l, num) && is(*r, dur)) {
          result = ValueType::kDuration;
        }
        break;
      default:
        break;
    }
    if (result == ValueType::kNull) {
      return Error(n,
                   fmt::format("cannot compute {} {} {}: {} and {}", Describe(*n.children[0]),
                               OpName(n.op), Describe(*n.children[1]), SetName(*l), SetName(*r)));
    }
    return Result(n, result);
  }

  absl::StatusOr<TypeSet> CheckName(Node& n, const absl::flat_hash_map<std::string, TypeSet>& known,
                                    std::string_view what, std::vector<std::string>* used) {
    if (used != nullptr) AddUnique(*used, n.name);
    auto it = known.find(n.name);
    TypeSet types = kAnyType;
    if (it != known.end()) {
      types = it->second;
    } else if (n.quoted) {
      plan_->warnings_.push_back(fmt::format("{}:{}: {} \"{}\" has not been seen in the data yet",
                                             n.pos.line, n.pos.column, what, n.name));
    } else {
      std::string best = ClosestWord(n.name, Keys(known));
      return Error(n, fmt::format("unknown {} '{}'{}", what, n.name,
                                  best.empty() ? fmt::format("; if it is still to come, write "
                                                             "trait(\"{}\")",
                                                             n.name)
                                               : fmt::format("; did you mean '{}'?", best)));
    }
    n.type = Dominant(types);
    return types;
  }

  // visit.NAME: the hot data of the visit being decided.
  absl::StatusOr<TypeSet> CheckVisit(Node& n) {
    if (n.kind == NodeKind::kTrait) {
      n.kind = NodeKind::kVisit;
      n.name = n.name.substr(6);
    }
    if (!schema_.visit) {
      return Error(n, fmt::format("visit.{} is the hot data of a visit: experiences may read "
                                  "it, groups and scores may not",
                                  n.name));
    }
    auto it = VisitFields().find(n.name);
    if (it == VisitFields().end()) {
      std::vector<std::string> names;
      for (const auto& [name, type] : VisitFields()) names.push_back(name);
      std::sort(names.begin(), names.end());
      std::string best = ClosestWord(n.name, names);
      return Error(
          n, fmt::format("unknown visit field '{}'{}", n.name,
                         best.empty() ? "" : fmt::format("; did you mean 'visit.{}'?", best)));
    }
    return Result(n, it->second);
  }

  absl::StatusOr<TypeSet> CheckProperty(Node& n, const std::string& event_key) {
    if (n.name.rfind("context.", 0) == 0) return kAnyType;  // the context is free-form
    auto add = [](TypeSet& acc, const absl::flat_hash_map<std::string, TypeSet>& props,
                  const std::string& name) {
      auto it = props.find(name);
      if (it != props.end()) acc |= it->second;
      return it != props.end();
    };
    TypeSet types = 0;
    std::vector<std::string> candidates;
    if (event_key == "any") {
      for (const auto& [key, props] : schema_.properties) add(types, props, n.name);
    } else if (auto it = schema_.properties.find(event_key); it != schema_.properties.end()) {
      add(types, it->second, n.name);
      candidates = Keys(it->second);
    }
    if (types != 0) {
      n.type = Dominant(types);
      return types;
    }
    std::string best = ClosestWord(n.name, candidates);
    if (!best.empty()) {
      return Error(n, fmt::format("unknown property '{}' of {}; did you mean '{}'?", n.name,
                                  event_key, best));
    }
    plan_->warnings_.push_back(fmt::format("{}:{}: property '{}' has not been seen on {} yet",
                                           n.pos.line, n.pos.column, n.name, event_key));
    return kAnyType;
  }

  absl::Status CheckSelector(Selector& s) {
    const std::string key = EventKey(s);
    AddUnique(plan_->event_keys_, s.kind == ActivityKind::kAny ? std::string("*") : key);
    if (s.kind == ActivityKind::kTrack && !schema_.events.contains(s.event)) {
      std::vector<std::string> events(schema_.events.begin(), schema_.events.end());
      std::sort(events.begin(), events.end());
      std::string best = ClosestWord(s.event, events);
      if (!best.empty()) {
        return absl::InvalidArgumentError(
            fmt::format("{}:{}: unknown event \"{}\"; did you mean \"{}\"?", s.pos.line,
                        s.pos.column, s.event, best));
      }
      plan_->warnings_.push_back(fmt::format("{}:{}: event \"{}\" has not been seen yet",
                                             s.pos.line, s.pos.column, s.event));
    }
    if (s.where) {
      absl::Status st = ExpectBool(*s.where, Scope::kEvent, key);
      if (!st.ok()) return st;
    }
    for (Node* bound : {s.window.from.get(), s.window.to.get()}) {
      if (bound == nullptr) continue;
      auto t = Check(*bound, Scope::kContact, "");
      if (!t.ok()) return t.status();
      if (!TimeLike(*bound, *t)) {
        return Error(*bound, fmt::format("a window bound must be a time; {} holds {}",
                                         Describe(*bound), SetName(*t)));
      }
      absl::Status st = CoerceToTime(*bound);
      if (!st.ok()) return st;
    }
    if (s.window.kind == Window::Kind::kLast) {
      if (s.window.duration <= 0) {
        return absl::InvalidArgumentError(
            fmt::format("{}:{}: the window must be positive", s.pos.line, s.pos.column));
      }
      plan_->time_dependent_ = true;
    }
    return absl::OkStatus();
  }

  absl::StatusOr<TypeSet> CheckAggregate(Node& n) {
    Selector& s = *n.selector;
    absl::Status st = CheckSelector(s);
    if (!st.ok()) return st;
    TypeSet property = kAnyType;
    if (!s.property.empty()) {
      Node probe;
      probe.kind = NodeKind::kProperty;
      probe.name = s.property;
      probe.pos = s.pos;
      auto t = CheckProperty(probe, EventKey(s));
      if (!t.ok()) return t;
      property = *t;
    }
    switch (n.aggregate) {
      case Aggregate::kCount:
        return Result(n, ValueType::kNumber);
      case Aggregate::kSum:
      case Aggregate::kAvg:
      case Aggregate::kMin:
      case Aggregate::kMax:
        if (!(property & TypeBit(ValueType::kNumber))) {
          return Error(n, fmt::format("{}() needs a numeric property; '{}' of {} holds {}",
                                      AggregateName(n.aggregate), s.property, EventKey(s),
                                      SetName(property)));
        }
        return Result(n, ValueType::kNumber);
      case Aggregate::kFirst:
      case Aggregate::kLast:
        if (s.property.empty()) return Result(n, ValueType::kTime);
        n.type = Dominant(property);
        return property;
    }
    return Error(n, "unknown aggregate");
  }

  absl::Status CheckGroup(Node& n) {
    if (!schema_.definitions.contains(n.name)) {
      std::vector<std::string> names;
      for (const auto& [name, deps] : schema_.definitions) {
        if (name.find(':') == std::string::npos) names.push_back(name);
      }
      std::sort(names.begin(), names.end());
      std::string best = ClosestWord(n.name, names);
      return Error(n, fmt::format("unknown group \"{}\"{}", n.name,
                                  best.empty() ? "" : fmt::format("; did you mean \"{}\"?", best)));
    }
    return CheckDependency(n, n.name);
  }

  // KIND("name") or a bare KIND: a kind the schema knows, and a name defined now.
  absl::StatusOr<TypeSet> CheckComputed(Node& n) {
    const ComputedKind* kind = schema_.computed.Find(n.computed_kind);
    if (kind == nullptr) {
      std::vector<std::string> words;
      for (const ComputedKind& k : schema_.computed.kinds()) words.push_back(k.word);
      std::string best = ClosestWord(n.computed_kind, words);
      return Error(
          n, fmt::format("unknown computed value '{}'{}", n.computed_kind,
                         best.empty() ? fmt::format(" (known: {})", absl::StrJoin(words, ", "))
                                      : fmt::format("; did you mean '{}'?", best)));
    }
    if (kind->named != n.quoted) {
      return Error(n, kind->named
                          ? fmt::format("{} needs a name: {}(\"…\")", kind->word, kind->word)
                          : fmt::format("{} takes no name: write {}", kind->word, kind->word));
    }
    const std::string key = ComputedKey(kind->word, n.name);
    if (!schema_.definitions.contains(key)) {
      if (!kind->named) {
        return Error(n, kind->undefined.empty() ? fmt::format("no {} is defined yet", kind->word)
                                                : kind->undefined);
      }
      const std::string prefix = ComputedKey(kind->word, "");
      std::vector<std::string> names;
      for (const auto& [name, deps] : schema_.definitions) {
        if (name.rfind(prefix, 0) == 0) names.push_back(name.substr(prefix.size()));
      }
      std::sort(names.begin(), names.end());
      std::string best = ClosestWord(n.name, names);
      return Error(
          n, fmt::format("unknown {} \"{}\"{}", kind->noun.empty() ? kind->word : kind->noun,
                         n.name, best.empty() ? "" : fmt::format("; did you mean \"{}\"?", best)));
    }
    absl::Status s = CheckDependency(n, key);
    if (!s.ok()) return s;
    return Result(n, kind->type);
  }

  // Records that the plan reads `key` (a group or a computed value) and refuses a
  // reference back to the definition being compiled, directly or through others.
  absl::Status CheckDependency(Node& n, const std::string& key) {
    if (!self_.empty() && key == self_) {
      if (key.find(':') == std::string::npos) {
        return Error(n, fmt::format("group \"{}\" cannot contain itself", key));
      }
      return Error(n, fmt::format("{} cannot depend on itself", DependencyText(key)));
    }
    AddUnique(plan_->definitions_, key);
    if (self_.empty()) return absl::OkStatus();
    // Depth-first search from the referenced definition: reaching `self` closes a cycle.
    std::vector<std::string> path = {std::string(self_), key};
    absl::flat_hash_set<std::string> seen;
    if (ReachesSelf(key, &path, &seen)) return Error(n, CycleText(path));
    return absl::OkStatus();
  }

  bool ReachesSelf(const std::string& key, std::vector<std::string>* path,
                   absl::flat_hash_set<std::string>* seen) {
    if (!seen->insert(key).second) return false;
    auto it = schema_.definitions.find(key);
    if (it == schema_.definitions.end()) return false;
    for (const std::string& dep : it->second) {
      path->push_back(dep);
      if (dep == self_ || ReachesSelf(dep, path, seen)) return true;
      path->pop_back();
    }
    return false;
  }

  const Schema& schema_;
  std::string_view self_;
  Plan* plan_;
};

const absl::flat_hash_map<std::string, ValueType>& VisitFields() {
  static const auto* fields = new absl::flat_hash_map<std::string, ValueType>{
      {"page.url", ValueType::kString},
      {"page.path", ValueType::kString},
      {"page.host", ValueType::kString},
      {"page.title", ValueType::kString},
      {"referrer.url", ValueType::kString},
      {"referrer.host", ValueType::kString},
      {"referrer.search_engine", ValueType::kBool},
      {"referrer.social", ValueType::kBool},
      {"utm.source", ValueType::kString},
      {"utm.medium", ValueType::kString},
      {"utm.campaign", ValueType::kString},
      {"utm.term", ValueType::kString},
      {"utm.content", ValueType::kString},
      {"device.type", ValueType::kString},
      {"device.family", ValueType::kString},
      {"device.brand", ValueType::kString},
      {"device.model", ValueType::kString},
      {"os.name", ValueType::kString},
      {"os.version", ValueType::kNumber},
      {"browser.name", ValueType::kString},
      {"browser.version", ValueType::kNumber},
      {"country", ValueType::kString},
      {"hour", ValueType::kNumber},
      {"weekday", ValueType::kString},
      {"new", ValueType::kBool},
  };
  return *fields;
}

absl::StatusOr<std::shared_ptr<const Plan>> Plan::Compile(NodePtr root, const Schema& schema,
                                                          std::string_view self) {
  std::shared_ptr<Plan> plan(new Plan());
  plan->root_ = std::move(root);
  Checker checker(schema, self, plan.get());
  auto type = checker.Check(*plan->root_, Checker::Scope::kContact, "");
  if (!type.ok()) return type.status();
  if (!(*type & TypeBit(ValueType::kBool))) {
    return absl::InvalidArgumentError(
        fmt::format("{}:{}: a condition must be true or false, but this is a {}",
                    plan->root_->pos.line, plan->root_->pos.column, SetName(*type)));
  }
  return std::shared_ptr<const Plan>(std::move(plan));
}

absl::StatusOr<std::shared_ptr<const Plan>> Plan::CompileText(std::string_view condition,
                                                              const Schema& schema,
                                                              std::string_view self) {
  size_t first = condition.find_first_not_of(" \t\r\n");
  absl::StatusOr<NodePtr> root = first != std::string_view::npos && condition[first] == '{'
                                     ? NodeFromJson(condition)
                                     : ParseCondition(condition);
  if (!root.ok()) return root.status();
  return Compile(*std::move(root), schema, self);
}

}  // namespace segmenta
