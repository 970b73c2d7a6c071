#include "eval/evaluator.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "eval/batch.h"
#include "eval/scalar.h"

namespace segmenta {
namespace {

// Where names are read: the contact, one of its accounts, or one of its events.
struct Frame {
  const EventTable* table = nullptr;  // the event, for properties
  uint32_t row = 0;
  int64_t account = -1;  // the account row, for account traits
};

bool ContainsNow(const Node& n) {
  if (n.kind == NodeKind::kNow) return true;
  for (const NodePtr& c : n.children) {
    if (ContainsNow(*c)) return true;
  }
  return false;
}

// `now`, or `now ± constant ± ...`: a bound that moves with the clock alone.
bool NowPlusConstant(const Node& n) {
  if (n.kind == NodeKind::kNow) return true;
  if (n.kind == NodeKind::kArith && (n.op == Op::kAdd || n.op == Op::kSub)) {
    const Node& l = *n.children[0];
    const Node& r = *n.children[1];
    if (r.kind != NodeKind::kLiteral) return false;
    return NowPlusConstant(l);
  }
  return false;
}

// Its value at `now`: now + the constants.
double NowOffset(const Node& n) {
  if (n.kind == NodeKind::kNow) return 0;
  const Value& v = n.children[1]->value;
  const double k =
      v.type() == ValueType::kNumber ? v.as_number() : static_cast<double>(v.as_millis());
  return NowOffset(*n.children[0]) + (n.op == Op::kAdd ? k : -k);
}

bool WhereUsesTime(const Node& n) {
  if (n.kind == NodeKind::kTimeTest || n.kind == NodeKind::kNow) return true;
  for (const NodePtr& c : n.children) {
    if (WhereUsesTime(*c)) return true;
  }
  return false;
}

class Eval {
 public:
  Eval(const Plan& plan, const ProfileTable& profiles, ContactId contact, const EvalEnv& env)
      : plan_(plan), p_(profiles), contact_(contact), env_(env), state_(profiles.contact(contact)) {
    static const ContactState kEmpty;
    if (state_ == nullptr && env.absent_is_empty) state_ = &kEmpty;
  }

  bool exists() const { return state_ != nullptr; }

  Scalar Value(const Node& n, const Frame& f) {
    switch (n.kind) {
      case NodeKind::kTrait:
        return ScalarOf(p_.trait(n.name), contact_);
      case NodeKind::kAccountTrait:
        return f.account < 0 ? Scalar() : ScalarOf(p_.account_trait(n.name), f.account);
      case NodeKind::kProperty:
        return f.table == nullptr ? Scalar() : ScalarOf(f.table->column(n.name), f.row);
      case NodeKind::kLiteral:
        return ScalarOf(n.value);
      case NodeKind::kNow:
        return Scalar::Time(env_.now);
      case NodeKind::kArith:
        return Arith(n.op, Value(*n.children[0], f), Value(*n.children[1], f));
      case NodeKind::kAggregate:
        return Aggregate(n);
      case NodeKind::kOverall:
        return n.slot >= 0 && static_cast<size_t>(n.slot) < env_.overall.size()
                   ? ScalarOf(env_.overall[n.slot])
                   : Scalar();
      case NodeKind::kAccountCount:
        return Scalar::Number(static_cast<double>(state_->accounts.size()));
      case NodeKind::kComputed:
      case NodeKind::kVisit:
        return env_.derived ? env_.derived(n, contact_) : Scalar();
      default:
        return Scalar::Bool(Bool(n, f));
    }
  }

