#include "server/job_queue.h"

#include <pthread.h>

#include "core/json_writer.h"
#include "fmt/format.h"
#include "server/replies.h"

namespace segmenta {

JobQueue::JobQueue() {
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "jobs");
    Loop();
  });
}

JobQueue::~JobQueue() {
  std::deque<std::shared_ptr<Job>> dropped;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    dropped.swap(queue_);
  }
  cv_.notify_all();
  thread_.join();
  for (auto& job : dropped) {
    for (Responder& r : job->waiters) {
      r(ErrorResponse(503, "shutting_down", "the server is stopping; send it again"));
    }
  }
}

std::optional<HttpResponse> JobQueue::Start(std::string kind, std::string result_key, Run run,
                                            bool async, int success_status,
                                            const Responder& respond) {
  auto job = std::make_shared<Job>();
  job->kind = std::move(kind);
  job->result_key = std::move(result_key);
  job->run = std::move(run);
  std::string body;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return ErrorResponse(503, "shutting_down", "the server is stopping");
    job->id = fmt::format("job-{}", next_job_++);
    job->success_status = success_status;
    // Answered by the job thread when it ends.
    if (!async) job->waiters.push_back(respond);
    jobs_[job->id] = job;
    queue_.push_back(job);
    body = JobJson(*job);
  }
  cv_.notify_one();
  if (!async) return std::nullopt;
  HttpResponse r = JsonReply(202, std::move(body));
  r.headers.emplace_back("Location", "/api/jobs/" + job->id);
  return r;
}

std::optional<std::string> JobQueue::Describe(std::string_view id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = jobs_.find(std::string(id));
  if (it == jobs_.end()) return std::nullopt;
  return JobJson(*it->second);
}

void JobQueue::Loop() {
  while (true) {
    std::shared_ptr<Job> job;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;
      job = queue_.front();
      queue_.pop_front();
      job->state = "running";
    }
    absl::StatusOr<std::string> result = job->run(job->progress);
    std::vector<Responder> waiters;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (result.ok()) {
        job->state = "done";
        job->result = *result;
      } else {
        job->state = "failed";
        job->error = result.status();
      }
      job->progress->fraction = 1.0;
      waiters.swap(job->waiters);
      job->run = nullptr;
    }
    for (Responder& r : waiters) {
      r(result.ok() ? JsonReply(job->success_status, *result) : StatusReply(result.status()));
    }
  }
}

std::string JobQueue::JobJson(const Job& job) const {
  JsonWriter w;
  w.BeginObject().Field("id", job.id).Field("kind", job.kind).Field("state", job.state);
  w.Field("progress", job.progress->fraction.load());
  if (job.state == "done") w.Key(job.result_key).Raw(job.result);
  if (job.state == "failed") w.Field("error", std::string(job.error.message()));
  w.EndObject();
  return w.Take();
}

}  // namespace segmenta
