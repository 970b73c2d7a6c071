// The Segment HTTP Tracking API: POST /v1/identify, /v1/track, /v1/page, /v1/screen,
// /v1/group, /v1/alias, /v1/batch (and /v1/import, its alias), so that any Segment SDK
// pointed at this server works unchanged.
#pragma once

#include <optional>

#include "collect/parser.h"
#include "core/clock.h"
#include "ingest/worker.h"
#include "server/http_server.h"
#include "server/route_table.h"

namespace segmenta {

// Thread-safe: one parser per io thread, the worker is thread-safe.
class TrackingApi {
 public:
  // `worker` and `clock` must outlive the API.
  explicit TrackingApi(Worker* worker, Limits limits = {}, Clock* clock = Clock::Real());

  // The handler of the route of `endpoint` (a write-key route, Body::kRaw). A body with any
  // invalid message gets 400 naming each one (index, field, reason). Otherwise the messages
  // go to the worker and the 200 {"success":true} is sent once they are fsynced; a worker
  // error gives 500 (503 with Retry-After when its queue is full). Nothing is stored
  // unless the answer is 200.
  RouteHandler Handler(Endpoint endpoint);

 private:
  std::optional<HttpResponse> Collect(RouteCall& call, Endpoint endpoint);

  Worker* worker_;
  Limits limits_;
  Clock* clock_;
};

}  // namespace segmenta
