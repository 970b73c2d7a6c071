// The experiment report over HTTP: POST /api/experiments/{key}/report.
#pragma once

#include <optional>

#include "core/clock.h"
#include "ingest/worker.h"
#include "server/http_server.h"
#include "server/route_table.h"

namespace segmenta {

// Thread-safe. A report changes nothing: its route is open to read-only tokens.
class ExperimentsApi {
 public:
  // `worker` and `clock` must outlive the API.
  explicit ExperimentsApi(const Worker* worker, Clock* clock = Clock::Real());

  // POST /api/experiments/{key}/report with {"control", "allocation": {variation: share},
  // "goals": [{"name", "selector", "revenue", "window": "14 days"}], "covariate",
  // "confidence", "correction": "holm"|"bh"|"none", "sequentialTuning"}: the report
  // (docs/api.md); 400 naming the field, 404 when nobody was exposed.
  std::optional<HttpResponse> Report(RouteCall& call);

 private:
  const Worker* worker_;
  Clock* clock_;
};

}  // namespace segmenta
