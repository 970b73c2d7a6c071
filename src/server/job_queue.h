// Definition changes that evaluate over every contact (creating or editing a group, a
// score, a persona, the stages) run one at a time on a job thread, never on an io thread:
// the request is answered when its job ends, or at once with 202 and a job to poll.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "segments/engine.h"
#include "server/http_server.h"

namespace segmenta {

// Thread-safe.
class JobQueue {
 public:
  // Runs a change with its progress; returns the JSON of what it made.
  using Run = std::function<absl::StatusOr<std::string>(std::shared_ptr<JobProgress>)>;

  JobQueue();
  // Waits for the job in progress, drops the queued ones (answered 503).
  ~JobQueue();

  // Queues `run`. When `async`, answers 202 now with the job (and a Location to poll);
  // otherwise returns nullopt and `respond` gets `success_status` and the result (or the
  // error) when the job ends. `result_key` names the result in the job's JSON ("group").
  std::optional<HttpResponse> Start(std::string kind, std::string result_key, Run run, bool async,
                                    int success_status, const Responder& respond);

  // {"id", "kind", "state": queued|running|done|failed, "progress": 0..1, result_key: the
  // result when done, "error" when failed}; nullopt for an unknown id.
  std::optional<std::string> Describe(std::string_view id);

 private:
  struct Job {
    std::string id;
    std::string kind;
    std::string result_key;
    std::string state = "queued";
    std::shared_ptr<JobProgress> progress = std::make_shared<JobProgress>();
    std::string result;
    int success_status = 200;
    absl::Status error;
    Run run;
    std::vector<Responder> waiters;
  };

  void Loop();
  std::string JobJson(const Job& job) const;

  std::mutex mu_;
  std::condition_variable cv_;
  absl::flat_hash_map<std::string, std::shared_ptr<Job>> jobs_;
  std::deque<std::shared_ptr<Job>> queue_;
  uint64_t next_job_ = 1;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace segmenta
