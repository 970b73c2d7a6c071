#include "eval/batch.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace segmenta {
namespace {

constexpr Millis kMinTime = std::numeric_limits<Millis>::min();
constexpr Millis kMaxTime = std::numeric_limits<Millis>::max();

// A dense bitset over the rows of a domain.
class Bits {
 public:
  explicit Bits(size_t n, bool value = false)
      : n_(n), words_((n + 63) / 64, value ? ~uint64_t{0} : 0) {
    Trim();
  }
  Bits(size_t n, const std::vector<uint64_t>& words) : n_(n), words_((n + 63) / 64, 0) {
    std::copy_n(words.begin(), std::min(words.size(), words_.size()), words_.begin());
    Trim();
  }
  size_t size() const { return n_; }
  bool get(size_t i) const { return (words_[i >> 6] >> (i & 63)) & 1; }
  void set(size_t i) { words_[i >> 6] |= uint64_t{1} << (i & 63); }
  void set_word(size_t w, uint64_t bits) { words_[w] = bits; }
  void And(const Bits& o) {
    for (size_t i = 0; i < words_.size(); ++i) words_[i] &= o.words_[i];
  }
  void Or(const Bits& o) {
    for (size_t i = 0; i < words_.size(); ++i) words_[i] |= o.words_[i];
  }
  void Not() {
    for (uint64_t& w : words_) w = ~w;
    Trim();
  }
  bool any() const {
    for (uint64_t w : words_) {
      if (w) return true;
    }
    return false;
  }
  template <typename F>
  void ForEach(F&& f) const {
    for (size_t i = 0; i < words_.size(); ++i) {
      for (uint64_t w = words_[i]; w != 0; w &= w - 1) f(i * 64 + __builtin_ctzll(w));
    }
  }

 private:
  void Trim() {
    if (n_ % 64 != 0 && !words_.empty()) words_.back() &= (uint64_t{1} << (n_ % 64)) - 1;
  }
  size_t n_;
  std::vector<uint64_t> words_;
};

// Where a node is evaluated: over contacts, over accounts, or over the rows of one event
// table.
struct Domain {
  enum class Kind { kContacts, kAccounts, kEvents };
  Kind kind = Kind::kContacts;
  size_t size = 0;
  const EventTable* table = nullptr;
};

// Values over the rows of a domain.
struct Vec {
  enum class Kind { kConst, kColumn, kScalars, kNumbers };
  Kind kind = Kind::kConst;
  Scalar constant;
  const Column* column = nullptr;
  // Row i of the domain reads row (*remap)[i] of the column or vector (events reading
  // a contact's values).
  const std::vector<uint32_t>* remap = nullptr;
  std::shared_ptr<const std::vector<Scalar>> scalars;
  // Numbers or times (as milliseconds), NaN for null: what aggregates produce.
  std::shared_ptr<const std::vector<double>> numbers;
  ValueType number_type = ValueType::kNumber;

  Scalar at(size_t i) const {
    size_t row = remap != nullptr ? (*remap)[i] : i;
    switch (kind) {
      case Kind::kConst:
        return constant;
      case Kind::kColumn:
        return ScalarOf(column, row);
      case Kind::kScalars:
        return row < scalars->size() ? (*scalars)[row] : Scalar();
      case Kind::kNumbers: {
        if (row >= numbers->size()) return Scalar();
        double v = (*numbers)[row];
        if (std::isnan(v)) return Scalar();
        return number_type == ValueType::kTime ? Scalar::Time(static_cast<Millis>(v))
                                               : Scalar::Number(v);
      }
    }
    return Scalar();
  }
};

}  // namespace

struct AggregateCache::Entry {
  Vec values;  // per contact
};

size_t AggregateCache::MemoryBytes() const {
  size_t bytes = 0;
  for (const auto& [key, entry] : entries_) {
    bytes += key.size();
    if (entry->values.numbers) bytes += entry->values.numbers->size() * sizeof(double);
    if (entry->values.scalars) bytes += entry->values.scalars->size() * sizeof(Scalar);
  }
  return bytes;
}