  bool Bool(const Node& n, const Frame& f) {
    switch (n.kind) {
      case NodeKind::kAnd:
        for (const NodePtr& c : n.children) {
          if (!Bool(*c, f)) return false;
        }
        return true;
      case NodeKind::kOr:
        for (const NodePtr& c : n.children) {
          if (Bool(*c, f)) return true;
        }
        return false;
      case NodeKind::kNot:
        return !Bool(*n.children[0], f);
      case NodeKind::kCompare: {
        Scalar l = Value(*n.children[0], f);
        Scalar r = Value(*n.children[1], f);
        if (n.op == Op::kMatches) {
          return l.type == ValueType::kString && RE2::PartialMatch(l.str, plan_.regex(n.slot));
        }
        return Compare(n.op, l, r);
      }
      case NodeKind::kIn: {
        Scalar x = Value(*n.children[0], f);
        if (x.is_null()) return false;
        bool found = false;
        for (const segmenta::Value& v : n.list) {
          if (Compare(Op::kEq, x, ScalarOf(v))) {
            found = true;
            break;
          }
        }
        return found != n.negated;
      }
      case NodeKind::kBetween: {
        Scalar x = Value(*n.children[0], f);
        return Compare(Op::kGe, x, Value(*n.children[1], f)) &&
               Compare(Op::kLe, x, Value(*n.children[2], f));
      }
      case NodeKind::kIsNull:
        return Value(*n.children[0], f).is_null() != n.negated;
      case NodeKind::kTimeTest: {
        Millis t;
        return AsTime(Value(*n.children[0], f), &t) &&
               PassesTimeTest(n.time_test, n.duration, t, env_.now);
      }
      case NodeKind::kDid:
        return n.selector2 ? Sequence(n) : (Count(*n.selector) > 0) != n.negated;
      case NodeKind::kAnyAccount: {
        bool any = false;
        for (uint32_t account : state_->accounts) {
          Frame af;
          af.account = account;
          if (Bool(*n.children[0], af)) {
            any = true;
            break;
          }
        }
        return any != n.negated;
      }
      case NodeKind::kInGroup: {
        const Roaring* members = env_.group_members ? env_.group_members(n.name) : nullptr;
        bool in = members != nullptr && members->contains(static_cast<uint32_t>(contact_));
        return in != n.negated;
      }
      default: {
        Scalar v = Value(n, f);
        return v.type == ValueType::kBool && v.b;
      }
    }
  }

  // --- selections ----------------------------------------------------------------------

  // The window's bounds, inclusive; false when a bound is missing (selects nothing).
  bool Bounds(const Selector& s, Millis* lo, Millis* hi) {
    *lo = std::numeric_limits<Millis>::min();
    *hi = std::numeric_limits<Millis>::max();
    Frame none;
    switch (s.window.kind) {
      case Window::Kind::kNone:
        return true;
      case Window::Kind::kLast:
        *lo = env_.now - s.window.duration;
        *hi = env_.now;
        return true;
      case Window::Kind::kSince: {
        Millis t;
        if (!AsTime(Value(*s.window.from, none), &t)) return false;
        *lo = t + 1;  // strictly after
        return true;
      }
      case Window::Kind::kBefore: {
        Millis t;
        if (!AsTime(Value(*s.window.to, none), &t)) return false;
        *hi = t - 1;  // strictly before
        return true;
      }
      case Window::Kind::kBetween: {
        Millis a, b;
        if (!AsTime(Value(*s.window.from, none), &a) || !AsTime(Value(*s.window.to, none), &b)) {
          return false;
        }
        *lo = a;
        *hi = b;
        return true;
      }
    }
    return true;
  }

  // Calls `visit(index, ref, time)` for each of the contact's events the selector selects,
  // in time order; stops when it returns false.
  template <typename F>
  void Select(const Selector& s, F&& visit) {
    int table = SelectorTable(p_, s);
    if (table == -1) return;
    Millis lo, hi;
    if (!Bounds(s, &lo, &hi)) return;
    const std::vector<EventRef>& events = state_->events;
    for (size_t i = 0; i < events.size(); ++i) {
      const EventRef& ref = events[i];
      if (table >= 0 && ref.table != table) continue;
      Millis t = p_.event_time(ref);
      if (t < lo) continue;
      if (t > hi) break;
      if (s.where) {
        Frame ef{&p_.table(ref.table), ref.row, -1};
        if (!Bool(*s.where, ef)) continue;
      }
      if (!visit(i, ref, t)) return;
    }
  }

  size_t Count(const Selector& s) {
    size_t n = 0;
    Select(s, [&](size_t, const EventRef&, Millis) {
      ++n;
      return true;
    });
    return n;
  }

