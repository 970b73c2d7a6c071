#include "server/tracking_api.h"

#include <memory>
#include <set>
#include <utility>

#include "core/json_writer.h"
#include "fmt/format.h"
#include "server/replies.h"

namespace segmenta {
namespace {

bool SameLimits(const Limits& a, const Limits& b) {
  return a.max_message_bytes == b.max_message_bytes && a.max_batch_bytes == b.max_batch_bytes &&
         a.max_batch_messages == b.max_batch_messages && a.max_depth == b.max_depth;
}

// MessageParser is not thread-safe and keeps buffers worth reusing: one per io thread.
MessageParser& ThreadParser(const Limits& limits) {
  thread_local std::unique_ptr<MessageParser> parser;
  if (parser == nullptr || !SameLimits(parser->limits(), limits)) {
    parser = std::make_unique<MessageParser>(limits);
  }
  return *parser;
}

std::string ErrorsJson(const std::vector<FieldError>& errors) {
  JsonWriter w;
  w.BeginArray();
  for (const FieldError& error : errors) {
    w.BeginObject();
    if (error.index >= 0) w.Field("index", error.index);
    w.Field("field", error.field).Field("reason", error.reason).EndObject();
  }
  w.EndArray();
  return w.Take();
}

HttpResponse Invalid(const std::vector<FieldError>& errors, size_t messages) {
  std::set<int> bad;
  bool body_error = false;
  for (const FieldError& error : errors) {
    if (error.index >= 0) {
      bad.insert(error.index);
    } else {
      body_error = true;
    }
  }
  std::string message;
  if (body_error || bad.empty()) {
    message = fmt::format("the request body is invalid: {}; nothing was stored",
                          errors.empty() ? "" : errors.front().reason);
  } else if (bad.size() == 1) {
    message = fmt::format("1 message of {} is invalid; nothing was stored",
                          std::max<size_t>(messages, 1));
  } else {
    message = fmt::format("{} messages are invalid; nothing was stored", bad.size());
  }
  return ErrorResponse(400, "invalid_request", message, ErrorsJson(errors));
}

}  // namespace

TrackingApi::TrackingApi(Worker* worker, Limits limits, Clock* clock)
    : worker_(worker), limits_(limits), clock_(clock) {}

RouteHandler TrackingApi::Handler(Endpoint endpoint) {
  return [this, endpoint](RouteCall& call) { return Collect(call, endpoint); };
}

std::optional<HttpResponse> TrackingApi::Collect(RouteCall& call, Endpoint endpoint) {
  ParseResult parsed = ThreadParser(limits_).Parse(call.request().body, endpoint, clock_->Now());
  if (auto refused = call.AuthorizeWriteKey(parsed.write_key)) return refused;
  std::string note = fmt::format("key={} messages={}", call.key()->id, parsed.messages.size());
  if (!parsed.errors.empty()) {
    HttpResponse response = Invalid(parsed.errors, parsed.messages.size());
    response.log_note = std::move(note);
    return response;
  }
  auto success = [note = std::move(note)] {
    HttpResponse response;
    response.body = R"({"success":true})";
    response.log_note = note;
    AddCors(&response);
    return response;
  };
  if (parsed.messages.empty()) return success();

  worker_->Submit(std::move(parsed.messages), [respond = call.respond(),
                                               success](absl::StatusOr<IngestResult> result) {
    if (result.ok()) return respond(success());
    const absl::Status& status = result.status();
    HttpResponse response;
    if (absl::IsResourceExhausted(status)) {
      response = ErrorResponse(503, "overloaded", std::string(status.message()));
      response.headers.emplace_back("Retry-After", "1");
    } else if (absl::IsInvalidArgument(status)) {
      response = ErrorResponse(400, "invalid_request", std::string(status.message()));
    } else {
      response = ErrorResponse(
          500, "store_error",
          fmt::format("the messages were not stored: {}", std::string(status.message())));
    }
    AddCors(&response);
    respond(std::move(response));
  });
  return std::nullopt;
}

}  // namespace segmenta
