#include "segments/scores.h"

#include <algorithm>
#include <cmath>

#include "core/status.h"
#include "fmt/format.h"
#include "segments/condition_reads.h"
#include "segments/persona_node.h"
#include "segments/score_node.h"
#include "spdlog/spdlog.h"

namespace segmenta {
namespace {

ScoreNode* FindScore(const DefinitionGraph& graph, std::string_view name) {
  return dynamic_cast<ScoreNode*>(graph.Find(ScoreNodeKey(name)));
}

PersonaAssignmentNode* FindPersonas(const DefinitionGraph& graph) {
  return dynamic_cast<PersonaAssignmentNode*>(graph.Find(kPersonaNodeKey));
}

absl::Status NoScore(std::string_view name) {
  return absl::NotFoundError(fmt::format("no score or persona named \"{}\"", name));
}

absl::Status NormalizeScore(const ScoreDefinition& def) {
  SEGMENTA_RETURN_IF_ERROR(CheckScore(def));
  SEGMENTA_RETURN_IF_ERROR(CheckWebhooks(def.webhooks));
  if (!def.persona && !def.webhooks.empty()) {
    return absl::InvalidArgumentError(
        "webhooks: only personas have webhooks (deliver enters and exits); a score has no "
        "members");
  }
  return absl::OkStatus();
}

ScoreInfo InfoOf(const ScoreNode& score, const DefinitionGraph& graph) {
  ScoreInfo info;
  info.definition = score.definition();
  for (Webhook& h : info.definition.webhooks) h.secret.clear();
  if (score.definition().persona) {
    if (const AudienceDirectory::Entry* e = graph.audiences().ById(score.id()); e != nullptr) {
      info.members = e->audience().members.cardinality();
    }
  }
  for (const auto& plan : score.plans().all()) {
    for (const std::string& w : plan->warnings()) info.warnings.push_back(w);
  }
  if (!score.error().empty()) {
    info.warnings.push_back("the rules no longer compile: " + score.error());
  }
  for (const std::string& use : score.uses()) info.uses.push_back(DependencyText(use));
  for (const AudienceNode* user : graph.UsedBy(score)) {
    info.used_by.push_back(DependencyText(user->names().key));
  }
  info.time_dependent = score.plans().time_dependent();
  return info;
}

ScoreDistribution DistributionOf(const ScoreNode& score, const ProfileTable& profiles) {
  std::vector<float> points;
  points.reserve(profiles.alive_contacts());
  ScoreDistribution d;
  double sum = 0;
  for (size_t c = 0; c < profiles.contact_rows(); ++c) {
    if (profiles.contact(c) == nullptr) continue;
    const float v = score.PointsOf(c);
    points.push_back(v);
    sum += v;
    if (v != 0) ++d.nonzero;
    if (score.definition().persona && v >= score.definition().threshold) ++d.qualified;
  }
  d.contacts = points.size();
  if (points.empty()) return d;
  std::sort(points.begin(), points.end());
  auto quantile = [&](double q) {
    // Nearest rank.
    size_t rank = static_cast<size_t>(std::ceil(q * static_cast<double>(points.size())));
    return static_cast<double>(points[std::clamp<size_t>(rank, 1, points.size()) - 1]);
  };
  d.min = points.front();
  d.max = points.back();
  d.mean = sum / static_cast<double>(points.size());
  d.p25 = quantile(0.25);
  d.p50 = quantile(0.5);
  d.p75 = quantile(0.75);
  d.p90 = quantile(0.9);
  d.p99 = quantile(0.99);
  const int buckets = d.max > d.min ? 10 : 1;
  const double width = (d.max - d.min) / buckets;
  for (int b = 0; b < buckets; ++b) {
    d.histogram.push_back(
        {d.min + b * width, b + 1 == buckets ? d.max : d.min + (b + 1) * width, 0});
  }
  for (float v : points) {
    int b = width > 0 ? static_cast<int>((v - d.min) / width) : 0;
    d.histogram[std::clamp(b, 0, buckets - 1)].contacts++;
  }
  return d;
}

}  // namespace

absl::StatusOr<ScoreInfo> ScoresAndPersonas::Create(ScoreDefinition def,
                                                    std::shared_ptr<JobProgress> progress) {
  SEGMENTA_RETURN_IF_ERROR(NormalizeScore(def));
  absl::StatusOr<ScoreInfo> out = absl::InternalError("not run");
  absl::Status status =
      core_->RunDefinition([&](ProfileTable& profiles, rocksdb::WriteBatch* batch) -> absl::Status {
        DefinitionGraph& graph = core_->graph();
        if (FindScore(graph, def.name) != nullptr || graph.Find(def.name) != nullptr) {
          return absl::AlreadyExistsError(
              fmt::format("\"{}\" is taken (scores, personas and groups share names)", def.name));
        }
        const Millis now = core_->Now();
        def.id = core_->log().next_id();
        def.created_ms = now;
        def.updated_ms = now;
        auto node = std::make_unique<ScoreNode>(def);
        SEGMENTA_RETURN_IF_ERROR(node->Compile(SchemaFor(graph, profiles), profiles, now));
        ScoreNode* created = node.get();
        // 'persona "NAME" created' (or score), on every move the new definition makes.
        const std::string cause = created->names().described + " created";
        SEGMENTA_ASSIGN_OR_RETURN(bool moved, core_->Define(std::move(node), nullptr, profiles, now,
                                                            cause, batch, progress.get()));
        core_->log().AllocateId();
        if (def.persona && !moved) {
          core_->Recompute(*FindPersonas(graph), profiles, now, cause, batch);
        }
        created->Save(core_->store(), batch);
        out = InfoOf(*created, graph);
        spdlog::info("{} created", created->names().described);
        return absl::OkStatus();
      });
  if (!status.ok()) return status;
  return out;
}

absl::StatusOr<ScoreInfo> ScoresAndPersonas::Update(std::string_view name, ScoreDefinition def,
                                                    std::shared_ptr<JobProgress> progress) {
  SEGMENTA_RETURN_IF_ERROR(NormalizeScore(def));
  absl::StatusOr<ScoreInfo> out = absl::InternalError("not run");
  absl::Status status =
      core_->RunDefinition([&](ProfileTable& profiles, rocksdb::WriteBatch* batch) -> absl::Status {
        DefinitionGraph& graph = core_->graph();
        const ScoreNode* previous = FindScore(graph, name);
        if (previous == nullptr) return NoScore(name);
        const ScoreDefinition& before = previous->definition();
        if (def.name != before.name) {
          return absl::InvalidArgumentError(
              "a score cannot be renamed (its name is how conditions refer to it)");
        }
        if (def.persona != before.persona) {
          return absl::InvalidArgumentError(
              before.persona ? "a persona cannot become a score; delete it and create the score"
                             : "a score cannot become a persona; delete it and create the persona");
        }
        const Millis now = core_->Now();
        def.id = before.id;
        def.created_ms = before.created_ms;
        def.updated_ms = now;
        auto node = std::make_unique<ScoreNode>(def, *previous);
        SEGMENTA_RETURN_IF_ERROR(node->Compile(SchemaFor(graph, profiles), profiles, now));
        ScoreNode* updated = node.get();
        // 'persona "NAME" updated' (or score), whether its points or only its threshold changed.
        const std::string cause = updated->names().described + " updated";
        SEGMENTA_ASSIGN_OR_RETURN(bool moved, core_->Define(std::move(node), previous, profiles,
                                                            now, cause, batch, progress.get()));
        if (def.persona && !moved) {
          // The threshold may have changed with the same points.
          core_->Recompute(*FindPersonas(graph), profiles, now, cause, batch);
        }
        updated->Save(core_->store(), batch);
        out = InfoOf(*updated, graph);
        return absl::OkStatus();
      });
  if (!status.ok()) return status;
  return out;
}

absl::Status ScoresAndPersonas::Delete(std::string_view name) {
  return core_->RunDefinition(
      [&](ProfileTable& profiles, rocksdb::WriteBatch* batch) -> absl::Status {
        DefinitionGraph& graph = core_->graph();
        const ScoreNode* score = FindScore(graph, name);
        if (score == nullptr) return NoScore(name);
        SEGMENTA_RETURN_IF_ERROR(graph.CheckNoUsers(*score));
        const Millis now = core_->Now();
        const uint32_t id = score->id();
        const bool persona = score->definition().persona;
        // 'persona "NAME" deleted', on its members' exits and their moves to other personas.
        const std::string cause = score->names().described + " deleted";
        PersonaAssignmentNode* personas = FindPersonas(graph);
        bool vacated = false;
        if (persona && personas != nullptr) {
          // Its members leave it (and may join another persona below).
          vacated = personas->Vacate(id, core_->Context(profiles, now, batch, cause));
        }
        batch->Delete(core_->store().handle(Family::kMeta), ScoreKey(id));
        core_->log().Forget(id, batch);
        core_->Remove(*score, batch);
        if (persona && personas != nullptr &&
            !core_->Recompute(*personas, profiles, now, cause, batch) && vacated) {
          // What reads `persona` follows the members who left (Recompute did not move it).
          core_->RecomputeDependents(*personas, profiles, now, cause, batch);
        }
        spdlog::info("{} \"{}\" deleted", persona ? "persona" : "score", name);
        return absl::OkStatus();
      });
}

std::vector<ScoreInfo> ScoresAndPersonas::List(bool personas) const {
  absl::ReaderMutexLock lock(&core_->mu());
  const DefinitionGraph& graph = core_->graph();
  std::vector<ScoreInfo> out;
  for (size_t i = 0; i < graph.size(); ++i) {
    const auto* score = dynamic_cast<const ScoreNode*>(&graph.node(i));
    if (score != nullptr && score->definition().persona == personas) {
      out.push_back(InfoOf(*score, graph));
    }
  }
  std::sort(out.begin(), out.end(), [](const ScoreInfo& a, const ScoreInfo& b) {
    return a.definition.id < b.definition.id;
  });
  return out;
}

absl::StatusOr<ScoreInfo> ScoresAndPersonas::Get(std::string_view name) const {
  absl::ReaderMutexLock lock(&core_->mu());
  const ScoreNode* score = FindScore(core_->graph(), name);
  if (score == nullptr) return NoScore(name);
  return InfoOf(*score, core_->graph());
}

absl::StatusOr<ScoreDistribution> ScoresAndPersonas::Distribution(std::string_view name) const {
  return core_->worker().ReadProfiles(
      [&](const ProfileTable& profiles) -> absl::StatusOr<ScoreDistribution> {
        absl::ReaderMutexLock lock(&core_->mu());
        const ScoreNode* score = FindScore(core_->graph(), name);
        if (score == nullptr) return NoScore(name);
        return DistributionOf(*score, profiles);
      });
}

ContactScores ScoresAndPersonas::Of(ContactId contact) const {
  absl::ReaderMutexLock lock(&core_->mu());
  const DefinitionGraph& graph = core_->graph();
  ContactScores out;
  std::vector<const ScoreNode*> scores;
  for (size_t i = 0; i < graph.size(); ++i) {
    if (const auto* score = dynamic_cast<const ScoreNode*>(&graph.node(i))) {
      scores.push_back(score);
    }
  }
  std::sort(scores.begin(), scores.end(), [](const ScoreNode* a, const ScoreNode* b) {
    return a->definition().id < b->definition().id;
  });
  for (const ScoreNode* s : scores) {
    const ScoreDefinition& def = s->definition();
    out.scores.push_back({def.name, s->PointsOf(contact), def.persona, def.threshold});
  }
  for (auto [key, name] :
       {std::pair{kPersonaNodeKey, &out.persona}, std::pair{kStageNodeKey, &out.stage}}) {
    if (const AudienceNode* node = graph.Find(key); node != nullptr) {
      *name = std::string(node->ComputedValue(contact).str);
    }
  }
  return out;
}

}  // namespace segmenta
