#include "server/replies.h"

#include <charconv>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
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
    case absl::StatusCode::kResourceExhausted: {
      HttpResponse r = ErrorResponse(503, "overloaded", message);
      r.headers.emplace_back("Retry-After", "1");
      return r;
    }
    default:
      return ErrorResponse(500, "store_error", message);
  }
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

std::variant<KeyRecord, HttpResponse> AuthorizeAdmin(const HttpRequest& request,
                                                     const KeyRing& keys, bool mutating) {
  std::string_view authorization = request.Header("authorization");
  size_t space = authorization.find(' ');
  std::string scheme(authorization.substr(0, space == std::string_view::npos ? 0 : space));
  if (authorization.empty() || space == std::string_view::npos ||
      absl::AsciiStrToLower(scheme) != "bearer") {
    HttpResponse response =
        ErrorResponse(401, "unauthorized",
                      "an admin or read-only token is required: \"Authorization: Bearer "
                      "TOKEN\"");
    response.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"segmenta\"");
    return response;
  }
  std::string token(absl::StripAsciiWhitespace(std::string(authorization.substr(space + 1))));
  absl::StatusOr<KeyRecord> key = keys.Check(token);
  if (!key.ok()) {
    HttpResponse response = ErrorResponse(401, "unauthorized", "unknown token");
    response.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"segmenta\"");
    return response;
  }
  if (key->kind == KeyKind::kWrite || (key->kind == KeyKind::kRead && mutating)) {
    HttpResponse response = ErrorResponse(
        403, "forbidden",
        key->kind == KeyKind::kWrite
            ? fmt::format("key {} is a write key: it may only send events to /v1", key->id)
            : fmt::format("token {} is read-only: {} {} needs an admin token", key->id,
                          request.method, request.path));
    response.log_note = fmt::format("token={}", key->id);
    return response;
  }
  return *std::move(key);
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

bool BasicUsername(std::string_view header, std::string* username) {
  size_t space = header.find(' ');
  if (space == std::string_view::npos ||
      !absl::EqualsIgnoreCase(std::string(header.substr(0, space)), "basic")) {
    return false;
  }
  std::string encoded(absl::StripAsciiWhitespace(std::string(header.substr(space + 1))));
  std::string decoded;
  if (!absl::Base64Unescape(encoded, &decoded)) return false;
  *username = decoded.substr(0, decoded.find(':'));
  return true;
}

std::vector<std::string_view> PathSegments(std::string_view path) {
  std::vector<std::string_view> parts;
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  while (true) {
    size_t slash = path.find('/');
    parts.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  if (parts.size() > 1 && parts.back().empty()) parts.pop_back();
  return parts;
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

bool ReadPageParam(const std::string& name, const std::string& value, PageParams* page,
                   std::optional<HttpResponse>* error) {
  if (name == "limit") {
    *error = ParseCount(name, value, 1, 10000, &page->limit);
  } else if (name == "cursor") {
    page->cursor = value;
  } else if (name == "expand") {
    if (value != "contacts") *error = BadParameter(name, "the only expansion is contacts");
    page->expand = true;
  } else {
    return false;
  }
  return true;
}

std::variant<std::vector<std::string>, HttpResponse> DecodedPathSegments(std::string_view path) {
  std::vector<std::string> parts;
  for (std::string_view p : PathSegments(path)) {
    absl::StatusOr<std::string> decoded = PercentDecode(p);
    if (!decoded.ok()) return BadParameter("path", std::string(decoded.status().message()));
    parts.push_back(*std::move(decoded));
  }
  return parts;
}

std::optional<HttpResponse> CheckMethod(const HttpRequest& request, std::string_view methods) {
  // Both arms string_views: with a std::string arm, the result would be a temporary string.
  std::string_view m =
      request.method == "HEAD" ? std::string_view("GET") : std::string_view(request.method);
  if (methods.find(m) == std::string_view::npos) return MethodNotAllowed(request.path, methods);
  return std::nullopt;
}

}  // namespace segmenta