class BatchEvaluator {
 public:
  BatchEvaluator(const Plan& plan, const ProfileTable& p, const EvalEnv& env, AggregateCache* cache)
      : plan_(plan), p_(p), env_(env), cache_(cache) {
    contacts_.kind = Domain::Kind::kContacts;
    contacts_.size = p.contact_rows();
    accounts_.kind = Domain::Kind::kAccounts;
    accounts_.size = p.account_rows();
    alive_ = std::make_unique<Bits>(contacts_.size, p.alive_words());
  }

  const Domain& contacts() const { return contacts_; }
  const Bits& alive() const { return *alive_; }

  Bits Bool(const Node& n, const Domain& d) {
    switch (n.kind) {
      case NodeKind::kAnd: {
        Bits out = Bool(*n.children[0], d);
        for (size_t i = 1; i < n.children.size(); ++i) out.And(Bool(*n.children[i], d));
        return out;
      }
      case NodeKind::kOr: {
        Bits out = Bool(*n.children[0], d);
        for (size_t i = 1; i < n.children.size(); ++i) out.Or(Bool(*n.children[i], d));
        return out;
      }
      case NodeKind::kNot: {
        Bits out = Bool(*n.children[0], d);
        out.Not();
        return out;
      }
      case NodeKind::kCompare: {
        Vec l = Value(*n.children[0], d);
        Vec r = Value(*n.children[1], d);
        if (auto fast = NumbersAgainstConstant(n.op, l, r, d)) return *std::move(fast);
        auto holds = [&](const Scalar& a, const Scalar& b) {
          if (n.op == Op::kMatches) {
            return a.type == ValueType::kString && RE2::PartialMatch(a.str, plan_.regex(n.slot));
          }
          return Compare(n.op, a, b);
        };
        if (r.kind == Vec::Kind::kConst) {
          const Scalar c = r.constant;
          auto fast = ByValue(l, d, [&](const Scalar& a) { return holds(a, c); });
          if (fast) return *std::move(fast);
        }
        return Rows(d, [&](size_t i) { return holds(l.at(i), r.at(i)); });
      }
      case NodeKind::kIn: {
        Vec x = Value(*n.children[0], d);
        std::vector<Scalar> list;
        for (const segmenta::Value& v : n.list) list.push_back(ScalarOf(v));
        auto in_list = [&](const Scalar& a) {
          if (a.is_null()) return false;
          bool found = false;
          for (const Scalar& v : list) {
            if (Compare(Op::kEq, a, v)) {
              found = true;
              break;
            }
          }
          return found != n.negated;
        };
        if (auto fast = ByValue(x, d, in_list)) return *std::move(fast);
        return Rows(d, [&](size_t i) { return in_list(x.at(i)); });
      }
      case NodeKind::kBetween: {
        Vec x = Value(*n.children[0], d);
        Vec lo = Value(*n.children[1], d);
        Vec hi = Value(*n.children[2], d);
        if (lo.kind == Vec::Kind::kConst && hi.kind == Vec::Kind::kConst) {
          auto fast = ByValue(x, d, [&](const Scalar& a) {
            return Compare(Op::kGe, a, lo.constant) && Compare(Op::kLe, a, hi.constant);
          });
          if (fast) return *std::move(fast);
        }
        return Rows(d, [&](size_t i) {
          Scalar a = x.at(i);
          return Compare(Op::kGe, a, lo.at(i)) && Compare(Op::kLe, a, hi.at(i));
        });
      }
      case NodeKind::kIsNull: {
        Vec x = Value(*n.children[0], d);
        auto test = [&](const Scalar& a) { return a.is_null() != n.negated; };
        if (auto fast = ByValue(x, d, test)) return *std::move(fast);
        return Rows(d, [&](size_t i) { return test(x.at(i)); });
      }
      case NodeKind::kTimeTest: {
        Vec x = Value(*n.children[0], d);
        const Millis now = env_.now;
        auto test = [&](const Scalar& a) {
          Millis t;
          return AsTime(a, &t) && PassesTimeTest(n.time_test, n.duration, t, now);
        };
        if (auto fast = ByValue(x, d, test)) return *std::move(fast);
        return Rows(d, [&](size_t i) { return test(x.at(i)); });
      }
      case NodeKind::kDid: {
        if (n.selector2) {
          // Sequences follow each contact's events in order: one contact at a time.
          return OnContacts(d, [&](ContactId c) { return MatchesNode(plan_, n, p_, c, env_); });
        }
        Vec count = ToDomain(Aggregate(n, Aggregate::kCount), d);
        Vec zero;
        zero.constant = Scalar::Number(0);
        if (auto fast = NumbersAgainstConstant(n.negated ? Op::kEq : Op::kGt, count, zero, d)) {
          return *std::move(fast);
        }
        return Rows(d, [&](size_t i) {
          Scalar v = count.at(i);
          return (v.type == ValueType::kNumber && v.num > 0) != n.negated;
        });
      }
      case NodeKind::kAnyAccount: {
        Bits accounts = Bool(*n.children[0], accounts_);
        if (d.kind == Domain::Kind::kContacts) {
          // From the matching accounts to their contacts.
          Bits any(contacts_.size);
          accounts.ForEach([&](size_t a) {
            for (uint32_t c : p_.account(static_cast<uint32_t>(a)).contacts) {
              if (c < contacts_.size) any.set(c);
            }
          });
          if (n.negated) any.Not();
          any.And(*alive_);
          return any;
        }
        return OnContacts(d, [&](ContactId c) {
          const ContactState* state = p_.contact(c);
          bool any = false;
          for (uint32_t a : state->accounts) {
            if (accounts.get(a)) {
              any = true;
              break;
            }
          }
          return any != n.negated;
        });
      }
      case NodeKind::kInGroup: {
        const Roaring* members = env_.group_members ? env_.group_members(n.name) : nullptr;
        Bits in(contacts_.size);
        if (members != nullptr) {
          for (uint32_t c : *members) {
            if (c < contacts_.size) in.set(c);
          }
        }
        if (n.negated) in.Not();
        in.And(*alive_);
        if (d.kind == Domain::Kind::kContacts) return in;
        return OnContacts(d, [&](ContactId c) { return in.get(c); });
      }
      default: {
        Vec v = Value(n, d);
        return Rows(d, [&](size_t i) {
          Scalar s = v.at(i);
          return s.type == ValueType::kBool && s.b;
        });
      }
    }
  }

