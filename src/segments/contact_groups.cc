#include "segments/contact_groups.h"

#include <algorithm>

#include "core/status.h"
#include "fmt/format.h"
#include "segments/condition_reads.h"
#include "segments/contact_group_node.h"
#include "spdlog/spdlog.h"

namespace segmenta {
namespace {

ContactGroupNode* FindGroup(const DefinitionGraph& graph, std::string_view name) {
  return dynamic_cast<ContactGroupNode*>(graph.Find(name));
}

absl::Status NoGroup(std::string_view name) {
  return absl::NotFoundError(fmt::format("no group named \"{}\"", name));
}

absl::Status CheckContactsExist(const ProfileTable& profiles,
                                const std::vector<ContactId>& contacts) {
  for (ContactId c : contacts) {
    if (profiles.contact(c) == nullptr) {
      return absl::NotFoundError(fmt::format("no contact with id {}", c));
    }
  }
  return absl::OkStatus();
}

GroupInfo InfoOf(const ContactGroupNode& group, const DefinitionGraph& graph) {
  GroupInfo info;
  info.definition = group.definition();
  for (Webhook& h : info.definition.webhooks) h.secret.clear();
  info.members = group.members().cardinality();
  if (const Plan* plan = group.plan(); plan != nullptr) {
    info.condition_text = plan->text();
    info.condition_json = plan->json();
    info.warnings = plan->warnings();
    info.time_dependent = plan->time_dependent();
  }
  if (!group.error().empty()) {
    info.warnings.push_back("the condition no longer compiles: " + group.error());
  }
  for (const std::string& use : group.uses()) info.uses.push_back(DependencyText(use));
  for (const AudienceNode* user : graph.UsedBy(group)) {
    info.used_by.push_back(DependencyText(user->names().key));
  }
  return info;
}

}  // namespace

absl::StatusOr<GroupInfo> ContactGroups::Create(GroupDefinition def,
                                                std::shared_ptr<JobProgress> progress) {
  SEGMENTA_RETURN_IF_ERROR(NormalizeGroup(&def));
  absl::StatusOr<GroupInfo> out = absl::InternalError("not run");
  absl::Status status = core_->RunDefinition([&](ProfileTable& profiles,
                                                 rocksdb::WriteBatch* batch) -> absl::Status {
    DefinitionGraph& graph = core_->graph();
    if (FindGroup(graph, def.name) != nullptr) {
      return absl::AlreadyExistsError(fmt::format("a group named \"{}\" exists", def.name));
    }
    SEGMENTA_RETURN_IF_ERROR(CheckContactsExist(profiles, def.contacts));
    if (graph.Find(ScoreNodeKey(def.name)) != nullptr) {
      return absl::AlreadyExistsError(
          fmt::format("a score or persona is named \"{}\"; names are shared", def.name));
    }
    if (graph.Find(def.name) != nullptr) {
      return absl::AlreadyExistsError(fmt::format("\"{}\" is taken", def.name));
    }
    const Millis now = core_->Now();
    def.id = core_->log().next_id();
    def.created_ms = now;
    def.updated_ms = now;
    auto node = std::make_unique<ContactGroupNode>(def);
    SEGMENTA_RETURN_IF_ERROR(node->Compile(SchemaFor(graph, profiles), profiles, now));
    ContactGroupNode* created = node.get();
    SEGMENTA_RETURN_IF_ERROR(core_
                                 ->Define(std::move(node), nullptr, profiles, now, "group created",
                                          batch, progress.get())
                                 .status());
    core_->log().AllocateId();
    created->Save(core_->store(), batch);
    out = InfoOf(*created, graph);
    spdlog::info("group \"{}\" created: {} members", def.name, created->members().cardinality());
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return out;
}

absl::StatusOr<GroupInfo> ContactGroups::Update(std::string_view name, GroupDefinition def,
                                                std::shared_ptr<JobProgress> progress) {
  SEGMENTA_RETURN_IF_ERROR(NormalizeGroup(&def));
  absl::StatusOr<GroupInfo> out = absl::InternalError("not run");
  absl::Status status =
      core_->RunDefinition([&](ProfileTable& profiles, rocksdb::WriteBatch* batch) -> absl::Status {
        DefinitionGraph& graph = core_->graph();
        const ContactGroupNode* previous = FindGroup(graph, name);
        if (previous == nullptr) return NoGroup(name);
        if (def.name != previous->definition().name) {
          return absl::InvalidArgumentError(
              "a group cannot be renamed (its name is how other groups refer to it)");
        }
        const Millis now = core_->Now();
        def.id = previous->definition().id;
        def.created_ms = previous->definition().created_ms;
        def.updated_ms = now;
        auto node = std::make_unique<ContactGroupNode>(def, *previous);
        SEGMENTA_RETURN_IF_ERROR(node->Compile(SchemaFor(graph, profiles), profiles, now));
        ContactGroupNode* updated = node.get();
        SEGMENTA_RETURN_IF_ERROR(core_
                                     ->Define(std::move(node), previous, profiles, now,
                                              "group updated", batch, progress.get())
                                     .status());
        updated->Save(core_->store(), batch);
        out = InfoOf(*updated, graph);
        return absl::OkStatus();
      });
  if (!status.ok()) return status;
  return out;
}

absl::Status ContactGroups::Delete(std::string_view name) {
  return core_->RunDefinition([&](ProfileTable&, rocksdb::WriteBatch* batch) -> absl::Status {
    DefinitionGraph& graph = core_->graph();
    const ContactGroupNode* group = FindGroup(graph, name);
    if (group == nullptr) return NoGroup(name);
    SEGMENTA_RETURN_IF_ERROR(graph.CheckNoUsers(*group));
    batch->Delete(core_->store().handle(Family::kGroups), GroupKey(group->definition().id));
    core_->Remove(*group, batch);
    spdlog::info("group \"{}\" deleted", name);
    return absl::OkStatus();
  });
}

absl::StatusOr<GroupInfo> ContactGroups::EditStatic(std::string_view name,
                                                    std::vector<ContactId> add,
                                                    std::vector<ContactId> remove,
                                                    std::vector<std::string> add_accounts,
                                                    std::vector<std::string> remove_accounts) {
  absl::StatusOr<GroupInfo> out = absl::InternalError("not run");
  absl::Status status =
      core_->RunDefinition([&](ProfileTable& profiles, rocksdb::WriteBatch* batch) -> absl::Status {
        DefinitionGraph& graph = core_->graph();
        ContactGroupNode* group = FindGroup(graph, name);
        if (group == nullptr) return NoGroup(name);
        if (!group->definition().is_static()) {
          return absl::FailedPreconditionError(
              fmt::format("group \"{}\" is dynamic: its members follow its condition", name));
        }
        SEGMENTA_RETURN_IF_ERROR(CheckContactsExist(profiles, add));
        const Millis now = core_->Now();
        group->EditListed(add, remove, add_accounts, remove_accounts, now);
        graph.Rebuild();  // whether accounts concern it may have changed
        core_->Recompute(*group, profiles, now, "listed", batch);
        group->Save(core_->store(), batch);
        out = InfoOf(*group, graph);
        return absl::OkStatus();
      });
  if (!status.ok()) return status;
  return out;
}

std::vector<GroupInfo> ContactGroups::List() const {
  absl::ReaderMutexLock lock(&core_->mu());
  const DefinitionGraph& graph = core_->graph();
  std::vector<GroupInfo> out;
  for (size_t i = 0; i < graph.size(); ++i) {
    if (const auto* group = dynamic_cast<const ContactGroupNode*>(&graph.node(i))) {
      out.push_back(InfoOf(*group, graph));
    }
  }
  std::sort(out.begin(), out.end(), [](const GroupInfo& a, const GroupInfo& b) {
    return a.definition.id < b.definition.id;
  });
  return out;
}

absl::StatusOr<GroupInfo> ContactGroups::Get(std::string_view name) const {
  absl::ReaderMutexLock lock(&core_->mu());
  const ContactGroupNode* group = FindGroup(core_->graph(), name);
  if (group == nullptr) return NoGroup(name);
  return InfoOf(*group, core_->graph());
}

absl::StatusOr<bool> ContactGroups::IsMember(std::string_view name, ContactId contact) const {
  absl::ReaderMutexLock lock(&core_->mu());
  const ContactGroupNode* group = FindGroup(core_->graph(), name);
  if (group == nullptr) return NoGroup(name);
  return group->members().contains(static_cast<uint32_t>(contact));
}

std::vector<std::string> ContactGroups::Of(ContactId contact) const {
  absl::ReaderMutexLock lock(&core_->mu());
  std::vector<std::string> out;
  for (const AudienceDirectory::Entry& e : core_->graph().audiences().all()) {
    const Audience& a = e.audience();
    if (a.kind == AudienceKind::kGroup && a.members.contains(static_cast<uint32_t>(contact))) {
      out.push_back(a.name);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace segmenta
