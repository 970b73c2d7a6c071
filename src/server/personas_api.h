// The API of scores, buyer personas and lifecycle stages, a contact's points and next
// question, and the audience analysis of groups and personas.
#pragma once

#include <string>

#include "ingest/worker.h"
#include "profile/contact_reader.h"
#include "segments/engine.h"
#include "server/http_server.h"
#include "server/job_queue.h"
#include "server/key_ring.h"

namespace segmenta {

// Thread-safe. Auth as the admin API (admin token; read-only tokens for GET). Definition
// changes run as jobs (job_queue.h), answered when done or at once with "async": true.
class PersonasApi {
 public:
  // Every argument must outlive the API.
  PersonasApi(const Store* store, const Worker* worker, GroupEngine* engine, const KeyRing* keys,
              JobQueue* jobs);

  // True for the paths this API answers.
  static bool Serves(std::string_view path);

  // Routes:
  //   GET    /api/personas                      every persona with its size
  //   POST   /api/personas                      create {name, description, image, threshold,
  //                                             rules: [{type: attribute|activity|macro,
  //                                             condition | activity, points, within, cap}],
  //                                             webhooks, async}; 201
  //   GET    /api/personas/{name}?goal=&revenue=  the persona, its members count, the
  //                                             distribution of its scores and a profile of
  //                                             its members
  //   PUT    /api/personas/{name}               replace its rules; recomputes every score
  //   DELETE /api/personas/{name}               409 when conditions read it
  //   GET    /api/personas/{name}/members?limit=&cursor=&expand=contacts
  //   GET    /api/personas/{name}/history?limit=
  //   GET    /api/personas/{name}/completeness  the traits its rules read, how complete
  //   GET    /api/scores, POST /api/scores, GET|PUT|DELETE /api/scores/{name}: as personas,
  //                                             with "decay": {"every": "30 days",
  //                                             "percent": 25} and no threshold
  //   GET    /api/stages                        the stages with their sizes
  //   PUT    /api/stages                        {stages: [{name, description, condition}],
  //                                             webhooks, async}
  //   DELETE /api/stages
  //   GET    /api/stages/{name}/members|history|completeness
  //   GET    /api/groups/{name}/profile|completeness
  //   GET    /api/contacts/{id}/scores          points, persona, stage
  //   GET    /api/contacts/{id}/next-question   the missing trait that decides most rules
  void Handle(const HttpRequest& request, Responder respond);

 private:
  std::optional<HttpResponse> Route(const HttpRequest& request, const Responder& respond);

  ContactReader reader_;
  const Worker* worker_;
  GroupEngine* engine_;
  const KeyRing* keys_;
  JobQueue* jobs_;
};

// A score or persona as JSON: {"name", "id", "description", "image", "persona",
// "threshold", "rules", "decay", "webhooks" (no secrets), "members", "timeDependent",
// "uses", "usedBy", "warnings", "createdAt", "updatedAt"}.
std::string ScoreJson(const ScoreInfo& info);

}  // namespace segmenta
