#include "server/jobs_api.h"

#include <charconv>
#include <utility>

#include "core/json_writer.h"
#include "core/time_format.h"
#include "fmt/format.h"
#include "server/replies.h"

namespace segmenta {
namespace {

constexpr std::string_view kIdPrefix = "job-";

std::string JobId(uint64_t id) { return fmt::format("{}{}", kIdPrefix, id); }

// The number of a "job-N" id; false when `text` is not one.
bool ParseJobId(std::string_view text, uint64_t* id) {
  if (!text.starts_with(kIdPrefix)) return false;
  text.remove_prefix(kIdPrefix.size());
  uint64_t number = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), number);
  if (text.empty() || error != std::errc() || end != text.data() + text.size() || number == 0) {
    return false;
  }
  *id = number;
  return true;
}

void TimeField(JsonWriter& w, std::string_view key, int64_t ms) {
  w.Key(key);
  if (ms == 0) {
    w.Null();
  } else {
    w.String(FormatTimestamp(FromMillis(ms)));
  }
}

HttpResponse NoJob(std::string_view id) {
  return ErrorResponse(404, "not_found", fmt::format("no job \"{}\"", id));
}

HttpResponse ShuttingDown() {
  return ErrorResponse(503, "shutting_down", "the server is stopping; send it again");
}

}  // namespace

std::string JobJson(const JobRecord& job, bool with_result) {
  JsonWriter w;
  w.BeginObject().Field("id", JobId(job.id)).Field("kind", job.kind);
  w.Field("state", JobStateName(job.state)).Field("progress", job.progress);
  TimeField(w, "createdAt", job.created_ms);
  TimeField(w, "startedAt", job.started_ms);
  TimeField(w, "finishedAt", job.finished_ms);
  if (job.cancel_requested && !job.ended()) w.Field("cancelRequested", true);
  if (job.state == JobState::kDone && with_result) w.Key(job.result_name).Raw(job.result);
  if (job.state == JobState::kFailed || job.state == JobState::kCancelled) {
    w.Field("error", std::string(job.error.message()));
  }
  w.EndObject();
  return w.Take();
}

std::optional<HttpResponse> JobsApi::Start(RouteCall& call, std::string kind,
                                           std::string result_name,
                                           JobRunner::Computation computation, bool async,
                                           int success_status) {
  // The answer, from a thread of the runner: the error's, or `ok` with the request's note.
  auto answer = [respond = call.respond(), note = call.KeyNote()](absl::StatusOr<HttpResponse> ok) {
    HttpResponse response;
    if (ok.ok()) {
      response = *std::move(ok);
    } else if (absl::IsUnavailable(ok.status())) {
      response = ShuttingDown();
    } else {
      response = StatusReply(ok.status());
    }
    response.log_note = note;
    respond(std::move(response));
  };
  JobRunner::EndCallback on_end;
  JobRunner::RecordedCallback on_recorded;
  if (async) {
    on_recorded = [answer](absl::StatusOr<JobRecord> job) {
      if (!job.ok()) return answer(job.status());
      HttpResponse r = JsonReply(202, JobJson(*job));
      r.headers.emplace_back("Location", "/api/jobs/" + JobId(job->id));
      answer(std::move(r));
    };
  } else {
    on_end = [answer, success_status](const JobRecord& job) {
      if (job.state != JobState::kDone) return answer(job.error);
      answer(JsonReply(success_status, job.result));
    };
  }
  absl::StatusOr<JobRecord> job =
      runner_->Submit(std::move(kind), std::move(result_name), std::move(computation),
                      std::move(on_end), std::move(on_recorded));
  if (absl::IsUnavailable(job.status())) return ShuttingDown();
  if (!job.ok()) return StatusReply(job.status());
  return std::nullopt;
}

std::optional<HttpResponse> JobsApi::List(RouteCall& call) {
  size_t limit = 50;
  if (auto text = call.Query("limit")) {
    if (auto error = ParseCount("limit", *text, 1, 1000, &limit)) return error;
  }
  uint64_t from = 0;
  if (auto cursor = call.Query("cursor"); cursor && !ParseJobId(*cursor, &from)) {
    return BadParameter("cursor", "must be a nextCursor of this list (a job id)");
  }
  absl::StatusOr<JobRunner::Page> page = runner_->List(from, limit);
  if (!page.ok()) return StatusReply(page.status());
  JsonWriter w;
  w.BeginObject().Key("jobs").BeginArray();
  for (const JobRecord& job : page->jobs) w.Raw(JobJson(job, /*with_result=*/false));
  w.EndArray().Key("nextCursor");
  if (page->next == 0) {
    w.Null();
  } else {
    w.String(JobId(page->next));
  }
  w.EndObject();
  return JsonReply(200, w.Take());
}

std::optional<HttpResponse> JobsApi::Get(RouteCall& call) {
  return Answer(call.param("id"), [this](uint64_t id) { return runner_->Get(id); });
}

std::optional<HttpResponse> JobsApi::Cancel(RouteCall& call) {
  // 409 (FailedPrecondition) once the job has ended.
  return Answer(call.param("id"), [this](uint64_t id) { return runner_->Cancel(id); });
}

HttpResponse JobsApi::Answer(const std::string& id,
                             const std::function<absl::StatusOr<JobRecord>(uint64_t)>& op) {
  uint64_t number;
  if (!ParseJobId(id, &number)) return NoJob(id);
  absl::StatusOr<JobRecord> job = op(number);
  if (absl::IsNotFound(job.status())) return NoJob(id);
  if (!job.ok()) return StatusReply(job.status());
  return JsonReply(200, JobJson(*job));
}

}  // namespace segmenta