  Scalar Aggregate(const Node& n) {
    const Selector& s = *n.selector;
    switch (n.aggregate) {
      case Aggregate::kCount:
        return Scalar::Number(static_cast<double>(Count(s)));
      case Aggregate::kFirst:
      case Aggregate::kLast: {
        bool found = false;
        EventRef chosen{};
        Millis time = 0;
        Select(s, [&](size_t, const EventRef& ref, Millis t) {
          if (!found || n.aggregate == Aggregate::kLast) {
            chosen = ref;
            time = t;
          }
          found = true;
          return n.aggregate == Aggregate::kLast;  // first: stop at once
        });
        if (!found) return Scalar();
        if (s.property.empty()) return Scalar::Time(time);
        return ScalarOf(p_.table(chosen.table).column(s.property), chosen.row);
      }
      default: {
        double sum = 0, min = 0, max = 0;
        size_t count = 0;
        Select(s, [&](size_t, const EventRef& ref, Millis) {
          const Column* column = p_.table(ref.table).column(s.property);
          if (column == nullptr || column->type(ref.row) != ValueType::kNumber) return true;
          double v = column->number(ref.row);
          sum += v;
          min = count == 0 ? v : std::min(min, v);
          max = count == 0 ? v : std::max(max, v);
          ++count;
          return true;
        });
        if (count == 0) return Scalar();
        switch (n.aggregate) {
          case Aggregate::kSum:
            return Scalar::Number(sum);
          case Aggregate::kAvg:
            return Scalar::Number(sum / static_cast<double>(count));
          case Aggregate::kMin:
            return Scalar::Number(min);
          default:
            return Scalar::Number(max);
        }
      }
    }
  }

  // did A [not] followed by B [within D].
  bool Sequence(const Node& n) {
    std::vector<std::pair<size_t, Millis>> firsts, seconds;
    Select(*n.selector, [&](size_t i, const EventRef&, Millis t) {
      firsts.emplace_back(i, t);
      return true;
    });
    Select(*n.selector2, [&](size_t i, const EventRef&, Millis t) {
      seconds.emplace_back(i, t);
      return true;
    });
    for (const auto& [ia, ta] : firsts) {
      bool followed = false;
      for (const auto& [ib, tb] : seconds) {
        if (ib <= ia) continue;
        if (n.duration > 0 && tb - ta > n.duration) break;
        followed = true;
        break;
      }
      if (!n.negated && followed) return true;
      if (n.negated && !followed && ta + n.duration <= env_.now) return true;
    }
    return false;
  }

  // --- next change ---------------------------------------------------------------------

  // A time-valued expression as coefficient * now + offset, when it is one.
  struct Linear {
    int c = 0;
    double k = 0;
  };
  std::optional<Linear> AsLinear(const Node& n, const Frame& f) {
    if (n.kind == NodeKind::kNow) return Linear{1, 0};
    if (n.kind == NodeKind::kArith && (n.op == Op::kAdd || n.op == Op::kSub)) {
      auto l = AsLinear(*n.children[0], f);
      auto r = AsLinear(*n.children[1], f);
      if (!l || !r) return std::nullopt;
      int sign = n.op == Op::kAdd ? 1 : -1;
      return Linear{l->c + sign * r->c, l->k + sign * r->k};
    }
    if (ContainsNow(n)) return std::nullopt;
    Scalar v = Value(n, f);
    Millis t;
    if (v.type == ValueType::kNumber) return Linear{0, v.num};
    if (AsTime(v, &t) || v.type == ValueType::kDuration) {
      return Linear{0, static_cast<double>(v.type == ValueType::kDuration ? v.ms : t)};
    }
    return std::nullopt;
  }

  void Candidate(double t) {
    if (!std::isfinite(t)) return;
    Millis m = static_cast<Millis>(std::ceil(t));
    if (m > env_.now && (!best_ || m < *best_)) best_ = m;
  }

  // An expression involving now in a way the analysis does not follow: look again in an
  // hour.
  void Fallback() { Candidate(static_cast<double>(env_.now + 3600 * 1000)); }