  Vec Value(const Node& n, const Domain& d) {
    Vec v;
    switch (n.kind) {
      case NodeKind::kTrait:
        v.kind = Vec::Kind::kColumn;
        v.column = p_.trait(n.name);
        if (d.kind == Domain::Kind::kEvents) v.remap = &d.table->contact;
        if (d.kind == Domain::Kind::kAccounts) return Vec();  // not reachable: checked
        return v;
      case NodeKind::kAccountTrait:
        v.kind = Vec::Kind::kColumn;
        v.column = p_.account_trait(n.name);
        return v;
      case NodeKind::kProperty:
        v.kind = Vec::Kind::kColumn;
        v.column = d.table != nullptr ? d.table->column(n.name) : nullptr;
        return v;
      case NodeKind::kLiteral:
        v.constant = ScalarOf(n.value);
        return v;
      case NodeKind::kNow:
        v.constant = Scalar::Time(env_.now);
        return v;
      case NodeKind::kOverall:
        if (n.slot >= 0 && static_cast<size_t>(n.slot) < env_.overall.size()) {
          v.constant = ScalarOf(env_.overall[n.slot]);
        }
        return v;
      case NodeKind::kArith: {
        Vec l = Value(*n.children[0], d);
        Vec r = Value(*n.children[1], d);
        if (l.kind == Vec::Kind::kConst && r.kind == Vec::Kind::kConst) {
          v.constant = Arith(n.op, l.constant, r.constant);
          return v;
        }
        auto out = std::make_shared<std::vector<Scalar>>(d.size);
        for (size_t i = 0; i < d.size; ++i) (*out)[i] = Arith(n.op, l.at(i), r.at(i));
        v.kind = Vec::Kind::kScalars;
        v.scalars = std::move(out);
        return v;
      }
      case NodeKind::kAggregate:
        return ToDomain(Aggregate(n, n.aggregate), d);
      case NodeKind::kAccountCount: {
        auto out = std::make_shared<std::vector<Scalar>>(contacts_.size);
        alive_->ForEach([&](size_t c) {
          (*out)[c] = Scalar::Number(static_cast<double>(p_.contact(c)->accounts.size()));
        });
        v.kind = Vec::Kind::kScalars;
        v.scalars = std::move(out);
        return ToDomain(v, d);
      }
      case NodeKind::kScore:
      case NodeKind::kPersona:
      case NodeKind::kStage:
      case NodeKind::kVisit: {
        auto out = std::make_shared<std::vector<Scalar>>(contacts_.size);
        if (env_.derived) {
          alive_->ForEach([&](size_t c) { (*out)[c] = env_.derived(n, c); });
        }
        v.kind = Vec::Kind::kScalars;
        v.scalars = std::move(out);
        return ToDomain(v, d);
      }
      default: {
        // A condition used as a value (true/false).
        Bits bits = Bool(n, d);
        auto out = std::make_shared<std::vector<Scalar>>(d.size);
        for (size_t i = 0; i < d.size; ++i) (*out)[i] = Scalar::Bool(bits.get(i));
        v.kind = Vec::Kind::kScalars;
        v.scalars = std::move(out);
        return v;
      }
    }
  }

