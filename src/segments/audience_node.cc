#include "segments/audience_node.h"

#include <algorithm>

#include "segments/condition_reads.h"
#include "segments/membership_log.h"

namespace segmenta {

void NodeContext::Record(Audience& audience, ContactId contact, bool entered) const {
  log->Record(audience, contact, entered, now, cause, batch);
}

// ---------------------------------------------------------------------------------------
// PlanSet

void PlanSet::Assign(std::vector<std::shared_ptr<const Plan>> plans, const ProfileTable& profiles,
                     Millis now) {
  plans_ = std::move(plans);
  overall_ = OverallAt(profiles, now);
  time_dependent_ = false;
  has_overall_ = false;
  for (const auto& p : plans_) {
    time_dependent_ = time_dependent_ || p->time_dependent();
    has_overall_ = has_overall_ || !p->overall_aggregates().empty();
  }
}

void PlanSet::Clear() {
  plans_.clear();
  overall_.clear();
  time_dependent_ = false;
  has_overall_ = false;
}

std::vector<std::string> PlanSet::Uses() const {
  std::vector<std::string> uses;
  for (const auto& p : plans_) {
    for (const std::string& use : p->definitions()) {
      if (std::find(uses.begin(), uses.end(), use) == uses.end()) uses.push_back(use);
    }
  }
  return uses;
}

std::vector<std::vector<Value>> PlanSet::OverallAt(const ProfileTable& profiles, Millis now) const {
  std::vector<std::vector<Value>> overall;
  overall.reserve(plans_.size());
  for (const auto& p : plans_) overall.push_back(OverallValues(*p, profiles, now));
  return overall;
}

bool PlanSet::OverallChanged(const ProfileTable& profiles, Millis now) const {
  for (size_t i = 0; i < plans_.size(); ++i) {
    if (OverallValues(*plans_[i], profiles, now) != overall_[i]) return true;
  }
  return false;
}

EvalEnv PlanSet::Env(size_t i, const DefinitionGraph& graph, Millis now,
                     const std::vector<Value>* overall) const {
  EvalEnv env;
  env.now = now;
  if (overall != nullptr) {
    env.overall = *overall;
  } else if (i < overall_.size()) {
    env.overall = overall_[i];
  }
  if (i < plans_.size()) BindReads(graph, *plans_[i], &env);
  return env;
}

std::optional<Millis> PlanSet::NextChange(ContactId contact, const NodeContext& ctx) const {
  std::optional<Millis> next;
  for (size_t i = 0; i < plans_.size(); ++i) {
    if (!plans_[i]->time_dependent()) continue;
    std::optional<Millis> t =
        segmenta::NextChange(*plans_[i], ctx.profiles, contact, Env(i, ctx.graph, ctx.now));
    if (t && (!next || *t < *next)) next = t;
  }
  return next;
}

std::vector<Millis> PlanSet::NextChanges(const NodeContext& ctx) const {
  if (!time_dependent_) return {};
  std::vector<Millis> due(ctx.profiles.contact_rows(), kNoChange);
  for (size_t i = 0; i < plans_.size(); ++i) {
    if (!plans_[i]->time_dependent()) continue;
    const std::vector<Millis> t =
        NextChangeAll(*plans_[i], ctx.profiles, Env(i, ctx.graph, ctx.now));
    for (size_t c = 0; c < due.size(); ++c) due[c] = std::min(due[c], t[c]);
  }
  return due;
}

// ---------------------------------------------------------------------------------------
// AudienceNode

void AudienceNode::Freeze(std::string reason) { error_ = std::move(reason); }

bool AudienceNode::RecomputeAtStart() const {
  return flags_.recompute_at_start || TimeDependent() || plans_.has_overall();
}

void AudienceNode::SetPlans(std::vector<std::shared_ptr<const Plan>> plans,
                            const ProfileTable& profiles, Millis now) {
  plans_.Assign(std::move(plans), profiles, now);
  uses_ = plans_.Uses();
  error_.clear();
}

std::optional<Millis> AudienceNode::NextChange(ContactId contact, const NodeContext& ctx) const {
  return plans_.NextChange(contact, ctx);
}

std::vector<Millis> AudienceNode::NextChanges(const NodeContext& ctx) const {
  return plans_.NextChanges(ctx);
}

NodeTriggers AudienceNode::Triggers() const {
  NodeTriggers triggers;
  for (const auto& plan : plans_.all()) {
    for (const std::string& key : plan->event_keys()) triggers.events.push_back(key);
    // A trait path reads the flattened columns under it too ("address" and
    // "address.city"): index by its first segment, which the worker reports.
    for (const std::string& trait : plan->traits()) {
      triggers.traits.push_back(trait.substr(0, trait.find('.')));
    }
    triggers.accounts = triggers.accounts || plan->uses_accounts();
  }
  return triggers;
}

Scalar AudienceNode::ComputedValue(ContactId) const { return Scalar(); }

void AudienceNode::RestoreMember(size_t audience, ContactId contact) {
  audiences()[audience].members.add(static_cast<uint32_t>(contact));
}

absl::Status CheckNotCancelled(const JobProgress* progress) {
  if (progress != nullptr && progress->cancelled.load()) {
    return absl::CancelledError("cancelled: nothing was changed");
  }
  return absl::OkStatus();
}

}  // namespace segmenta
