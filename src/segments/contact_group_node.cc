#include "segments/contact_group_node.h"

#include <algorithm>

#include "core/status.h"
#include "fmt/format.h"

namespace segmenta {
namespace {

NodeNames GroupNames(const std::string& name) {
  return {name, fmt::format("group \"{}\"", name), "group/" + name};
}

}  // namespace

ContactGroupNode::ContactGroupNode(GroupDefinition def)
    : AudienceNode(def.id, GroupNames(def.name)), def_(std::move(def)) {
  audience_.id = def_.id;
  audience_.name = def_.name;
  audience_.kind = AudienceKind::kGroup;
  audience_.webhooks = def_.webhooks;
}

ContactGroupNode::ContactGroupNode(GroupDefinition def, const ContactGroupNode& previous)
    : ContactGroupNode(std::move(def)) {
  audience_.members = previous.audience_.members;
}

void ContactGroupNode::EditListed(const std::vector<ContactId>& add,
                                  const std::vector<ContactId>& remove,
                                  const std::vector<std::string>& add_accounts,
                                  const std::vector<std::string>& remove_accounts, Millis now) {
  std::vector<ContactId>& contacts = def_.contacts;
  std::vector<std::string>& accounts = def_.accounts;
  contacts.insert(contacts.end(), add.begin(), add.end());
  accounts.insert(accounts.end(), add_accounts.begin(), add_accounts.end());
  SortListed(&def_);
  for (ContactId c : remove) {
    contacts.erase(std::remove(contacts.begin(), contacts.end(), c), contacts.end());
  }
  for (const std::string& a : remove_accounts) {
    accounts.erase(std::remove(accounts.begin(), accounts.end(), a), accounts.end());
  }
  def_.updated_ms = now;
}

void ContactGroupNode::Save(const Store& store, rocksdb::WriteBatch* batch) const {
  batch->Put(store.handle(Family::kGroups), GroupKey(def_.id), def_.Encode());
}

absl::Status ContactGroupNode::Compile(const Schema& schema, const ProfileTable& profiles,
                                       Millis now) {
  if (def_.is_static()) {
    plans_.Clear();
    uses_.clear();
    audience_.conditions.clear();
    return absl::OkStatus();
  }
  SEGMENTA_ASSIGN_OR_RETURN(std::shared_ptr<const Plan> plan,
                            Plan::CompileText(def_.condition, schema, names_.key));
  audience_.conditions = {plan};
  SetPlans({std::move(plan)}, profiles, now);
  return absl::OkStatus();
}

bool ContactGroupNode::ListedMember(const ProfileTable& profiles, ContactId contact) const {
  const ContactState* state = profiles.contact(contact);
  if (state == nullptr) return false;
  if (std::binary_search(def_.contacts.begin(), def_.contacts.end(), contact)) return true;
  for (uint32_t account : state->accounts) {
    if (std::binary_search(def_.accounts.begin(), def_.accounts.end(),
                           profiles.account(account).group_id)) {
      return true;
    }
  }
  return false;
}

bool ContactGroupNode::Evaluate(ContactId contact, const NodeContext& ctx) {
  bool member;
  if (def_.is_static()) {
    member = ListedMember(ctx.profiles, contact);
  } else if (plan() == nullptr) {
    return false;  // a frozen condition: members as they were
  } else {
    member = Matches(*plan(), ctx.profiles, contact, plans_.Env(0, ctx.graph, ctx.now));
  }
  const bool was = audience_.members.contains(static_cast<uint32_t>(contact));
  if (member == was) return false;
  ctx.Record(audience_, contact, member);
  return true;
}

absl::StatusOr<bool> ContactGroupNode::Recompute(const NodeContext& ctx, JobProgress* progress) {
  Roaring next;
  std::vector<std::vector<Value>> overall;
  if (def_.is_static()) {
    for (ContactId c : def_.contacts) {
      if (ctx.profiles.contact(c) != nullptr) next.add(static_cast<uint32_t>(c));
    }
    for (const std::string& group_id : def_.accounts) {
      const AccountState* account = ctx.profiles.FindAccount(group_id);
      if (account == nullptr) continue;
      for (uint32_t c : account->contacts) next.add(c);
    }
  } else if (plan() != nullptr) {
    overall = plans_.OverallAt(ctx.profiles, ctx.now);
    next = EvaluateAll(*plan(), ctx.profiles, plans_.Env(0, ctx.graph, ctx.now, &overall[0]),
                       ctx.cache, [&](double f) {
                         if (progress != nullptr) progress->fraction = 0.8 * f;
                       });
  } else {
    return false;
  }
  SEGMENTA_RETURN_IF_ERROR(CheckNotCancelled(progress));
  if (!def_.is_static()) plans_.SetOverall(std::move(overall));
  const Roaring entered = next - audience_.members;
  const Roaring exited = audience_.members - next;
  for (uint32_t c : entered) ctx.Record(audience_, c, true);
  for (uint32_t c : exited) ctx.Record(audience_, c, false);
  return !entered.isEmpty() || !exited.isEmpty();
}

void ContactGroupNode::DeclareColumns(DerivedColumns* out) const {
  out->Add(names_.columns + "/members", kMembersColumn, audience_.members.getSizeInBytes());
}

NodeTriggers ContactGroupNode::Triggers() const {
  if (!def_.is_static()) return AudienceNode::Triggers();
  NodeTriggers triggers;
  triggers.accounts = !def_.accounts.empty();
  return triggers;
}

void ContactGroupNode::OnContactErased(ContactId contact, ContactId merged_into,
                                       const NodeContext& ctx) {
  // A merged contact's place in the list goes to its survivor.
  std::vector<ContactId>& listed = def_.contacts;
  auto pos = std::lower_bound(listed.begin(), listed.end(), contact);
  if (pos == listed.end() || *pos != contact) return;
  listed.erase(pos);
  if (merged_into != 0) {
    auto to = std::lower_bound(listed.begin(), listed.end(), merged_into);
    if (to == listed.end() || *to != merged_into) listed.insert(to, merged_into);
  }
  Save(*ctx.store, ctx.batch);
}

absl::Status LoadContactGroups(const Store& store,
                               std::vector<std::unique_ptr<AudienceNode>>* nodes) {
  auto it = store.NewIterator(Family::kGroups);
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    SEGMENTA_ASSIGN_OR_RETURN(GroupDefinition def, GroupDefinition::Decode(std::string_view(
                                                       it->value().data(), it->value().size())));
    nodes->push_back(std::make_unique<ContactGroupNode>(std::move(def)));
  }
  return FromRocks(it->status(), "loading groups");
}

}  // namespace segmenta
