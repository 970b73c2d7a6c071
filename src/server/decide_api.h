// Personalization over HTTP: POST /v1/decide (write key, as collection), the experiences
// under /api/experiences and the e-mail templates under /api/emails (admin token; read-only
// tokens for reads and renders). The routes are in api.cc's table; docs/api.md has them.
#pragma once

#include <optional>

#include "decide/decider.h"
#include "server/http_server.h"
#include "server/route_table.h"

namespace segmenta {

// Thread-safe. Route handlers (route_table.h), each named after what it answers.
class DecideApi {
 public:
  // `decider` and `clock` must outlive the API.
  // REQUIRES: `decider` is not null (api.cc answers 503 without one).
  DecideApi(Decider* decider, Clock* clock = Clock::Real());

  // POST /v1/decide {"userId" | "anonymousId", "slots": [...], "context": {...}}
  //   -> {"decisions": [{"slot", "variation", "payload", "reason", "experiment",
  //   "exposed"}]}; 400 naming the field (an unknown slot, a malformed context).
  std::optional<HttpResponse> Decide(RouteCall& call);

  // GET /api/experiences; GET|PUT|DELETE /api/experiences/{slot} with {"description",
  //   "variations": [{"name", "condition", "payload"}], "default", "experiment",
  //   "audience", "allocation": {variation: percent}, "control": percent}.
  std::optional<HttpResponse> ListExperiences(RouteCall& call);
  std::optional<HttpResponse> GetExperience(RouteCall& call);
  std::optional<HttpResponse> PutExperience(RouteCall& call);
  std::optional<HttpResponse> DeleteExperience(RouteCall& call);

  // GET /api/emails; GET|PUT|DELETE /api/emails/{name} with {"subject", "body",
  //   "defaults": {trait: value}}; POST /api/emails/{name}/render with {"contact": ID}
  //   -> {"contactId", "email", "subject", "body"}, or {"group" | "persona" | "stage": NAME}
  //   -> JSONL, one e-mail per line, then {"summary": {"rendered", "skipped": [...]}}.
  std::optional<HttpResponse> ListTemplates(RouteCall& call);
  std::optional<HttpResponse> GetTemplate(RouteCall& call);
  std::optional<HttpResponse> PutTemplate(RouteCall& call);
  std::optional<HttpResponse> DeleteTemplate(RouteCall& call);
  std::optional<HttpResponse> Render(RouteCall& call);

 private:
  Decider* decider_;
  Clock* clock_;
};

}  // namespace segmenta
