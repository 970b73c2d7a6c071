#include "server/replies.h"

#include <charconv>

#include "core/json_writer.h"
#include "fmt/format.h"

namespace segmenta {

HttpResponse JsonReply(int status, std::string body) {
  HttpResponse response;
  response.status = status;
  response.body = std::move(body);
  return response;
}

HttpResponse BadParameter(std::string_view name, std::string_view reason) {
  JsonWriter w;
  w.BeginArray().BeginObject().Field("field", name).Field("reason", reason).EndObject().EndArray();
  return ErrorResponse(400, "invalid_parameter", fmt::format("{}: {}", name, reason), w.str());
}

HttpResponse MethodNotAllowed(std::string_view path, std::string_view allow) {
  HttpResponse response =
      ErrorResponse(405, "method_not_allowed", fmt::format("{} accepts {} only", path, allow));
  response.headers.emplace_back("Allow", std::string(allow));
  return response;
}

HttpResponse StatusReply(const absl::Status& status) {
  std::string message(status.message());
  switch (status.code()) {
    case absl::StatusCode::kNotFound:
      return ErrorResponse(404, "not_found", message);
    case absl::StatusCode::kAlreadyExists:
      return ErrorResponse(409, "already_exists", message);
    case absl::StatusCode::kInvalidArgument:
      return ErrorResponse(400, "invalid_request", message);
    case absl::StatusCode::kFailedPrecondition:
      return ErrorResponse(409, "conflict", message);
    case absl::StatusCode::kCancelled:
      return ErrorResponse(409, "cancelled", message);
    case absl::StatusCode::kResourceExhausted: {
      HttpResponse r = ErrorResponse(503, "overloaded", message);
      r.headers.emplace_back("Retry-After", "1");
      return r;
    }
    default:
      return ErrorResponse(500, "store_error", message);
  }
}

HttpResponse DeletedReply(const absl::Status& deleted) {
  if (!deleted.ok()) return StatusReply(deleted);
  return JsonReply(200, R"({"deleted":true})");
}

HttpResponse ContactReply(const ContactReader& reader, std::string_view identity,
                          absl::FunctionRef<absl::Status(ContactId contact, JsonWriter& w)> write) {
  absl::StatusOr<Contact> contact = reader.Find(identity);
  if (!contact.ok()) return StatusReply(contact.status());
  JsonWriter w;
  w.BeginObject().Field("contactId", std::to_string(contact->id));
  if (absl::Status written = write(contact->id, w); !written.ok()) return StatusReply(written);
  w.EndObject();
  return JsonReply(200, w.Take());
}

std::optional<HttpResponse> ParseCount(std::string_view name, std::string_view text, size_t min,
                                       size_t max, size_t* value) {
  size_t parsed = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), parsed);
  if (text.empty() || ec != std::errc() || ptr != text.data() + text.size() || parsed < min ||
      parsed > max) {
    return BadParameter(
        name, fmt::format("must be an integer from {} to {}, not \"{}\"", min, max, text));
  }
  *value = parsed;
  return std::nullopt;
}

std::optional<HttpResponse> ReadWebhooksField(simdjson::dom::element root,
                                              std::vector<Webhook>* out) {
  simdjson::dom::element e;
  if (root["webhooks"].get(e) == simdjson::SUCCESS) {
    simdjson::dom::array list;
    if (e.get(list) != simdjson::SUCCESS) return BadParameter("webhooks", "must be an array");
    size_t i = 0;
    for (simdjson::dom::element item : list) {
      Webhook hook;
      std::string_view url, secret;
      if (item["url"].get(url) != simdjson::SUCCESS) {
        return BadParameter(fmt::format("webhooks[{}].url", i), "is required");
      }
      if (item["secret"].get(secret) != simdjson::SUCCESS) {
        return BadParameter(fmt::format("webhooks[{}].secret", i),
                            "is required: it signs each delivery");
      }
      hook.url = std::string(url);
      hook.secret = std::string(secret);
      bool flag;
      if (item["enter"].get(flag) == simdjson::SUCCESS) hook.enter = flag;
      if (item["exit"].get(flag) == simdjson::SUCCESS) hook.exit = flag;
      out->push_back(std::move(hook));
      ++i;
    }
  }
  return std::nullopt;
}

std::string MembersJson(std::string_view key, std::string_view name, const MembersPage& page,
                        const ContactReader* expand_with) {
  JsonWriter w;
  w.BeginObject().Field(key, name).Key("members").BeginArray();
  for (ContactId c : page.contacts) {
    if (expand_with == nullptr) {
      w.String(std::to_string(c));
      continue;
    }
    absl::StatusOr<Contact> contact = expand_with->FindById(c);
    if (contact.ok()) w.Raw(ContactJson(*contact));
  }
  w.EndArray().Key("nextCursor");
  if (page.next_cursor.empty()) {
    w.Null();
  } else {
    w.String(page.next_cursor);
  }
  w.EndObject();
  return w.Take();
}

}  // namespace segmenta
