#include "segments/engine.h"

#include <algorithm>
#include <limits>

#include "absl/strings/str_cat.h"
#include "core/status.h"
#include "fmt/format.h"
#include "segments/condition_reads.h"
#include "segments/contact_group_node.h"
#include "segments/lifecycle_node.h"
#include "segments/persona_node.h"
#include "segments/score_node.h"
#include "spdlog/spdlog.h"

namespace segmenta {
namespace {

// How often overall(...) aggregates are refreshed.
constexpr Millis kOverallRefresh = Millis{60} * 1000;

}  // namespace

AudienceEngine::AudienceEngine(Store* store, Worker* worker, Clock* clock)
    : worker_(worker), core_(store, worker, clock) {}

// Clearing the observer cannot fail.
AudienceEngine::~AudienceEngine() { worker_->SetObserver(nullptr).IgnoreError(); }

absl::StatusOr<std::unique_ptr<AudienceEngine>> AudienceEngine::Start(
    Store* store, Worker* worker, Clock* clock, std::vector<NodeLoader> more_kinds) {
  // Checked before Load, which compiles the conditions against the worker's table.
  if (!worker->keeps_profiles()) {
    return absl::FailedPreconditionError("the worker does not keep the profile table");
  }
  std::unique_ptr<AudienceEngine> engine(new AudienceEngine(store, worker, clock));
  // The persona assignment after the scores it reads.
  std::vector<NodeLoader> loaders = {LoadContactGroups, LoadScores, LoadLifecycle};
  for (NodeLoader& loader : more_kinds) loaders.push_back(std::move(loader));
  loaders.push_back(LoadPersonaAssignment);
  // Lock order everywhere: the profile table, then the engine.
  SEGMENTA_RETURN_IF_ERROR(worker->ReadProfiles([&](const ProfileTable& profiles) {
    absl::MutexLock lock(&engine->core_.mu());
    return engine->Load(profiles, loaders);
  }));
  SEGMENTA_RETURN_IF_ERROR(worker->SetObserver(engine.get()));
  return engine;
}

absl::Status AudienceEngine::Load(const ProfileTable& profiles,
                                  const std::vector<NodeLoader>& loaders) {
  DefinitionGraph& graph = core_.graph();
  SEGMENTA_RETURN_IF_ERROR(core_.log().Load());
  for (const NodeLoader& load : loaders) {
    std::vector<std::unique_ptr<AudienceNode>> nodes;
    SEGMENTA_RETURN_IF_ERROR(load(core_.store(), &nodes));
    for (auto& node : nodes) graph.Add(std::move(node));
  }
  SEGMENTA_RETURN_IF_ERROR(core_.log().ForEachMembership([&](uint32_t id, ContactId contact) {
    if (const AudienceDirectory::Entry* e = graph.audiences().ById(id); e != nullptr) {
      e->node->RestoreMember(e->index, contact);
    }
  }));
  // Compiled in dependency order: a score's points are computed before what reads them.
  const Millis now = core_.Now();
  for (size_t i = 0; i < graph.size(); ++i) {
    AudienceNode& node = graph.node(i);
    absl::Status status = node.Compile(SchemaFor(graph, profiles), profiles, now);
    if (status.ok() && node.flags().output_in_memory) {
      status = core_.RecomputeNode(node, core_.Context(profiles, now, nullptr, "start"), nullptr)
                   .status();
    }
    if (!status.ok()) {
      node.Freeze(std::string(status.message()));
      spdlog::error("{}: its definition no longer compiles ({}); it is frozen until edited",
                    node.names().described, node.error());
    }
  }
  graph.Rebuild();
  // Time went by while the engine was stopped: nodes that depend on time, and those built
  // on what is recomputed at start, are recomputed by the first timer run (which can
  // write), and that schedules their timers again.
  for (size_t i = 0; i < graph.size(); ++i) {
    if (graph.node(i).RecomputeAtStart()) recompute_on_start_.push_back(graph.node(i).id());
  }
  spdlog::info("{} definitions loaded, with {} audiences", graph.size(),
               graph.audiences().all().size());
  return absl::OkStatus();
}

absl::Status AudienceEngine::AddNode(std::unique_ptr<AudienceNode> node,
                                     std::shared_ptr<JobProgress> progress) {
  return core_.RunDefinition(
      [&](ProfileTable& profiles, rocksdb::WriteBatch* batch) -> absl::Status {
        DefinitionGraph& graph = core_.graph();
        if (graph.Find(node->names().key) != nullptr ||
            graph.IndexOf(node->id()) != DefinitionGraph::kNone) {
          return absl::AlreadyExistsError(
              fmt::format("{}: its key or id is in use", node->names().described));
        }
        const Millis now = core_.Now();
        SEGMENTA_RETURN_IF_ERROR(node->Compile(SchemaFor(graph, profiles), profiles, now));
        const std::string cause = node->names().described + " created";
        return core_.Define(std::move(node), nullptr, profiles, now, cause, batch, progress.get())
            .status();
      });
}

DerivedColumns AudienceEngine::DerivedState() const {
  absl::ReaderMutexLock lock(&core_.mu());
  const DefinitionGraph& graph = core_.graph();
  DerivedColumns columns;
  for (size_t i = 0; i < graph.size(); ++i) graph.node(i).DeclareColumns(&columns);
  core_.timers().DeclareColumns(
      [&](uint32_t id) {
        const size_t i = graph.IndexOf(id);
        return i == DefinitionGraph::kNone ? fmt::format("node {}", id)
                                           : graph.node(i).names().columns;
      },
      &columns);
  return columns;
}

size_t AudienceEngine::MembershipBytes() const { return DerivedState().bytes(kMembersColumn); }

KeepCurrentStats AudienceEngine::keep_current_stats() const {
  absl::ReaderMutexLock lock(&core_.mu());
  return stats_;
}

void AudienceEngine::ResetKeepCurrentStats() {
  absl::MutexLock lock(&core_.mu());
  stats_ = KeepCurrentStats();
}

absl::Status AudienceEngine::OnApplied(const ProfileTable& profiles, Millis now,
                                       const std::vector<ContactChange>& changes,
                                       rocksdb::WriteBatch* batch,
                                       const std::function<void()>& let_readers_in) {
  absl::Mutex& mu = core_.mu();
  absl::MutexLock lock(&mu);
  const DefinitionGraph& graph = core_.graph();
  if (graph.size() == 0) return absl::OkStatus();
  core_.InvalidateCache();
  for (size_t n = 0; n < changes.size(); ++n) {
    const ContactChange& change = changes[n];
    if (n % 16 == 15) {
      // Readers (a decide, an API read) wait on the profile table, then on this engine:
      // between contacts, each one's memberships are whole, so they may read.
      mu.Unlock();
      let_readers_in();
      mu.Lock();
    }
    const absl::Time started = absl::Now();
    // affected_ is kept from change to change: routing a change allocates nothing.
    affected_.Reset(graph.size());
    if (change.erased) {
      const NodeContext ctx = core_.Context(profiles, now, batch, "");
      for (size_t i = 0; i < graph.size(); ++i) {
        graph.node(i).OnContactErased(change.contact, change.merged_into, ctx);
      }
      if (change.merged_into != 0) {
        const absl::AlphaNum survivor(change.merged_into);  // formatted with no allocation
        affected_.MarkAll("merged into contact ", {survivor.data(), survivor.size()});
      } else {
        affected_.MarkAll("contact erased");
      }
    } else if (change.merged) {
      affected_.MarkAll("contacts merged");
    } else {
      graph.routes().Mark(change, profiles, graph, &affected_);
    }
    core_.Reevaluate(profiles, change.contact, affected_, now, batch);
    const uint64_t nanos = absl::ToInt64Nanoseconds(absl::Now() - started);
    ++stats_.changes;
    stats_.activities += change.activities;
    stats_.nanos += nanos;
    stats_.evaluations += affected_.count();
    if (stats_.per_activity_nanos.size() < (1u << 24)) {
      stats_.per_activity_nanos.push_back(static_cast<uint32_t>(
          std::min<uint64_t>(nanos / std::max<uint32_t>(1, change.activities), UINT32_MAX)));
    }
  }
  core_.log().Flush(batch);
  return absl::OkStatus();
}

std::optional<Millis> AudienceEngine::NextTimer() const {
  absl::ReaderMutexLock lock(&core_.mu());
  if (!recompute_on_start_.empty()) return std::numeric_limits<Millis>::min();
  const DefinitionGraph& graph = core_.graph();
  std::optional<Millis> next = core_.timers().Next();
  for (size_t i = 0; i < graph.size(); ++i) {
    if (graph.node(i).plans().has_overall()) {
      if (!next || next_overall_refresh_ < *next) next = next_overall_refresh_;
      break;
    }
  }
  return next;
}

absl::Status AudienceEngine::OnTimer(const ProfileTable& profiles, Millis now,
                                     rocksdb::WriteBatch* batch) {
  absl::MutexLock lock(&core_.mu());
  DefinitionGraph& graph = core_.graph();
  // In dependency order.
  for (size_t i = 0; i < graph.size(); ++i) {
    AudienceNode& node = graph.node(i);
    if (std::find(recompute_on_start_.begin(), recompute_on_start_.end(), node.id()) !=
        recompute_on_start_.end()) {
      core_.Recompute(node, profiles, now, "time", batch);
    }
  }
  recompute_on_start_.clear();
  core_.timers().PopDue(now, [&](uint32_t id, ContactId contact) {
    const size_t i = graph.IndexOf(id);
    if (i == DefinitionGraph::kNone) return;
    affected_.Reset(graph.size());
    affected_.Mark({&i, 1}, "time");
    core_.Reevaluate(profiles, contact, affected_, now, batch);
  });
  if (now >= next_overall_refresh_) {
    next_overall_refresh_ = now + kOverallRefresh;
    for (size_t i = 0; i < graph.size(); ++i) {
      AudienceNode& node = graph.node(i);
      if (!node.plans().has_overall() || !node.plans().OverallChanged(profiles, now)) continue;
      core_.Recompute(node, profiles, now, "overall values changed", batch);
    }
  }
  core_.log().Flush(batch);
  return absl::OkStatus();
}

}  // namespace segmenta
