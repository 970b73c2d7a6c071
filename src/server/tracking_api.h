// The Segment HTTP Tracking API: POST /v1/identify, /v1/track, /v1/page, /v1/screen,
// /v1/group, /v1/alias, /v1/batch (and /v1/import, its alias), so that any Segment SDK
// pointed at this server works unchanged.
#pragma once

#include "collect/parser.h"
#include "core/clock.h"
#include "ingest/worker.h"
#include "server/http_server.h"
#include "server/key_ring.h"

namespace segmenta {

// Thread-safe: one parser per io thread, the worker and key ring are thread-safe.
class TrackingApi {
 public:
  // `worker`, `keys` and `clock` must outlive the API.
  TrackingApi(Worker* worker, const KeyRing* keys, Limits limits = {},
              Clock* clock = Clock::Real());

  // Answers a request under /v1/. Auth: a write key as the HTTP Basic username, or, when
  // there is no Authorization header, `writeKey` in the body; else 401. A body with any
  // invalid message gets 400 naming each one (index, field, reason). Otherwise the messages
  // go to the worker and the 200 {"success":true} is sent once they are fsynced; a worker
  // error gives 500 (503 with Retry-After when its queue is full). Nothing is stored
  // unless the answer is 200.
  void Handle(const HttpRequest& request, Responder respond);

 private:
  Worker* worker_;
  const KeyRing* keys_;
  Limits limits_;
  Clock* clock_;
};

}  // namespace segmenta