  void Boundaries(const Node& n, const Frame& f) {
    switch (n.kind) {
      case NodeKind::kCompare:
      case NodeKind::kBetween: {
        for (const NodePtr& c : n.children) Boundaries(*c, f);
        if (!ContainsNow(n)) return;
        for (size_t i = 1; i < n.children.size(); ++i) {
          auto l = AsLinear(*n.children[0], f);
          auto r = AsLinear(*n.children[i], f);
          if (!l || !r) {
            Fallback();
            continue;
          }
          if (l->c == r->c) continue;
          double t = (r->k - l->k) / static_cast<double>(l->c - r->c);
          Candidate(t);
          Candidate(t + 1);
        }
        return;
      }
      case NodeKind::kTimeTest: {
        Boundaries(*n.children[0], f);
        Millis t;
        if (ContainsNow(*n.children[0])) Fallback();
        if (!AsTime(Value(*n.children[0], f), &t)) return;
        switch (n.time_test) {
          case TimeTest::kWithinLast:
            Candidate(static_cast<double>(t));
            Candidate(static_cast<double>(t + n.duration) + 1);
            break;
          case TimeTest::kWithinNext:
            Candidate(static_cast<double>(t - n.duration));
            Candidate(static_cast<double>(t) + 1);
            break;
          case TimeTest::kOlderThan:
            Candidate(static_cast<double>(t + n.duration) + 1);
            break;
        }
        return;
      }
      case NodeKind::kAggregate:
        SelectorBoundaries(*n.selector);
        return;
      case NodeKind::kDid:
        SelectorBoundaries(*n.selector);
        if (n.selector2) {
          SelectorBoundaries(*n.selector2);
          if (n.negated) {
            // Each A still waiting for its B flips the value when the wait runs out.
            Select(*n.selector, [&](size_t, const EventRef&, Millis ta) {
              Candidate(static_cast<double>(ta + n.duration));
              return true;
            });
          }
        }
        return;
      case NodeKind::kAnyAccount:
        for (uint32_t account : state_->accounts) {
          Frame af;
          af.account = account;
          Boundaries(*n.children[0], af);
        }
        return;
      case NodeKind::kNow:
        Fallback();
        return;
      default:
        for (const NodePtr& c : n.children) Boundaries(*c, f);
        return;
    }
  }

  void SelectorBoundaries(const Selector& s) {
    Frame none;
    for (const Node* bound : {s.window.from.get(), s.window.to.get()}) {
      // A bound of now ± constants is followed below, event by event.
      if (bound != nullptr && !NowPlusConstant(*bound)) Boundaries(*bound, none);
    }
    int table = SelectorTable(p_, s);
    if (table == -1) return;
    // Bounds that move with now: an event crosses them at a computable instant.
    std::optional<Linear> from, to;
    if (s.window.from && ContainsNow(*s.window.from)) {
      from = AsLinear(*s.window.from, none);
      if (!from) Fallback();
    }
    if (s.window.to && ContainsNow(*s.window.to)) {
      to = AsLinear(*s.window.to, none);
      if (!to) Fallback();
    }
    const bool last = s.window.kind == Window::Kind::kLast;
    if (!last && !from && !to && !(s.where && WhereUsesTime(*s.where))) return;
    for (const EventRef& ref : state_->events) {
      if (table >= 0 && ref.table != table) continue;
      const double t = static_cast<double>(p_.event_time(ref));
      if (s.where) {
        Frame ef{&p_.table(ref.table), ref.row, -1};
        Boundaries(*s.where, ef);
      }
      if (last) {
        Candidate(t);                                               // enters (future event)
        Candidate(t + static_cast<double>(s.window.duration) + 1);  // leaves
      }
      for (const auto& bound : {from, to}) {
        if (bound && bound->c != 0) {
          double at = (t - bound->k) / bound->c;
          Candidate(at);
          Candidate(at + 1);
        }
      }
    }
  }

  std::optional<Millis> best() const { return best_; }

