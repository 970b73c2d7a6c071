#include "server/tracking_api.h"

#include <memory>
#include <set>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "core/json_writer.h"
#include "fmt/format.h"
#include "server/replies.h"
#include "spdlog/spdlog.h"

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

bool EndpointOf(std::string_view path, Endpoint* endpoint) {
  static constexpr std::pair<std::string_view, Endpoint> kRoutes[] = {
      {"/v1/identify", Endpoint::kIdentify}, {"/v1/track", Endpoint::kTrack},
      {"/v1/page", Endpoint::kPage},         {"/v1/p", Endpoint::kPage},
      {"/v1/screen", Endpoint::kScreen},     {"/v1/group", Endpoint::kGroup},
      {"/v1/alias", Endpoint::kAlias},       {"/v1/batch", Endpoint::kBatch},
      {"/v1/import", Endpoint::kBatch},      {"/v1/i", Endpoint::kIdentify},
      {"/v1/t", Endpoint::kTrack},           {"/v1/s", Endpoint::kScreen},
      {"/v1/g", Endpoint::kGroup},           {"/v1/a", Endpoint::kAlias},
      {"/v1/b", Endpoint::kBatch},
  };
  if (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  for (const auto& [route, value] : kRoutes) {
    if (path == route) {
      *endpoint = value;
      return true;
    }
  }
  return false;
}

// Browsers (analytics.js on another origin) may call the API directly.
void AddCors(HttpResponse* response) {
  response->headers.emplace_back("Access-Control-Allow-Origin", "*");
}

HttpResponse Unauthorized(std::string_view message) {
  HttpResponse response = ErrorResponse(401, "unauthorized", message);
  response.headers.emplace_back("WWW-Authenticate", "Basic realm=\"segmenta\"");
  AddCors(&response);
  return response;
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
  HttpResponse response = ErrorResponse(400, "invalid_request", message, ErrorsJson(errors));
  AddCors(&response);
  return response;
}

}  // namespace

TrackingApi::TrackingApi(Worker* worker, const KeyRing* keys, Limits limits, Clock* clock)
    : worker_(worker), keys_(keys), limits_(limits), clock_(clock) {}

void TrackingApi::Handle(const HttpRequest& request, Responder respond) {
  Endpoint endpoint;
  if (!EndpointOf(request.path, &endpoint)) {
    HttpResponse response =
        ErrorResponse(404, "not_found", fmt::format("no endpoint {}", request.path));
    AddCors(&response);
    return respond(std::move(response));
  }
  if (request.method == "OPTIONS") {  // CORS preflight
    HttpResponse response;
    response.status = 204;
    AddCors(&response);
    response.headers.emplace_back("Access-Control-Allow-Methods", "POST, OPTIONS");
    response.headers.emplace_back("Access-Control-Allow-Headers",
                                  "Authorization, Content-Type, Content-Encoding");
    response.headers.emplace_back("Access-Control-Max-Age", "86400");
    return respond(std::move(response));
  }
  if (request.method != "POST") {
    HttpResponse response =
        ErrorResponse(405, "method_not_allowed", fmt::format("{} accepts POST only", request.path));
    response.headers.emplace_back("Allow", "POST, OPTIONS");
    AddCors(&response);
    return respond(std::move(response));
  }

  // A key in the header is checked before the body is parsed; one in the body after.
  std::string_view authorization = request.Header("authorization");
  std::string key;
  bool from_header = !authorization.empty();
  if (from_header && !BasicUsername(authorization, &key)) {
    return respond(Unauthorized(
        "use HTTP Basic auth with the write key as the username (\"Authorization: Basic "
        "base64(writeKey:)\")"));
  }
  absl::StatusOr<KeyRecord> record = absl::NotFoundError("");
  if (from_header) {
    if (key.empty()) return respond(Unauthorized("the write key (Basic auth username) is empty"));
    record = keys_->Check(key);
    if (!record.ok()) return respond(Unauthorized("unknown write key"));
  }

  ParseResult parsed = ThreadParser(limits_).Parse(request.body, endpoint, clock_->Now());

  if (!from_header) {
    if (parsed.write_key.empty()) {
      return respond(Unauthorized(
          "a write key is required: HTTP Basic auth with the write key as the username, or "
          "\"writeKey\" in the body"));
    }
    record = keys_->Check(parsed.write_key);
    if (!record.ok()) return respond(Unauthorized("unknown write key"));
  }
  if (record->kind != KeyKind::kWrite) {
    return respond(Unauthorized(fmt::format("key {} is an {} key, not a write key", record->id,
                                            KeyKindName(record->kind))));
  }
  std::string note = fmt::format("key={} messages={}", record->id, parsed.messages.size());
  if (!parsed.errors.empty()) {
    HttpResponse response = Invalid(parsed.errors, parsed.messages.size());
    response.log_note = std::move(note);
    return respond(std::move(response));
  }
  auto success = [note = std::move(note)] {
    HttpResponse response;
    response.body = R"({"success":true})";
    response.log_note = note;
    AddCors(&response);
    return response;
  };
  if (parsed.messages.empty()) return respond(success());

  worker_->Submit(
      std::move(parsed.messages), [respond, success](absl::StatusOr<IngestResult> result) {
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
}

}  // namespace segmenta
