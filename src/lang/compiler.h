// Type-checks a condition against what the data holds and compiles it into a Plan that the
// evaluators run.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "lang/ast.h"
#include "lang/computed.h"
#include "re2/re2.h"

namespace segmenta {

// The types a name has been seen holding (a bit per ValueType).
using TypeSet = uint8_t;
inline TypeSet TypeBit(ValueType t) { return static_cast<TypeSet>(1u << static_cast<int>(t)); }

// What conditions may refer to: the names seen in the data, and the definitions of the
// audience engine (contact groups, and the nodes that publish computed values).
struct Schema {
  absl::flat_hash_map<std::string, TypeSet> traits;
  absl::flat_hash_map<std::string, TypeSet> account_traits;
  // Track event names seen.
  absl::flat_hash_set<std::string> events;
  // Properties seen, per event key (a track event's name, or "page", "screen", ...).
  absl::flat_hash_map<std::string, absl::flat_hash_map<std::string, TypeSet>> properties;
  // The definitions conditions may depend on, by key, each with the keys it depends on in
  // turn (for refusing cycles): contact groups by name; computed values by
  // ComputedKey(word, name), e.g. scores and personas' scores as "score:NAME", the persona
  // assignment as "persona:", lifecycle stages as "stage:". A plan's definitions() lists
  // the same keys. The names a computed kind has now are the names of its keys here.
  absl::flat_hash_map<std::string, std::vector<std::string>> definitions;
  // The kinds of computed values conditions may read (score("…"), persona, stage...).
  // Default: ComputedKinds::BuiltIn(). A new kind is registered here, with its keys in
  // `definitions`; the evaluators ask EvalEnv::derived for its values.
  ComputedKinds computed = ComputedKinds::BuiltIn();
  // The hot data of a visit (`visit.page.path`, ...) is readable: experiences only.
  bool visit = false;
};

// The fields of `visit.…` and their types (see docs/conditions.md).
const absl::flat_hash_map<std::string, ValueType>& VisitFields();

// The event key of a selector: its event name for track, else the kind's name ("page").
std::string EventKey(const Selector& selector);

// A compiled condition. Immutable after Compile(); safe to share between threads.
class Plan {
 public:
  // Type-checks `root` (taken over) against `schema`. `self` is the key (as in
  // Schema::definitions) of the definition being compiled, if any: a reference back to it,
  // directly or through other definitions, is a cycle.
  // Errors: InvalidArgument "line:column: reason; hint" (unknown trait with a suggestion,
  // type mismatch, invalid regex, unknown group, computed value or its name, a cycle naming
  // its parts).
  static absl::StatusOr<std::shared_ptr<const Plan>> Compile(NodePtr root, const Schema& schema,
                                                             std::string_view self = {});
  // Parses the text or JSON form (JSON when it starts with '{') and compiles it.
  static absl::StatusOr<std::shared_ptr<const Plan>> CompileText(std::string_view condition,
                                                                 const Schema& schema,
                                                                 std::string_view self = {});

  const Node& root() const { return *root_; }

  // What the condition reads, so that only the changes that matter re-evaluate it.
  const std::vector<std::string>& traits() const { return traits_; }
  // Event keys read by aggregates and `did` ("Order Completed", "page"); "*" for `any`.
  const std::vector<std::string>& event_keys() const { return event_keys_; }
  // Keys of the definitions read (Schema::definitions): groups, computed values.
  const std::vector<std::string>& definitions() const { return definitions_; }
  bool uses_accounts() const { return uses_accounts_; }
  // True when the value may change with time alone (windows relative to now, `within`,
  // `older than`, `now`).
  bool time_dependent() const { return time_dependent_; }
  // Aggregates under overall(...), each with its slot.
  const std::vector<const Node*>& overall_aggregates() const { return overall_; }

  // The compiled regex of a `matches` node (its slot).
  const RE2& regex(int slot) const { return *regexes_[slot]; }

  // Notes that are not errors ("trait("vip") has not been seen in the data yet").
  const std::vector<std::string>& warnings() const { return warnings_; }

  // The condition as text and as JSON, normalized.
  std::string text() const { return NodeToText(*root_); }
  std::string json() const { return NodeToJson(*root_); }

 private:
  friend class Checker;
  Plan() = default;
  NodePtr root_;
  std::vector<std::string> traits_;
  std::vector<std::string> event_keys_;
  std::vector<std::string> definitions_;
  bool uses_accounts_ = false;
  bool time_dependent_ = false;
  std::vector<const Node*> overall_;
  std::vector<std::unique_ptr<RE2>> regexes_;
  std::vector<std::string> warnings_;
};

}  // namespace segmenta
