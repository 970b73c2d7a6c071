// Everything `segmenta serve` answers, as one HttpHandler: the collection API under /v1/,
// the admin API under /api/ and /health, as one route table (api.cc; docs/api.md lists the
// same routes), 404 elsewhere.
#pragma once

#include <optional>
#include <type_traits>
#include <vector>

#include "collect/parser.h"
#include "core/clock.h"
#include "ingest/worker.h"
#include "jobs/job_runner.h"
#include "segments/engine.h"
#include "server/admin_api.h"
#include "server/decide_api.h"
#include "server/experiments_api.h"
#include "server/groups_api.h"
#include "server/http_server.h"
#include "server/jobs_api.h"
#include "server/key_ring.h"
#include "server/personas_api.h"
#include "server/route_table.h"
#include "server/tracking_api.h"
#include "store/store.h"

namespace segmenta {

// Thread-safe.
class Api {
 public:
  // `store`, `worker`, `keys`, `engine`, `jobs` and `clock` must outlive the API. The jobs
  // it starts on `jobs` call `engine`, not the API: stop `jobs` before `engine` goes.
  // `decider` may be null (personalization routes answer 503).
  Api(Store* store, Worker* worker, KeyRing* keys, AudienceEngine* engine, JobRunner* jobs,
      Limits limits = {}, Clock* clock = Clock::Real(), Decider* decider = nullptr);

  void Handle(const HttpRequest& request, Responder respond);

  // A handler for HttpServer::Start that calls Handle(). The API must outlive the server.
  HttpHandler AsHandler() {
    return [this](const HttpRequest& request, Responder respond) {
      Handle(request, std::move(respond));
    };
  }

  // Every route the API answers.
  const RouteTable& routes() const { return routes_; }

 private:
  std::vector<Route> Table();
  // A route handler calling `method` of this API's object of its class, with `args`.
  template <typename Handlers, typename... Args>
  RouteHandler On(std::optional<HttpResponse> (Handlers::*method)(RouteCall&, Args...),
                  std::type_identity_t<Args>... args);
  // This API's object of class `Handlers`; null for personalization without a decider.
  template <typename Handlers>
  Handlers* Object();

  TrackingApi tracking_;
  AdminApi admin_;
  JobsApi jobs_;
  GroupsApi groups_;
  PersonasApi personas_;
  ExperimentsApi experiments_;
  std::optional<DecideApi> decide_;  // with a decider
  RouteTable routes_;                // last: its handlers call the objects above
};

}  // namespace segmenta
