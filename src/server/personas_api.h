// The API of scores, buyer personas and lifecycle stages, a contact's points and next
// question, and the audience analysis of groups, personas and stages.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "analytics/audience.h"
#include "ingest/worker.h"
#include "profile/contact_reader.h"
#include "segments/engine.h"
#include "server/http_server.h"
#include "server/jobs_api.h"
#include "server/route_table.h"

namespace segmenta {

// Which of the two lists of scores a route serves: /api/scores or /api/personas.
enum class ScoreList { kScores, kPersonas };

// Thread-safe. Route handlers (route_table.h; the routes are in api.cc's table). Definition
// changes run as jobs (jobs_api.h), answered when done or at once with "async": true.
class PersonasApi {
 public:
  // Every argument must outlive the API.
  PersonasApi(const Store* store, const Worker* worker, AudienceEngine* engine, JobsApi* jobs);

  // GET /api/personas, /api/scores: every persona (with its size) or score.
  std::optional<HttpResponse> List(RouteCall& call, ScoreList list);
  // POST /api/personas {name, description, image, threshold, rules: [{type:
  // attribute|activity|macro, condition | activity, points, within, cap}], webhooks, async};
  // POST /api/scores, the same with "decay": {"every": "30 days", "percent": 25} and no
  // threshold; 201.
  std::optional<HttpResponse> Create(RouteCall& call, ScoreList list);
  // GET /api/personas/{name}?goal=&revenue=: the persona, the distribution of its scores and
  // a profile of its members; GET /api/scores/{name}: the score and its distribution.
  std::optional<HttpResponse> Get(RouteCall& call, ScoreList list);
  // PUT /api/personas/{name}, /api/scores/{name}: replace its rules; recomputes its points
  // for every contact, and what reads them.
  std::optional<HttpResponse> Update(RouteCall& call, ScoreList list);
  // DELETE /api/personas/{name}, /api/scores/{name}: 409 when conditions read it.
  std::optional<HttpResponse> Delete(RouteCall& call, ScoreList list);

  // GET /api/{personas|stages}/{name}/members?limit=&cursor=&expand=contacts
  std::optional<HttpResponse> Members(RouteCall& call, AudienceKind kind);
  // GET /api/{personas|stages}/{name}/history?limit=
  std::optional<HttpResponse> History(RouteCall& call, AudienceKind kind);
  // GET /api/{groups|personas|stages}/{name}/completeness: the traits its rules read, how
  // complete they are.
  std::optional<HttpResponse> Completeness(RouteCall& call, AudienceKind kind);
  // GET /api/{groups|personas|stages}/{name}/profile?goal=&revenue=: who its members are.
  std::optional<HttpResponse> Profile(RouteCall& call, AudienceKind kind);

  // GET /api/stages: the stages with their sizes.
  std::optional<HttpResponse> Stages(RouteCall& call);
  // PUT /api/stages {stages: [{name, description, condition}], webhooks, async}.
  std::optional<HttpResponse> SetStages(RouteCall& call);
  // DELETE /api/stages
  std::optional<HttpResponse> DeleteStages(RouteCall& call);

  // GET /api/contacts/{id}/scores: points, persona, stage.
  std::optional<HttpResponse> ScoresOfContact(RouteCall& call);
  // GET /api/contacts/{id}/next-question: the missing trait that decides most rules.
  std::optional<HttpResponse> NextQuestion(RouteCall& call);

 private:
  // A change of the engine's scores by a definition, with a job's progress.
  using DefinitionChange = std::function<absl::StatusOr<ScoreInfo>(
      const ScoreDefinition& definition, std::shared_ptr<JobProgress> progress)>;
  // Reads the score or persona definition in `call`'s body and queues `change` of it as a
  // job of `kind` (JobsApi::Start: answered `success_status` with the score, or 202 with the
  // job). Returns the 400 naming a bad field of the definition, or what JobsApi::Start
  // returns.
  std::optional<HttpResponse> StartJob(RouteCall& call, ScoreList list, std::string kind,
                                       int success_status, DefinitionChange change);
  // The score or persona named `name`; NotFound when there is none of that kind.
  absl::StatusOr<ScoreInfo> FindScore(const std::string& name, ScoreList list) const;
  // The 404 for a persona route whose persona does not exist; nullopt otherwise.
  std::optional<HttpResponse> UnknownAudience(AudienceKind kind, const std::string& name) const;
  // `members` described, with the call's ?goal= and ?revenue=.
  AudienceProfile Describe(const RouteCall& call, const Roaring& members) const;

  ContactReader reader_;
  const Worker* worker_;
  AudienceEngine* engine_;
  JobsApi* jobs_;
};

// A score or persona as JSON: {"name", "id", "description", "image", "persona",
// "threshold", "rules", "decay", "webhooks" (no secrets), "members", "timeDependent",
// "uses", "usedBy", "warnings", "createdAt", "updatedAt"}.
std::string ScoreJson(const ScoreInfo& info);

}  // namespace segmenta