  // The value of an aggregate over all contacts' events, as one accumulator.
  Scalar Overall(const Node& n) { return Accumulate(n, n.aggregate, /*per_contact=*/false).at(0); }

 private:
  // A test of each row's value `v` (the value alone decides), run fast: for a column, once
  // per distinct string and directly on numbers; for aggregate results, on the numbers.
  // Nullopt when `v` is not a column or numbers read row by row (the general path).
  template <typename F>
  std::optional<Bits> ByValue(const Vec& v, const Domain& d, const F& test) {
    if (v.remap != nullptr) return std::nullopt;
    const bool null_passes = test(Scalar());
    if (v.kind == Vec::Kind::kColumn) {
      const Column* c = v.column;
      if (c == nullptr) return Rows(d, [&](size_t) { return null_passes; });
      std::vector<uint8_t> by_string(c->dictionary_size());
      for (uint32_t id = 0; id < by_string.size(); ++id) {
        by_string[id] = test(DictionaryScalar(c, id));
      }
      return Rows(d, [&](size_t i) {
        switch (c->type(i)) {
          case ValueType::kString:
            return by_string[c->string_id(i)] != 0;
          case ValueType::kNull:
            return null_passes;
          default:
            return test(ScalarOf(c, i));
        }
      });
    }
    if (v.kind == Vec::Kind::kNumbers) {
      const std::vector<double>& numbers = *v.numbers;
      const bool time = v.number_type == ValueType::kTime;
      return Rows(d, [&](size_t i) {
        double x = i < numbers.size() ? numbers[i] : std::nan("");
        if (std::isnan(x)) return null_passes;
        return test(time ? Scalar::Time(static_cast<Millis>(x)) : Scalar::Number(x));
      });
    }
    return std::nullopt;
  }

  // `l op c` for numbers against a number constant, in a tight loop.
  std::optional<Bits> NumbersAgainstConstant(Op op, const Vec& l, const Vec& r, const Domain& d) {
    if (l.kind != Vec::Kind::kNumbers || l.remap != nullptr || r.kind != Vec::Kind::kConst) {
      return std::nullopt;
    }
    double c;
    if (l.number_type == ValueType::kNumber && r.constant.type == ValueType::kNumber) {
      c = r.constant.num;
    } else if (l.number_type == ValueType::kTime && r.constant.type == ValueType::kTime) {
      c = static_cast<double>(r.constant.ms);
    } else {
      return std::nullopt;
    }
    switch (op) {
      case Op::kEq:
      case Op::kNe:
      case Op::kLt:
      case Op::kLe:
      case Op::kGt:
      case Op::kGe:
        break;
      default:
        return std::nullopt;
    }
    const std::vector<double>& x = *l.numbers;
    Bits out(d.size);
    const size_t n = std::min(x.size(), d.size);
    for (size_t i = 0; i < n; ++i) {
      // NaN (null) fails every comparison, != included, as Compare does.
      if (!std::isnan(x[i]) && Ordered(op, x[i], c)) out.set(i);
    }
    if (d.kind == Domain::Kind::kContacts) out.And(*alive_);
    return out;
  }

  // `test` on every row of the domain, 64 rows to a word with no branch on the result;
  // over contacts, dead rows are tested too (their values read as missing) and masked off.
  template <typename F>
  Bits Rows(const Domain& d, F&& test) {
    Bits out(d.size);
    for (size_t base = 0; base < d.size; base += 64) {
      const size_t end = std::min<size_t>(64, d.size - base);
      uint64_t word = 0;
      for (size_t k = 0; k < end; ++k) word |= uint64_t{test(base + k) ? 1u : 0u} << k;
      out.set_word(base / 64, word);
    }
    if (d.kind == Domain::Kind::kContacts) out.And(*alive_);
    return out;
  }

