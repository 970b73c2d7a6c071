#include "eval/batch.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>
#include <optional>

#include "eval/aggregate_accumulators.h"
#include "eval/number_range.h"
#include "eval/row_bits.h"

namespace segmenta {
namespace {

constexpr Millis kMinTime = std::numeric_limits<Millis>::min();
constexpr Millis kMaxTime = std::numeric_limits<Millis>::max();

// Where a node is evaluated: over contacts, over accounts, or over the rows of one event
// table; and, when `rows` is set, only on those rows (the rest read false): how `and`
// evaluates each operand only where the ones before it hold.
struct Domain {
  enum class Kind { kContacts, kAccounts, kEvents };
  Kind kind = Kind::kContacts;
  size_t size = 0;
  const EventTable* table = nullptr;
  const RowBits* rows = nullptr;
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
  // The same numbers when most rows hold one value (tests then visit only the others).
  std::shared_ptr<const SparseNumbers> sparse;

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
    if (entry->values.sparse) bytes += entry->values.sparse->rows.size() * 12;
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
    alive_ = std::make_unique<RowBits>(contacts_.size, p.alive_words());
  }

  const Domain& contacts() const { return contacts_; }
  const RowBits& alive() const { return *alive_; }

  // The rows of `d` where `n` holds (only among d.rows when set).
  RowBits Bool(const Node& n, const Domain& d) {
    switch (n.kind) {
      case NodeKind::kAnd: {
        // Each operand only where the ones before it hold.
        RowBits out = Bool(*n.children[0], d);
        for (size_t i = 1; i < n.children.size() && out.any(); ++i) {
          Domain rest = d;
          rest.rows = &out;
          out = Bool(*n.children[i], rest);
        }
        return out;
      }
      case NodeKind::kOr: {
        // Each operand only where none before it holds.
        RowBits out = Bool(*n.children[0], d);
        for (size_t i = 1; i < n.children.size(); ++i) {
          RowBits open = d.rows != nullptr ? *d.rows : RowBits(d.size, true);
          if (d.kind == Domain::Kind::kContacts) open.And(*alive_);
          open.AndNot(out);
          if (!open.any()) break;
          Domain rest = d;
          rest.rows = &open;
          out.Or(Bool(*n.children[i], rest));
        }
        return out;
      }
      case NodeKind::kNot: {
        RowBits out = Bool(*n.children[0], d);
        out.Not();
        Within(d, out);
        return out;
      }
      case NodeKind::kCompare: {
        Vec l = Value(*n.children[0], d);
        Vec r = Value(*n.children[1], d);
        auto holds = [&](const Scalar& a, const Scalar& b) {
          if (n.op == Op::kMatches) {
            return a.type == ValueType::kString && RE2::PartialMatch(a.str, plan_.regex(n.slot));
          }
          return Compare(n.op, a, b);
        };
        if (r.kind == Vec::Kind::kConst) {
          const Scalar c = r.constant;
          std::optional<NumberRange> range;
          if (n.op != Op::kMatches) range = RangeOfComparison(n.op, c);
          auto fast = ByValue(
              l, d, [&](const Scalar& a) { return holds(a, c); }, range ? &*range : nullptr);
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
          std::optional<NumberRange> range = RangeOfBetween(lo.constant, hi.constant);
          auto fast = ByValue(
              x, d,
              [&](const Scalar& a) {
                return Compare(Op::kGe, a, lo.constant) && Compare(Op::kLe, a, hi.constant);
              },
              range ? &*range : nullptr);
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
        const NumberRange range = RangeOfTimeTest(n.time_test, n.duration, now);
        if (auto fast = ByValue(x, d, test, &range)) return *std::move(fast);
        return Rows(d, [&](size_t i) { return test(x.at(i)); });
      }
      case NodeKind::kDid: {
        if (n.selector2) {
          // Sequences follow each contact's events in order: one contact at a time.
          return OnContacts(d, [&](ContactId c) { return MatchesNode(plan_, n, p_, c, env_); });
        }
        Vec count = ToDomain(Aggregate(n, Aggregate::kCount), d);
        const Op op = n.negated ? Op::kEq : Op::kGt;
        const Scalar zero = Scalar::Number(0);
        const std::optional<NumberRange> range = RangeOfComparison(op, zero);
        auto test = [&](const Scalar& v) { return Compare(op, v, zero); };
        if (auto fast = ByValue(count, d, test, &*range)) return *std::move(fast);
        return Rows(d, [&](size_t i) { return test(count.at(i)); });
      }
      case NodeKind::kAnyAccount: {
        RowBits accounts = Bool(*n.children[0], accounts_);
        if (d.kind == Domain::Kind::kContacts) {
          // From the matching accounts to their contacts.
          RowBits any(contacts_.size);
          accounts.ForEach([&](size_t a) {
            for (uint32_t c : p_.account(static_cast<uint32_t>(a)).contacts) {
              if (c < contacts_.size) any.set(c);
            }
          });
          if (n.negated) any.Not();
          Within(d, any);
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
        RowBits in(contacts_.size);
        if (members != nullptr) in.SetAll(*members);
        if (n.negated) in.Not();
        in.And(*alive_);
        if (d.kind == Domain::Kind::kContacts) {
          Within(d, in);
          return in;
        }
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
      case NodeKind::kComputed:
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
        RowBits bits = Bool(n, d);
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
  // per distinct string, once per boolean, and on numbers and times through `range` when
  // given (the same test as a range); for aggregate results, on the numbers.
  // Nullopt when `v` is not a column or numbers read row by row (the general path).
  template <typename F>
  std::optional<RowBits> ByValue(const Vec& v, const Domain& d, const F& test,
                                 const NumberRange* range = nullptr) {
    if (v.remap != nullptr) return std::nullopt;
    const bool null_passes = test(Scalar());
    if (v.kind == Vec::Kind::kColumn) {
      const Column* c = v.column;
      if (c == nullptr) return Rows(d, [&](size_t) { return null_passes; });
      std::vector<uint8_t> by_string(c->dictionary_size());
      size_t strings_passing = 0;
      for (uint32_t id = 0; id < by_string.size(); ++id) {
        by_string[id] = test(DictionaryScalar(c, id));
        strings_passing += by_string[id];
      }
      // When every string gets the same answer, string rows need not be read one by one.
      const bool every_string = strings_passing == by_string.size();
      const bool no_string = strings_passing == 0;
      const bool by_bool[2] = {test(Scalar::Bool(false)), test(Scalar::Bool(true))};
      const bool numbers = range != nullptr && range->type == ValueType::kNumber;
      const bool times = range != nullptr && range->type == ValueType::kTime;
      const ValueType* types = c->type_data();
      const uint64_t* bits = c->bits_data();
      const uint16_t* narrow = c->narrow_id_data();
      const size_t n = c->size();
      auto row = [&](size_t i) -> bool {
        if (i >= n) return null_passes;
        const uint64_t b = bits[i];
        switch (types[i]) {
          case ValueType::kNull:
            return null_passes;
          case ValueType::kString:
            return by_string[b] != 0;
          case ValueType::kBool:
            return by_bool[b != 0];
          case ValueType::kNumber:
            if (numbers) return range->Holds(std::bit_cast<double>(b));
            break;
          case ValueType::kTime:
            if (times) return range->Holds(static_cast<double>(static_cast<Millis>(b)));
            break;
          default:
            break;
        }
        return test(ScalarOf(c, i));
      };
      // 64 rows at a time: the rows of each type found at once, nulls and numbers answered
      // as a whole word, strings by their dictionary entry, the rest row by row.
      return Words(d, [&](size_t base, uint64_t wanted) {
        if (base + 64 > n || std::popcount(wanted) < kFewRows) {
          return RowsOfWord(base, wanted, d.size, row);
        }
        const ValueType* t = types + base;
        const uint64_t nulls = TypeWord(t, ValueType::kNull);
        const uint64_t strings = TypeWord(t, ValueType::kString);
        uint64_t out = null_passes ? nulls : 0;
        uint64_t rest = wanted & ~(nulls | strings);
        // The wanted string rows by their dictionary ids (16 or 64 bits a row).
        auto by_ids = [&](const auto* ids) {
          for (uint64_t m = strings & wanted; m != 0; m &= m - 1) {
            const int k = std::countr_zero(m);
            out |= static_cast<uint64_t>(by_string[ids[base + k]]) << k;
          }
        };
        if (every_string) {
          out |= strings;
        } else if (!no_string && narrow != nullptr) {
          by_ids(narrow);
        } else if (!no_string) {
          by_ids(bits);
        }
        const uint64_t bools = rest != 0 ? TypeWord(t, ValueType::kBool) & rest : 0;
        if (bools != 0) {
          const uint64_t truth = NonZeroWord(bits + base);
          out |= bools & ((by_bool[1] ? truth : 0) | (by_bool[0] ? ~truth : 0));
          rest &= ~bools;
        }
        if (numbers && rest != 0) {
          const uint64_t number_rows = TypeWord(t, ValueType::kNumber);
          if ((number_rows & rest) != 0) {
            uint64_t nan;
            const uint64_t in = InRangeWord(reinterpret_cast<const double*>(bits + base), *range,
                                            &nan);  // a number's bits are its double
            out |= number_rows & (range->negated ? ~in : in);
            rest &= ~number_rows;
          }
        }
        return out | RowsOfWord(base, rest, d.size, row);
      });
    }
    if (v.kind == Vec::Kind::kNumbers) {
      const std::vector<double>& numbers = *v.numbers;
      const bool time = v.number_type == ValueType::kTime;
      const size_t n = numbers.size();
      auto row = [&](size_t i) -> bool {
        const double x = i < n ? numbers[i] : std::numeric_limits<double>::quiet_NaN();
        if (std::isnan(x)) return null_passes;
        if (range != nullptr && range->type == v.number_type) return range->Holds(x);
        return test(time ? Scalar::Time(static_cast<Millis>(x)) : Scalar::Number(x));
      };
      if (range == nullptr || range->type != v.number_type) return Rows(d, row);
      if (v.sparse != nullptr && n == d.size) {
        // The fill's answer for every row, then the rows that differ.
        auto verdict = [&](double x) { return std::isnan(x) ? null_passes : range->Holds(x); };
        const bool fill = verdict(v.sparse->fill);
        RowBits out(d.size, fill);
        const std::vector<uint32_t>& rows = v.sparse->rows;
        const std::vector<double>& values = v.sparse->values;
        for (size_t k = 0; k < rows.size(); ++k) {
          if (verdict(values[k]) == fill) continue;
          if (fill) {
            out.clear(rows[k]);
          } else {
            out.set(rows[k]);
          }
        }
        Within(d, out);
        return out;
      }
      return Words(d, [&](size_t base, uint64_t wanted) {
        if (base + 64 > n || std::popcount(wanted) < kFewRows) {
          return RowsOfWord(base, wanted, d.size, row);
        }
        uint64_t nan;
        uint64_t in = InRangeWord(numbers.data() + base, *range, &nan);
        if (range->negated) in = ~in;
        return (in & ~nan) | (null_passes ? nan : 0);
      });
    }
    return std::nullopt;
  }

  // Keeps only the rows of `bits` the domain evaluates: its `rows`, and over contacts the
  // live ones.
  void Within(const Domain& d, RowBits& bits) const {
    if (d.rows != nullptr) bits.And(*d.rows);
    if (d.kind == Domain::Kind::kContacts) bits.And(*alive_);
  }

  // The rows of the domain (of d.rows when set) by word: `word(base, wanted)` gives the
  // bits of rows base .. base+63 (only those in `wanted` matter). Over contacts, dead rows
  // are masked off.
  template <typename F>
  RowBits Words(const Domain& d, F&& word) {
    RowBits out(d.size);
    for (size_t w = 0; w < out.words(); ++w) {
      const uint64_t wanted = d.rows != nullptr ? d.rows->word(w) : ~uint64_t{0};
      if (wanted == 0) continue;
      out.set_word(w, word(w * 64, wanted) & wanted);
    }
    if (d.kind == Domain::Kind::kContacts) out.And(*alive_);
    return out;
  }

  // Below this many rows wanted in a word, the rows are tested one by one (a word at a time
  // reads all 64).
  static constexpr int kFewRows = 8;

  // `test` on every row of the domain (of d.rows when set); over contacts, dead rows are
  // tested too (their values read as missing) and masked off.
  template <typename F>
  RowBits Rows(const Domain& d, F&& test) {
    return Words(
        d, [&](size_t base, uint64_t wanted) { return RowsOfWord(base, wanted, d.size, test); });
  }

  // A per-contact test, mapped onto the domain (events read their contact's result).
  template <typename F>
  RowBits OnContacts(const Domain& d, F&& test) {
    RowBits per_contact(contacts_.size);
    auto one = [&](size_t c) {
      if (test(static_cast<ContactId>(c))) per_contact.set(c);
    };
    if (d.kind == Domain::Kind::kContacts && d.rows != nullptr) {
      RowBits candidates = *d.rows;
      candidates.And(*alive_);
      candidates.ForEach(one);
      return per_contact;
    }
    alive_->ForEach(one);
    if (d.kind == Domain::Kind::kContacts) return per_contact;
    RowBits out(d.size);
    if (d.kind == Domain::Kind::kEvents) {
      for (size_t i = 0; i < d.size; ++i) {
        uint32_t c = d.table->contact[i];
        if (c != 0 && per_contact.get(c)) out.set(i);
      }
    }
    Within(d, out);
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
      Node probe;
      probe.kind = NodeKind::kAggregate;
      probe.aggregate = agg;
      probe.selector = std::unique_ptr<Selector>(const_cast<Selector*>(&s));
      key = NodeToText(probe);
      probe.selector.release();
      if (WindowUsesNow(s)) {
        key.push_back('@');
        key += std::to_string(env_.now);
      }
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
    AggregateAccumulators acc(agg, slots);
    const bool numeric = acc.numeric();
    const bool ordered = acc.ordered();

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
      std::optional<RowBits> where;
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
          acc.AddNumber(slot, property->number(r));
        } else if (ordered) {
          // The contacts' order of activities: (time, table, row). Tables and rows are
          // visited in increasing order, as AddOrdered wants them.
          acc.AddOrdered(slot, time, (uint64_t{t} << 32) | r);
        } else {
          acc.AddCount(slot);
        }
      }
    }
    Vec out;
    if (ordered && !s.property.empty()) {
      auto values = std::make_shared<std::vector<Scalar>>(slots);
      for (size_t i = 0; i < slots; ++i) {
        if (acc.count(i) == 0 || (per_contact && !alive_->get(i))) continue;
        const uint64_t ref = acc.ref(i);
        (*values)[i] = ScalarOf(p_.table(static_cast<uint16_t>(ref >> 32)).column(s.property),
                                static_cast<uint32_t>(ref));
      }
      out.kind = Vec::Kind::kScalars;
      out.scalars = std::move(values);
      return out;
    }
    auto values =
        std::make_shared<std::vector<double>>(acc.Values(per_contact ? alive_.get() : nullptr));
    out.kind = Vec::Kind::kNumbers;
    if (per_contact) out.sparse = acc.Sparse(*values, *alive_);
    out.numbers = std::move(values);
    out.number_type = AggregateAccumulators::NumberType(agg);
    return out;
  }

  Vec Empty(segmenta::Aggregate agg, size_t slots) {
    Vec out;
    out.kind = Vec::Kind::kNumbers;
    out.numbers =
        std::make_shared<std::vector<double>>(slots, AggregateAccumulators::EmptyValue(agg));
    out.number_type = AggregateAccumulators::NumberType(agg);
    return out;
  }

  const Plan& plan_;
  const ProfileTable& p_;
  const EvalEnv& env_;
  AggregateCache* cache_;
  Domain contacts_;
  Domain accounts_;
  std::unique_ptr<RowBits> alive_;
};

Roaring EvaluateAll(const Plan& plan, const ProfileTable& profiles, const EvalEnv& env,
                    AggregateCache* cache, const std::function<void(double)>& progress) {
  BatchEvaluator eval(plan, profiles, env, cache);
  if (progress) progress(0.0);
  RowBits members = eval.Bool(plan.root(), eval.contacts());
  members.And(eval.alive());
  if (progress) progress(0.9);
  Roaring out = members.ToRoaring();
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