 private:
  const Plan& plan_;
  const ProfileTable& p_;
  ContactId contact_;
  const EvalEnv& env_;
  const ContactState* state_;
  std::optional<Millis> best_;
};

}  // namespace

bool Matches(const Plan& plan, const ProfileTable& profiles, ContactId contact,
             const EvalEnv& env) {
  Eval eval(plan, profiles, contact, env);
  if (!eval.exists()) return false;
  return eval.Bool(plan.root(), Frame());
}

std::optional<Millis> NextChange(const Plan& plan, const ProfileTable& profiles, ContactId contact,
                                 const EvalEnv& env) {
  if (!plan.time_dependent()) return std::nullopt;
  Eval eval(plan, profiles, contact, env);
  if (!eval.exists()) return std::nullopt;
  eval.Boundaries(plan.root(), Frame());
  return eval.best();
}

bool MatchesNode(const Plan& plan, const Node& node, const ProfileTable& profiles,
                 ContactId contact, const EvalEnv& env) {
  Eval eval(plan, profiles, contact, env);
  return eval.exists() && eval.Bool(node, Frame());
}

Scalar ValueOfNode(const Plan& plan, const Node& node, const ProfileTable& profiles,
                   ContactId contact, const EvalEnv& env) {
  Eval eval(plan, profiles, contact, env);
  return eval.exists() ? eval.Value(node, Frame()) : Scalar();
}

namespace {

// Collects the selectors whose windows move with the clock (within last, or bounds of now
// ± constants); false when something else in the plan depends on time (a time test, now
// outside a window, a sequence's wait, a filter on time, overall(...)).
bool WindowsOnly(const Node& n, std::vector<const Selector*>* moving) {
  switch (n.kind) {
    case NodeKind::kTimeTest:
    case NodeKind::kNow:
    case NodeKind::kOverall:
      return false;
    case NodeKind::kDid:
      if (n.selector2 && n.negated) return false;
      break;
    default:
      break;
  }
  for (const Selector* s : {n.selector.get(), n.selector2.get()}) {
    if (s == nullptr) continue;
    if (s->where && WhereUsesTime(*s->where)) return false;
    bool moves = s->window.kind == Window::Kind::kLast;
    for (const Node* bound : {s->window.from.get(), s->window.to.get()}) {
      if (bound == nullptr) continue;
      if (NowPlusConstant(*bound)) {
        moves = true;
      } else if (ContainsNow(*bound) || !WindowsOnly(*bound, moving)) {
        return false;
      }
    }
    if (moves) moving->push_back(s);
  }
  for (const NodePtr& c : n.children) {
    if (!WindowsOnly(*c, moving)) return false;
  }
  return true;
}

}  // namespace

std::vector<Millis> NextChangeAll(const Plan& plan, const ProfileTable& profiles,
                                  const EvalEnv& env) {
  const size_t rows = profiles.contact_rows();
  std::vector<Millis> out(rows, kNoChange);
  if (!plan.time_dependent()) return out;
  std::vector<const Selector*> moving;
  if (!WindowsOnly(plan.root(), &moving)) {
    for (ContactId c = 1; c < rows; ++c) {
      if (profiles.contact(c) == nullptr) continue;
      if (std::optional<Millis> t = NextChange(plan, profiles, c, env)) out[c] = *t;
    }
    return out;
  }
  // The instants at which an activity enters or leaves a moving window, as NextChange
  // finds them contact by contact, here table by table.
  auto candidate = [&](uint32_t c, double t) {
    if (!std::isfinite(t)) return;
    const Millis m = static_cast<Millis>(std::ceil(t));
    if (m > env.now && m < out[c]) out[c] = m;
  };
  for (const Selector* s : moving) {
    const int table = SelectorTable(profiles, *s);
    if (table == -1) continue;
    std::vector<double> offsets;  // of bounds now + k: an event at t crosses at t - k
    for (const Node* bound : {s->window.from.get(), s->window.to.get()}) {
      if (bound != nullptr && NowPlusConstant(*bound)) offsets.push_back(NowOffset(*bound));
    }
    const bool last = s->window.kind == Window::Kind::kLast;
    for (size_t t = 0; t < profiles.tables().size(); ++t) {
      if (table >= 0 && static_cast<int>(t) != table) continue;
      const EventTable& events = profiles.table(static_cast<uint16_t>(t));
      for (size_t r = 0; r < events.rows(); ++r) {
        const uint32_t c = events.contact[r];
        if (c == 0 || profiles.contact(c) == nullptr) continue;
        const double at = static_cast<double>(events.time[r]);
        if (last) {
          candidate(c, at);
          candidate(c, at + static_cast<double>(s->window.duration) + 1);
        }
        for (double k : offsets) {
          candidate(c, at - k);
          candidate(c, at - k + 1);
        }
      }
    }
  }
  return out;
}

std::vector<Value> OverallValues(const Plan& plan, const ProfileTable& profiles, Millis now) {
  std::vector<Value> out;
  for (const Node* aggregate : plan.overall_aggregates()) {
    out.push_back(OverallValue(*aggregate, plan, profiles, now));
  }
  return out;
}

}  // namespace segmenta
