// The experiment report over HTTP: POST /api/experiments/{key}/report.
#pragma once

#include "core/clock.h"
#include "ingest/worker.h"
#include "server/http_server.h"
#include "server/key_ring.h"

namespace segmenta {

// Thread-safe. Auth as the admin API; a report changes nothing, so read-only tokens may
// ask for one.
class ExperimentsApi {
 public:
  // `worker` and `keys` must outlive the API.
  ExperimentsApi(const Worker* worker, const KeyRing* keys, Clock* clock = Clock::Real());

  static bool Serves(std::string_view path);

  // POST /api/experiments/{key}/report with {"control", "allocation": {variation: share},
  // "goals": [{"name", "selector", "revenue", "window": "14 days"}], "covariate",
  // "confidence", "correction": "holm"|"bh"|"none", "sequentialTuning"}: the report
  // (docs/api.md); 400 naming the field, 404 when nobody was exposed.
  void Handle(const HttpRequest& request, Responder respond);

 private:
  const Worker* worker_;
  const KeyRing* keys_;
  Clock* clock_;
};

}  // namespace segmenta
