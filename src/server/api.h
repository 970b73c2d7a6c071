// Everything `segmenta serve` answers, as one HttpHandler: the tracking API under /v1/,
// the admin API under /api/ and /health, 404 elsewhere.
#pragma once

#include "collect/parser.h"
#include "core/clock.h"
#include "ingest/worker.h"
#include "segments/engine.h"
#include "server/admin_api.h"
#include "server/decide_api.h"
#include "server/experiments_api.h"
#include "server/groups_api.h"
#include "server/http_server.h"
#include "server/key_ring.h"
#include "server/personas_api.h"
#include "server/tracking_api.h"
#include "store/store.h"

namespace segmenta {

// Thread-safe.
class Api {
 public:
  // `store`, `worker`, `keys`, `groups` and `clock` must outlive the API.
  // `decider` may be null (personalization routes answer 503).
  Api(Store* store, Worker* worker, KeyRing* keys, GroupEngine* groups, Limits limits = {},
      Clock* clock = Clock::Real(), Decider* decider = nullptr);

  void Handle(const HttpRequest& request, Responder respond);

  // A handler for HttpServer::Start that calls Handle(). The API must outlive the server.
  HttpHandler AsHandler() {
    return [this](const HttpRequest& request, Responder respond) {
      Handle(request, std::move(respond));
    };
  }

 private:
  JobQueue jobs_;  // before the APIs that start jobs: destroyed after them
  TrackingApi tracking_;
  AdminApi admin_;
  GroupsApi groups_;
  PersonasApi personas_;
  ExperimentsApi experiments_;
  DecideApi decide_;
};

}  // namespace segmenta
