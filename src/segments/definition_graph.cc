#include "segments/definition_graph.h"

#include <algorithm>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_join.h"
#include "core/string_view.h"
#include "fmt/format.h"
#include "lang/computed.h"

namespace segmenta {
namespace {

void AddOnce(std::vector<size_t>& list, size_t i) {
  if (list.empty() || list.back() != i) list.push_back(i);
}

}  // namespace

// ---------------------------------------------------------------------------------------
// AffectedNodes

void AffectedNodes::Reset(size_t nodes) {
  cause_of_.assign(nodes, kUnmarked);
  used_ = 0;
}

uint32_t AffectedNodes::AddCause(std::string_view prefix, std::string_view name, bool provisional) {
  // In a string kept from earlier changes when there is one.
  if (used_ == causes_.size()) causes_.emplace_back();
  causes_[used_].assign(prefix).append(name);
  return static_cast<uint32_t>(used_++) | (provisional ? kProvisional : 0);
}

void AffectedNodes::Mark(std::span<const size_t> nodes, std::string_view prefix,
                         std::string_view name, bool provisional) {
  uint32_t cause = kUnmarked;  // added once a node takes it
  for (size_t i : nodes) {
    if (marked(i)) continue;
    if (cause == kUnmarked) cause = AddCause(prefix, name, provisional);
    cause_of_[i] = cause;
  }
}

void AffectedNodes::MarkAll(std::string_view prefix, std::string_view name) {
  uint32_t cause = kUnmarked;
  for (uint32_t& c : cause_of_) {
    if (c != kUnmarked) continue;
    if (cause == kUnmarked) cause = AddCause(prefix, name, false);
    c = cause;
  }
}

void AffectedNodes::MarkDependent(size_t dependent, size_t changed) {
  const uint32_t own = cause_of_[dependent];
  if (own == kUnmarked || (own & kProvisional) != 0) cause_of_[dependent] = cause_of_[changed];
}

size_t AffectedNodes::count() const {
  return static_cast<size_t>(
      std::count_if(cause_of_.begin(), cause_of_.end(), [](uint32_t c) { return c != kUnmarked; }));
}

// ---------------------------------------------------------------------------------------
// ChangeRoutes

void ChangeRoutes::Build(const DefinitionGraph& graph) {
  by_event_.clear();
  by_trait_.clear();
  by_any_event_.clear();
  by_accounts_.clear();
  by_unvalued_contact_.clear();
  for (size_t i = 0; i < graph.size(); ++i) {
    const NodeTriggers triggers = graph.node(i).Triggers();
    for (const std::string& key : triggers.events) {
      AddOnce(key == "*" ? by_any_event_ : by_event_[key], i);
    }
    for (const std::string& trait : triggers.traits) AddOnce(by_trait_[trait], i);
    if (triggers.accounts) by_accounts_.push_back(i);
    if (triggers.unvalued_contacts) by_unvalued_contact_.push_back(i);
  }
}

void ChangeRoutes::Mark(const ContactChange& change, const ProfileTable& profiles,
                        const DefinitionGraph& graph, AffectedNodes* affected) const {
  // In the order of the causes: a node reading a trait and an event that both changed
  // records the trait (an identify carries every trait change).
  for (const std::string& trait : change.traits) {
    if (auto it = by_trait_.find(trait); it != by_trait_.end()) {
      affected->Mark(it->second, "trait: ", trait);
    }
  }
  for (uint16_t t : change.event_tables) {
    const std::string& key = profiles.table(t).key;
    if (auto it = by_event_.find(key); it != by_event_.end()) {
      affected->Mark(it->second, "event: ", key);
    }
  }
  if (!change.event_tables.empty()) {
    affected->Mark(by_any_event_, "event: ", profiles.table(change.event_tables.front()).key);
  }
  if (change.accounts) affected->Mark(by_accounts_, "account");
  for (const size_t& i : by_unvalued_contact_) {
    if (graph.node(i).ComputedValue(change.contact).is_null()) {
      affected->Mark({&i, 1}, kNewContactCause, {}, /*provisional=*/true);
    }
  }
}

// ---------------------------------------------------------------------------------------
// AudienceDirectory

void AudienceDirectory::Build(const DefinitionGraph& graph) {
  all_.clear();
  by_id_.clear();
  by_name_.clear();
  for (size_t i = 0; i < graph.size(); ++i) {
    AudienceNode& node = graph.node(i);
    std::span<Audience> audiences = node.audiences();
    for (size_t a = 0; a < audiences.size(); ++a) {
      by_id_[audiences[a].id] = all_.size();
      by_name_[{audiences[a].kind, audiences[a].name}] = all_.size();
      all_.push_back({&node, a});
    }
  }
}

const AudienceDirectory::Entry* AudienceDirectory::ById(uint32_t id) const {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : &all_[it->second];
}

Audience* AudienceDirectory::Find(AudienceKind kind, std::string_view name) const {
  auto it = by_name_.find(std::pair{kind, std::string(name)});
  return it == by_name_.end() ? nullptr : &all_[it->second].audience();
}

// ---------------------------------------------------------------------------------------
// DefinitionGraph

AudienceNode* DefinitionGraph::Add(std::unique_ptr<AudienceNode> node) {
  AudienceNode* added = node.get();
  nodes_.push_back(std::move(node));
  Rebuild();
  return added;
}

std::unique_ptr<AudienceNode> DefinitionGraph::Replace(const AudienceNode* old,
                                                       std::unique_ptr<AudienceNode> next) {
  for (auto& n : nodes_) {
    if (n.get() == old) {
      std::swap(n, next);
      break;
    }
  }
  Rebuild();
  return next;
}

std::unique_ptr<AudienceNode> DefinitionGraph::Remove(const AudienceNode* node) {
  std::unique_ptr<AudienceNode> removed;
  for (auto it = nodes_.begin(); it != nodes_.end(); ++it) {
    if (it->get() == node) {
      removed = std::move(*it);
      nodes_.erase(it);
      break;
    }
  }
  Rebuild();
  return removed;
}

void DefinitionGraph::Rebuild() {
  for (auto& n : nodes_) n->Link(*this);
  // Topological order: a node after every node it uses; in passes, so that nodes ready
  // together keep the order they had.
  std::vector<std::unique_ptr<AudienceNode>> ordered;
  absl::flat_hash_set<std::string> placed;
  while (ordered.size() < nodes_.size()) {
    const size_t before = ordered.size();
    for (auto& n : nodes_) {
      if (n == nullptr) continue;
      bool ready = true;
      for (const std::string& dep : n->uses()) ready = ready && placed.contains(dep);
      if (!ready) continue;
      placed.insert(n->names().key);
      ordered.push_back(std::move(n));
    }
    if (ordered.size() == before) {
      // Unknown dependencies (a frozen definition): place the rest as they are.
      for (auto& n : nodes_) {
        if (n != nullptr) ordered.push_back(std::move(n));
      }
    }
  }
  nodes_ = std::move(ordered);
  by_key_.clear();
  by_id_.clear();
  for (size_t i = 0; i < nodes_.size(); ++i) {
    by_key_[nodes_[i]->names().key] = i;
    by_id_[nodes_[i]->id()] = i;
  }
  dependents_.assign(nodes_.size(), {});
  for (size_t i = 0; i < nodes_.size(); ++i) {
    for (const std::string& dep : nodes_[i]->uses()) {
      if (auto it = by_key_.find(dep); it != by_key_.end()) dependents_[it->second].push_back(i);
    }
  }
  routes_.Build(*this);
  audiences_.Build(*this);
}

absl::Status DefinitionGraph::CheckAcyclic(const AudienceNode& node,
                                           const AudienceNode* replaced) const {
  // Only a path back to `node` can be new: search from what it uses.
  const std::string& self = node.names().key;
  auto uses_of = [&](const std::string& key) -> const std::vector<std::string>* {
    if (key == self) return &node.uses();
    const AudienceNode* found = Find(key);
    if (found == nullptr || found == replaced) return nullptr;
    return &found->uses();
  };
  std::vector<std::string> path = {self};
  absl::flat_hash_set<std::string> done;
  std::function<bool(const std::string&)> reaches_self = [&](const std::string& key) {
    const std::vector<std::string>* uses = uses_of(key);
    if (uses == nullptr) return false;
    for (const std::string& dep : *uses) {
      path.push_back(dep);
      if (dep == self || (!done.contains(dep) && reaches_self(dep))) return true;
      path.pop_back();
      done.insert(dep);
    }
    return false;
  };
  if (!reaches_self(self)) return absl::OkStatus();
  return absl::InvalidArgumentError(CycleText(path));
}

size_t DefinitionGraph::IndexOf(uint32_t id) const {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? kNone : it->second;
}

AudienceNode* DefinitionGraph::Find(std::string_view key) const {
  auto it = by_key_.find(AbslView(key));
  return it == by_key_.end() ? nullptr : nodes_[it->second].get();
}

std::vector<const AudienceNode*> DefinitionGraph::UsedBy(const AudienceNode& node) const {
  std::vector<const AudienceNode*> out;
  auto it = by_key_.find(node.names().key);
  if (it == by_key_.end()) return out;
  for (size_t d : dependents_[it->second]) {
    if (nodes_[d]->flags().listed_as_user) out.push_back(nodes_[d].get());
  }
  return out;
}

absl::Status DefinitionGraph::CheckNoUsers(const AudienceNode& node) const {
  std::vector<std::string> users;
  for (const AudienceNode* user : UsedBy(node)) users.push_back(user->names().described);
  if (users.empty()) return absl::OkStatus();
  return absl::FailedPreconditionError(fmt::format(
      "{} is used by {}; change those first", node.names().described, absl::StrJoin(users, ", ")));
}

}  // namespace segmenta