  // A per-contact test, mapped onto the domain (events read their contact's result).
  template <typename F>
  Bits OnContacts(const Domain& d, F&& test) {
    Bits per_contact(contacts_.size);
    alive_->ForEach([&](size_t c) {
      if (test(static_cast<ContactId>(c))) per_contact.set(c);
    });
    if (d.kind == Domain::Kind::kContacts) return per_contact;
    Bits out(d.size);
    if (d.kind == Domain::Kind::kEvents) {
      for (size_t i = 0; i < d.size; ++i) {
        uint32_t c = d.table->contact[i];
        if (c != 0 && per_contact.get(c)) out.set(i);
      }
    }
    return out;
  }

  // A per-contact vector mapped onto the domain.
  Vec ToDomain(Vec per_contact, const Domain& d) {
    if (d.kind == Domain::Kind::kEvents) per_contact.remap = &d.table->contact;
    return per_contact;
  }

  // The aggregate `agg` of a node's selector, per contact (cached).
  Vec Aggregate(const Node& n, segmenta::Aggregate agg) {
    const Selector& s = *n.selector;
    std::string key;
    if (cache_ != nullptr) {
      key = std::string(AggregateName(agg)) + "(";
      Node probe;
      probe.kind = NodeKind::kAggregate;
      probe.aggregate = agg;
      probe.selector = std::unique_ptr<Selector>(const_cast<Selector*>(&s));
      key = NodeToText(probe);
      probe.selector.release();
      if (WindowUsesNow(s)) key += "@" + std::to_string(env_.now);
      auto it = cache_->entries_.find(key);
      if (it != cache_->entries_.end()) return it->second->values;
    }
    Vec values = Accumulate(n, agg, /*per_contact=*/true);
    if (cache_ != nullptr) {
      auto entry = std::make_shared<AggregateCache::Entry>();
      entry->values = values;
      cache_->entries_[key] = std::move(entry);
    }
    return values;
  }

  static bool WindowUsesNow(const Selector& s) {
    if (s.window.kind == Window::Kind::kLast) return true;
    auto uses = [](const Node* n, auto&& self) -> bool {
      if (n == nullptr) return false;
      if (n->kind == NodeKind::kNow || n->kind == NodeKind::kTimeTest) return true;
      for (const NodePtr& c : n->children) {
        if (self(c.get(), self)) return true;
      }
      if (n->selector &&
          (n->selector->window.kind == Window::Kind::kLast ||
           self(n->selector->window.from.get(), self) || self(n->selector->window.to.get(), self) ||
           self(n->selector->where.get(), self))) {
        return true;
      }
      return false;
    };
    return uses(s.window.from.get(), uses) || uses(s.window.to.get(), uses) ||
           uses(s.where.get(), uses);
  }

