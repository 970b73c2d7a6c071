// A contact group as a node of the audience engine: dynamic (its members are the contacts
// its condition holds for) or static (listed contacts, and the contacts of listed
// accounts, current and future). Its one audience is its members; conditions test it with
// `in group "NAME"`.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "segments/audience_node.h"
#include "segments/group.h"

namespace segmenta {

// Not thread-safe (see AudienceNode).
class ContactGroupNode : public AudienceNode {
 public:
  // A group for `def` (its id set), with no members.
  explicit ContactGroupNode(GroupDefinition def);
  // A group for `def`, an edit of `previous`, starting with its members.
  ContactGroupNode(GroupDefinition def, const ContactGroupNode& previous);

  const GroupDefinition& definition() const { return def_; }
  // Null for a static group and a frozen condition.
  const Plan* plan() const { return plans_.size() == 0 ? nullptr : &plans_.plan(0); }
  const Roaring& members() const { return audience_.members; }

  // Adds and removes listed contacts and accounts (a static group), sorted and unique.
  void EditListed(const std::vector<ContactId>& add, const std::vector<ContactId>& remove,
                  const std::vector<std::string>& add_accounts,
                  const std::vector<std::string>& remove_accounts, Millis now);
  // Writes its definition record to `batch`.
  void Save(const Store& store, rocksdb::WriteBatch* batch) const;

  // AudienceNode.
  absl::Status Compile(const Schema& schema, const ProfileTable& profiles, Millis now) override;
  bool Evaluate(ContactId contact, const NodeContext& ctx) override;
  absl::StatusOr<bool> Recompute(const NodeContext& ctx, JobProgress* progress) override;
  void DeclareColumns(DerivedColumns* out) const override;
  NodeTriggers Triggers() const override;
  const Roaring* Members() const override { return &audience_.members; }
  std::span<Audience> audiences() override { return {&audience_, 1}; }
  using AudienceNode::audiences;
  void OnContactErased(ContactId contact, ContactId merged_into, const NodeContext& ctx) override;

 private:
  bool ListedMember(const ProfileTable& profiles, ContactId contact) const;

  GroupDefinition def_;
  Audience audience_;
};

// Loads the stored contact groups. Errors: DataLoss for a malformed record; store errors.
absl::Status LoadContactGroups(const Store& store,
                               std::vector<std::unique_ptr<AudienceNode>>* nodes);

}  // namespace segmenta
