#include "jobs/job_record.h"

#include "core/json_writer.h"
#include "simdjson.h"

namespace segmenta {

namespace {

constexpr JobState kStates[] = {JobState::kQueued, JobState::kRunning, JobState::kDone,
                                JobState::kFailed, JobState::kCancelled};

}  // namespace

std::string_view JobStateName(JobState state) {
  switch (state) {
    case JobState::kQueued:
      return "queued";
    case JobState::kRunning:
      return "running";
    case JobState::kDone:
      return "done";
    case JobState::kFailed:
      return "failed";
    case JobState::kCancelled:
      return "cancelled";
  }
  return "unknown";
}

std::string JobRecord::Encode() const {
  JsonWriter w;
  w.BeginObject().Field("kind", kind).Field("resultName", result_name);
  w.Field("state", JobStateName(state)).Field("progress", progress);
  w.Field("created", created_ms).Field("started", started_ms).Field("finished", finished_ms);
  w.Field("cancelRequested", cancel_requested);
  w.Field("code", static_cast<int>(error.code())).Field("error", std::string(error.message()));
  w.EndObject();
  std::string value = w.Take();
  value.push_back('\n');
  value.append(result);
  return value;
}

absl::StatusOr<JobRecord> JobRecord::Decode(uint64_t id, std::string_view value) {
  const size_t newline = value.find('\n');
  auto malformed = [id] {
    return absl::DataLossError("malformed record of job " + std::to_string(id) + " in the store");
  };
  if (newline == std::string_view::npos) return malformed();
  simdjson::dom::parser parser;
  simdjson::padded_string padded(value.substr(0, newline));
  simdjson::dom::element root;
  JobRecord job;
  job.id = id;
  std::string_view kind, result_name, state, error;
  int64_t code = 0;
  if (parser.parse(padded).get(root) != simdjson::SUCCESS ||
      root["kind"].get(kind) != simdjson::SUCCESS ||
      root["resultName"].get(result_name) != simdjson::SUCCESS ||
      root["state"].get(state) != simdjson::SUCCESS ||
      root["progress"].get(job.progress) != simdjson::SUCCESS ||
      root["created"].get(job.created_ms) != simdjson::SUCCESS ||
      root["started"].get(job.started_ms) != simdjson::SUCCESS ||
      root["finished"].get(job.finished_ms) != simdjson::SUCCESS ||
      root["cancelRequested"].get(job.cancel_requested) != simdjson::SUCCESS ||
      root["code"].get(code) != simdjson::SUCCESS ||
      root["error"].get(error) != simdjson::SUCCESS) {
    return malformed();
  }
  bool known = false;
  for (JobState s : kStates) {
    if (JobStateName(s) == state) {
      job.state = s;
      known = true;
    }
  }
  if (!known || code < 0 || code > static_cast<int64_t>(absl::StatusCode::kUnauthenticated)) {
    return malformed();
  }
  job.kind = std::string(kind);
  job.result_name = std::string(result_name);
  job.error = absl::Status(static_cast<absl::StatusCode>(code), std::string(error));
  job.result = std::string(value.substr(newline + 1));
  return job;
}

}  // namespace segmenta