  // Scans the selector's tables once and folds each selected event into its contact's
  // accumulator (or into one accumulator for all contacts).
  Vec Accumulate(const Node& n, segmenta::Aggregate agg, bool per_contact) {
    const Selector& s = *n.selector;
    const size_t slots = per_contact ? contacts_.size : 1;
    // Accumulators as separate arrays, filled only as the aggregate needs them: the loop
    // touches one small array per contact (random access over contacts is the cost).
    const bool numeric = agg == Aggregate::kSum || agg == Aggregate::kAvg ||
                         agg == Aggregate::kMin || agg == Aggregate::kMax;
    const bool ordered = agg == Aggregate::kFirst || agg == Aggregate::kLast;
    std::vector<uint32_t> counts(slots, 0);
    std::vector<double> sums(agg == Aggregate::kSum || agg == Aggregate::kAvg ? slots : 0, 0.0);
    std::vector<double> extremes(agg == Aggregate::kMin || agg == Aggregate::kMax ? slots : 0, 0.0);
    std::vector<Millis> times(ordered ? slots : 0, 0);
    std::vector<uint64_t> refs(ordered ? slots : 0, 0);  // table << 32 | row

    // Window bounds: constant, or per contact.
    Millis lo = kMinTime, hi = kMaxTime;
    Vec from, to;
    bool from_per_contact = false, to_per_contact = false;
    switch (s.window.kind) {
      case Window::Kind::kNone:
        break;
      case Window::Kind::kLast:
        lo = env_.now - s.window.duration;
        hi = env_.now;
        break;
      case Window::Kind::kSince:
      case Window::Kind::kBetween:
        from = Value(*s.window.from, contacts_);
        from_per_contact = from.kind != Vec::Kind::kConst;
        if (!from_per_contact) {
          Millis t;
          if (!AsTime(from.constant, &t)) return Empty(agg, slots);
          lo = s.window.kind == Window::Kind::kSince ? t + 1 : t;
        }
        if (s.window.kind == Window::Kind::kSince) break;
        [[fallthrough]];
      case Window::Kind::kBefore:
        to = Value(*s.window.to, contacts_);
        to_per_contact = to.kind != Vec::Kind::kConst;
        if (!to_per_contact) {
          Millis t;
          if (!AsTime(to.constant, &t)) return Empty(agg, slots);
          hi = s.window.kind == Window::Kind::kBefore ? t - 1 : t;
        }
        break;
    }
    // Per-contact bounds are read once per contact, lazily.
    std::vector<Millis> lo_of, hi_of;
    if (from_per_contact || to_per_contact) {
      lo_of.assign(contacts_.size, lo);
      hi_of.assign(contacts_.size, hi);
      alive_->ForEach([&](size_t c) {
        Millis t;
        if (from_per_contact) {
          if (AsTime(from.at(c), &t)) {
            lo_of[c] = s.window.kind == Window::Kind::kSince ? t + 1 : t;
          } else {
            lo_of[c] = kMaxTime, hi_of[c] = kMinTime;  // selects nothing
            return;
          }
        }
        if (to_per_contact) {
          if (AsTime(to.at(c), &t)) {
            hi_of[c] = s.window.kind == Window::Kind::kBefore ? t - 1 : t;
          } else {
            lo_of[c] = kMaxTime, hi_of[c] = kMinTime;
          }
        }
      });
    }

    std::vector<uint16_t> tables;
    int table = SelectorTable(p_, s);
    if (table == -2) {
      for (size_t t = 0; t < p_.tables().size(); ++t) tables.push_back(static_cast<uint16_t>(t));
    } else if (table >= 0) {
      tables.push_back(static_cast<uint16_t>(table));
    }
    for (uint16_t t : tables) {
      const EventTable& et = p_.table(t);
      Domain events{Domain::Kind::kEvents, et.rows(), &et};
      std::optional<Bits> where;
      if (s.where) where.emplace(Bool(*s.where, events));
      const Column* property = s.property.empty() ? nullptr : et.column(s.property);
      if (numeric && property == nullptr) continue;
      const uint32_t* contact = et.contact.data();
      const Millis* time_of = et.time.data();
      const size_t rows = et.rows();
      const bool per_contact_bounds = !lo_of.empty();
      for (size_t r = 0; r < rows; ++r) {
        const uint32_t c = contact[r];
        if (c == 0) continue;
        const Millis time = time_of[r];
        if (per_contact_bounds) {
          if (time < lo_of[c] || time > hi_of[c]) continue;
        } else if (time < lo || time > hi) {
          continue;
        }
        if (where && !where->get(r)) continue;
        if (!alive_->get(c)) continue;
        const size_t slot = per_contact ? c : 0;
        if (numeric) {
          if (property->type(r) != ValueType::kNumber) continue;
          const double v = property->number(r);
          if (agg == Aggregate::kMin) {
            extremes[slot] = counts[slot] == 0 ? v : std::min(extremes[slot], v);
          } else if (agg == Aggregate::kMax) {
            extremes[slot] = counts[slot] == 0 ? v : std::max(extremes[slot], v);
          } else {
            sums[slot] += v;
          }
        } else if (ordered) {
          // The contacts' order of activities: (time, table, row). Tables and rows are
          // visited in increasing order, so ties keep the first / take the last.
          if (counts[slot] == 0 ||
              (agg == Aggregate::kFirst ? time < times[slot] : time >= times[slot])) {
            times[slot] = time;
            refs[slot] = (uint64_t{t} << 32) | r;
          }
        }
        ++counts[slot];
      }
    }
    Vec out;
    if (ordered && !s.property.empty()) {
      auto values = std::make_shared<std::vector<Scalar>>(slots);
      for (size_t i = 0; i < slots; ++i) {
        if (counts[i] == 0 || (per_contact && !alive_->get(i))) continue;
        (*values)[i] = ScalarOf(p_.table(static_cast<uint16_t>(refs[i] >> 32)).column(s.property),
                                static_cast<uint32_t>(refs[i]));
      }
      out.kind = Vec::Kind::kScalars;
      out.scalars = std::move(values);
      return out;
    }
    auto values = std::make_shared<std::vector<double>>(slots, std::nan(""));
    for (size_t i = 0; i < slots; ++i) {
      if (per_contact && !alive_->get(i)) continue;
      const uint32_t count = counts[i];
      double& v = (*values)[i];
      switch (agg) {
        case Aggregate::kCount:
          v = static_cast<double>(count);
          break;
        case Aggregate::kSum:
          if (count) v = sums[i];
          break;
        case Aggregate::kAvg:
          if (count) v = sums[i] / static_cast<double>(count);
          break;
        case Aggregate::kMin:
        case Aggregate::kMax:
          if (count) v = extremes[i];
          break;
        case Aggregate::kFirst:
        case Aggregate::kLast:
          if (count) v = static_cast<double>(times[i]);
          break;
      }
    }
    out.kind = Vec::Kind::kNumbers;
    out.numbers = std::move(values);
    out.number_type = ordered ? ValueType::kTime : ValueType::kNumber;
    return out;
  }

