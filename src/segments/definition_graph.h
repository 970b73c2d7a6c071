// The graph of definitions: every node of the audience engine, in dependency order (a node
// after every node it uses), with what reads each one, and the indexes that pick the nodes a
// contact's change concerns (ChangeRoutes) and find an audience by id or name
// (AudienceDirectory). It knows nodes only through audience_node.h.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "ingest/ingest_observer.h"
#include "profile/profile_table.h"
#include "segments/audience_node.h"

namespace segmenta {

class DefinitionGraph;

// The nodes (by graph index) that one contact's change, or one timer, concerns, each with
// its cause: what makes it re-evaluate the contact ("trait: age", "event: Order Completed",
// "time"), which its enters and exits record. A node marked because a node it reads
// changed takes that node's cause. Kept from change to change: once its buffers have grown
// to the graph and the longest cause, marking allocates nothing. Not thread-safe.
class AffectedNodes {
 public:
  // Unmarks every node, for a graph of `nodes` nodes.
  void Reset(size_t nodes);
  // Marks each of `nodes` that is not marked yet with the cause `prefix` followed by
  // `name` ("event: " and "Order Completed"). A `provisional` cause gives way to the cause
  // of a node it reads (MarkDependent).
  void Mark(std::span<const size_t> nodes, std::string_view prefix, std::string_view name = {},
            bool provisional = false);
  // Marks every node not marked yet with one cause, as Mark.
  void MarkAll(std::string_view prefix, std::string_view name = {});
  // Marks node `dependent`, which reads node `changed` (marked), with the cause of
  // `changed`, unless it is marked with a cause of its own that is not provisional.
  void MarkDependent(size_t dependent, size_t changed);

  bool marked(size_t i) const { return cause_of_[i] != kUnmarked; }
  // REQUIRES: marked(i).
  std::string_view cause(size_t i) const { return causes_[cause_of_[i] & ~kProvisional]; }
  // The number of nodes marked.
  size_t count() const;

 private:
  static constexpr uint32_t kUnmarked = UINT32_MAX;
  static constexpr uint32_t kProvisional = uint32_t{1} << 31;

  // Adds the text of a cause for this change; returns its index (| kProvisional).
  uint32_t AddCause(std::string_view prefix, std::string_view name, bool provisional);

  std::vector<uint32_t> cause_of_;   // by node: an index into causes_ (| kProvisional)
  std::vector<std::string> causes_;  // the first `used_` are this change's; the rest spare
  size_t used_ = 0;
};

// The nodes each kind of contact change concerns. Rebuilt with the graph.
class ChangeRoutes {
 public:
  void Build(const DefinitionGraph& graph);
  // Marks in `affected` the nodes `change` concerns, each with the first of these causes
  // that applies to it: a trait it reads ("trait: age", the first the change set), an event
  // it reads ("event: Order Completed"; the change's first event for a node that reads
  // every event), "account", and, provisionally, kNewContactCause (a node that has no
  // value for the contact: NodeTriggers::unvalued_contacts). Nodes marked already keep
  // theirs.
  void Mark(const ContactChange& change, const ProfileTable& profiles, const DefinitionGraph& graph,
            AffectedNodes* affected) const;

 private:
  absl::flat_hash_map<std::string, std::vector<size_t>> by_event_;
  absl::flat_hash_map<std::string, std::vector<size_t>> by_trait_;
  std::vector<size_t> by_any_event_;
  std::vector<size_t> by_accounts_;
  std::vector<size_t> by_unvalued_contact_;
};

// Every audience of every node, by id and by kind and name. Rebuilt with the graph.
class AudienceDirectory {
 public:
  struct Entry {
    AudienceNode* node = nullptr;
    size_t index = 0;  // into node->audiences()
    Audience& audience() const { return node->audiences()[index]; }
  };

  void Build(const DefinitionGraph& graph);
  // Null when none.
  const Entry* ById(uint32_t id) const;
  Audience* Find(AudienceKind kind, std::string_view name) const;
  // In graph order.
  const std::vector<Entry>& all() const { return all_; }

 private:
  std::vector<Entry> all_;
  absl::flat_hash_map<uint32_t, size_t> by_id_;
  absl::flat_hash_map<std::pair<AudienceKind, std::string>, size_t> by_name_;
};

// Not thread-safe: the engine's lock guards it.
class DefinitionGraph {
 public:
  static constexpr size_t kNone = static_cast<size_t>(-1);

  // Adds `node` and re-orders; returns it. REQUIRES: no node has its key or id.
  AudienceNode* Add(std::unique_ptr<AudienceNode> node);
  // Puts `next` where `old` was and re-orders; returns `old`. REQUIRES: `old` is in the
  // graph; `next` has its key and id.
  std::unique_ptr<AudienceNode> Replace(const AudienceNode* old,
                                        std::unique_ptr<AudienceNode> next);
  // Removes `node` and re-orders; returns it. REQUIRES: `node` is in the graph.
  std::unique_ptr<AudienceNode> Remove(const AudienceNode* node);
  // Links, orders and indexes again, after nodes changed in place (uses, audiences, what
  // they read). A node whose uses are unknown (a frozen definition) or in a cycle is placed
  // after the others.
  void Rebuild();
  // Errors: InvalidArgument naming the cycle of definitions that `node`, taking the place
  // of `replaced` (may be null), would close, each part as conditions name it (lang/
  // computed.h's CycleText: "cycle of definitions: score("Fan") → Cyclists → persona →
  // score("Fan")").
  absl::Status CheckAcyclic(const AudienceNode& node, const AudienceNode* replaced) const;

  // The nodes in dependency order: node(i) uses only nodes before it.
  size_t size() const { return nodes_.size(); }
  AudienceNode& node(size_t i) const { return *nodes_[i]; }
  // The indexes of the nodes that use node(i).
  const std::vector<size_t>& dependents(size_t i) const { return dependents_[i]; }
  // The index of the node with `id`, or kNone.
  size_t IndexOf(uint32_t id) const;
  // Null when no node has `key`.
  AudienceNode* Find(std::string_view key) const;

  // The nodes listed as using `node` (NodeFlags::listed_as_user), in graph order.
  std::vector<const AudienceNode*> UsedBy(const AudienceNode& node) const;
  // Errors: FailedPrecondition "group "A" is used by group "B"; change those first" when a
  // node listed as a user reads `node`.
  absl::Status CheckNoUsers(const AudienceNode& node) const;

  const ChangeRoutes& routes() const { return routes_; }
  const AudienceDirectory& audiences() const { return audiences_; }

 private:
  std::vector<std::unique_ptr<AudienceNode>> nodes_;
  std::vector<std::vector<size_t>> dependents_;
  absl::flat_hash_map<std::string, size_t> by_key_;
  absl::flat_hash_map<uint32_t, size_t> by_id_;
  ChangeRoutes routes_;
  AudienceDirectory audiences_;
};

}  // namespace segmenta
