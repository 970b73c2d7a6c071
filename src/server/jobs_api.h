// Jobs over HTTP: starting a long computation from a request (answered when it ends, or at
// once with 202 and the job to poll), and GET /api/jobs, GET|DELETE /api/jobs/{id}.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "jobs/job_runner.h"
#include "server/http_server.h"
#include "server/route_table.h"

namespace segmenta {

// A job as JSON: {"id": "job-N", "kind", "state": queued|running|done|failed|cancelled,
// "progress": 0..1, "createdAt", "startedAt", "finishedAt" (null until then),
// "cancelRequested" (while a cancelled job still runs), RESULT_NAME: the result when done
// (with `with_result`), "error" when failed or cancelled}.
std::string JobJson(const JobRecord& job, bool with_result = true);

// `progress` as the shared pointer that the audience engine's definition changes take,
// without owning it: valid while the job's computation runs, as long as they use it.
inline std::shared_ptr<JobProgress> Unowned(JobProgress& progress) {
  return std::shared_ptr<JobProgress>(std::shared_ptr<JobProgress>(), &progress);
}

// The computation of a job that changes the audience engine's definitions: calls
// `change(std::shared_ptr<JobProgress>)` with the job's progress (Unowned) and answers the
// StatusOr it returns as JSON, as `to_json` writes its value, or as its error.
template <typename Change, typename ToJson>
JobRunner::Computation DefinitionChangeJob(Change change, ToJson to_json) {
  return [change = std::move(change),
          to_json = std::move(to_json)](JobProgress& progress) -> absl::StatusOr<std::string> {
    auto changed = change(Unowned(progress));
    if (!changed.ok()) return changed.status();
    return to_json(*changed);
  };
}

// Thread-safe.
class JobsApi {
 public:
  // `runner` must outlive the API.
  explicit JobsApi(JobRunner* runner) : runner_(runner) {}

  // Queues `computation` as a job for `call`, and answers it later through call.respond():
  // when `async`, with 202, the job (queued) and a Location to poll, once the job is kept in
  // the store (JobRunner::RecordedCallback: its id then outlives a restart); otherwise with
  // `success_status` and the result once the job is done, or the error's answer
  // (StatusReply; 503 when the server stopped first). Returns nullopt, or the answer when
  // the job cannot be queued (503 while the server stops). Never waits for the disk.
  std::optional<HttpResponse> Start(RouteCall& call, std::string kind, std::string result_name,
                                    JobRunner::Computation computation, bool async,
                                    int success_status);

  // GET /api/jobs?limit=&cursor=: {"jobs": [JOB without its result, newest first],
  // "nextCursor"}; limit 1..1000, default 50.
  std::optional<HttpResponse> List(RouteCall& call);
  // GET /api/jobs/{id}: the job; 404 for an unknown or pruned id.
  std::optional<HttpResponse> Get(RouteCall& call);
  // DELETE /api/jobs/{id}: cancels the job (JobRunner::Cancel) and answers it as it stands;
  // 404 for an unknown id, 409 when it has already ended.
  std::optional<HttpResponse> Cancel(RouteCall& call);

 private:
  // `op` of the job named `id` ("job-N"), answered: the job, or its error (404 for an id
  // that is no job's).
  HttpResponse Answer(const std::string& id,
                      const std::function<absl::StatusOr<JobRecord>(uint64_t)>& op);

  JobRunner* runner_;
};

}  // namespace segmenta