  Vec Empty(segmenta::Aggregate agg, size_t slots) {
    Vec out;
    out.kind = Vec::Kind::kNumbers;
    out.numbers =
        std::make_shared<std::vector<double>>(slots, agg == Aggregate::kCount ? 0.0 : std::nan(""));
    out.number_type =
        agg == Aggregate::kFirst || agg == Aggregate::kLast ? ValueType::kTime : ValueType::kNumber;
    return out;
  }

  const Plan& plan_;
  const ProfileTable& p_;
  const EvalEnv& env_;
  AggregateCache* cache_;
  Domain contacts_;
  Domain accounts_;
  std::unique_ptr<Bits> alive_;
};

Roaring EvaluateAll(const Plan& plan, const ProfileTable& profiles, const EvalEnv& env,
                    AggregateCache* cache, const std::function<void(double)>& progress) {
  BatchEvaluator eval(plan, profiles, env, cache);
  if (progress) progress(0.0);
  Bits members = eval.Bool(plan.root(), eval.contacts());
  members.And(eval.alive());
  if (progress) progress(0.9);
  Roaring out;
  std::vector<uint32_t> ids;
  members.ForEach([&](size_t c) { ids.push_back(static_cast<uint32_t>(c)); });
  out.addMany(ids.size(), ids.data());
  out.runOptimize();
  if (progress) progress(1.0);
  return out;
}

std::vector<double> NumbersAll(const Plan& plan, const Node& node, const ProfileTable& profiles,
                               const EvalEnv& env, AggregateCache* cache) {
  BatchEvaluator eval(plan, profiles, env, cache);
  Vec v = eval.Value(node, eval.contacts());
  std::vector<double> out(profiles.contact_rows(), std::numeric_limits<double>::quiet_NaN());
  eval.alive().ForEach([&](size_t c) {
    Scalar s = v.at(c);
    if (s.type == ValueType::kNumber) out[c] = s.num;
  });
  return out;
}

Value OverallValue(const Node& aggregate, const Plan& plan, const ProfileTable& profiles,
                   Millis now) {
  EvalEnv env;
  env.now = now;
  BatchEvaluator eval(plan, profiles, env, nullptr);
  Scalar s = eval.Overall(aggregate);
  switch (s.type) {
    case ValueType::kNull:
      return Value::Null();
    case ValueType::kBool:
      return Value::Bool(s.b);
    case ValueType::kNumber:
      return Value::Number(s.num);
    case ValueType::kString:
      return Value::String(std::string(s.str));
    case ValueType::kTime:
      return Value::Time(s.ms);
    case ValueType::kDuration:
      return Value::Duration(s.ms);
  }
  return Value::Null();
}

}  // namespace segmenta
