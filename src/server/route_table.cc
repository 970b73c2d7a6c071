#include "server/route_table.h"

#include <algorithm>
#include <memory>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "fmt/format.h"

namespace segmenta {
namespace {

// Routes under this prefix are called by browsers from any origin (analytics.js, the
// decide snippet): CORS on every answer, and preflights.
constexpr std::string_view kCorsPrefix = "/v1/";

// JSON bodies up to this size are parsed by the io thread's own parser, whose buffers are
// reused (no allocation per request); a larger one (a static group's list of contacts) by a
// parser of the request's own, freed after it, so that an io thread does not keep the
// capacity of the largest body it ever saw (about 15 bytes a byte of body).
constexpr size_t kReusedParserMaxBytes = 64 * 1024;

bool IsParameter(std::string_view segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

// `path` without one trailing slash ("/" stays).
std::string_view WithoutTrailingSlash(std::string_view path) {
  if (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  return path;
}

// The write key of an "Authorization: Basic base64(key:)" header. False when the header is
// not Basic or does not decode.
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

HttpResponse WriteKeyRefused(std::string_view message) {
  HttpResponse response = ErrorResponse(401, "unauthorized", message);
  response.headers.emplace_back("WWW-Authenticate", "Basic realm=\"segmenta\"");
  return response;
}

// Checks a write key. Returns the 401 to send, or nullopt with the key in `record`.
std::optional<HttpResponse> CheckWriteKey(const KeyRing& keys, std::string_view key,
                                          std::optional<KeyRecord>* record) {
  absl::StatusOr<KeyRecord> found = keys.Check(key);
  if (!found.ok()) return WriteKeyRefused("unknown write key");
  if (found->kind != KeyKind::kWrite) {
    return WriteKeyRefused(
        fmt::format("key {} is an {} key, not a write key", found->id, KeyKindName(found->kind)));
  }
  *record = *std::move(found);
  return std::nullopt;
}

// Checks "Authorization: Bearer TOKEN": an admin token may do anything, a read-only token
// only what `admin_only` does not ask for. Returns the 401/403 to send, or nullopt with the
// token's key in `record`. Never logs the token.
std::optional<HttpResponse> CheckBearer(const HttpRequest& request, const KeyRing& keys,
                                        bool admin_only, std::optional<KeyRecord>* record) {
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
  if (key->kind == KeyKind::kWrite || (key->kind == KeyKind::kRead && admin_only)) {
    HttpResponse response = ErrorResponse(
        403, "forbidden",
        key->kind == KeyKind::kWrite
            ? fmt::format("key {} is a write key: it may only send events to /v1", key->id)
            : fmt::format("token {} is read-only: {} {} needs an admin token", key->id,
                          request.method, request.path));
    response.log_note = fmt::format("token={}", key->id);
    return response;
  }
  *record = *std::move(key);
  return std::nullopt;
}

bool Accepts(const Route& route, std::string_view name) {
  for (std::string_view accepted : route.query) {
    if (name == accepted) return true;
    if (accepted.ends_with(".*") && name.size() > accepted.size() - 1 &&
        name.starts_with(accepted.substr(0, accepted.size() - 1))) {
      return true;
    }
  }
  return false;
}

}  // namespace

std::string_view RoleName(Role role) {
  switch (role) {
    case Role::kOpen:
      return "open";
    case Role::kWrite:
      return "write key";
    case Role::kRead:
      return "read";
    case Role::kAdmin:
      return "admin";
  }
  return "?";
}

void AddCors(HttpResponse* response) {
  for (const auto& [name, value] : response->headers) {
    if (name == "Access-Control-Allow-Origin") return;
  }
  response->headers.emplace_back("Access-Control-Allow-Origin", "*");
}

// ---------------------------------------------------------------------------------------------

const std::string& RouteCall::param(std::string_view name) const {
  for (const auto& [key, value] : params_) {
    if (key == name) return value;
  }
  static const std::string kNone;
  return kNone;
}

std::optional<std::string_view> RouteCall::Query(std::string_view name) const {
  for (const auto& [key, value] : query_) {
    if (key == name) return value;
  }
  return std::nullopt;
}

std::optional<HttpResponse> RouteCall::ReadPage(PageParams* page) const {
  for (const auto& [name, value] : query_) {
    if (name == "limit") {
      if (auto error = ParseCount(name, value, 1, 10000, &page->limit)) return error;
    } else if (name == "cursor") {
      page->cursor = value;
    } else if (name == "expand") {
      if (value != "contacts") return BadParameter(name, "the only expansion is contacts");
      page->expand = true;
    }
  }
  return std::nullopt;
}

std::string RouteCall::KeyNote() const {
  if (!key_) return "";
  return fmt::format("{}={}", key_->kind == KeyKind::kWrite ? "key" : "token", key_->id);
}

std::optional<HttpResponse> RouteCall::AuthorizeWriteKey(std::string_view key_in_body) {
  if (key_) return std::nullopt;
  if (key_in_body.empty()) {
    return WriteKeyRefused(
        "a write key is required: HTTP Basic auth with the write key as the username, or "
        "\"writeKey\" in the body");
  }
  return CheckWriteKey(*keys_, key_in_body, &key_);
}

// ---------------------------------------------------------------------------------------------

RouteTable::Segments RouteTable::SplitPath(std::string_view path) {
  Segments parts;
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

RouteTable::RouteTable(std::vector<Route> routes, const KeyRing* keys)
    : routes_(std::move(routes)), keys_(keys) {
  patterns_.reserve(routes_.size());
  for (size_t i = 0; i < routes_.size(); ++i) {
    Pattern pattern;
    pattern.segments = SplitPath(WithoutTrailingSlash(routes_[i].pattern));
    pattern.literal = std::none_of(pattern.segments.begin(), pattern.segments.end(), IsParameter);
    if (pattern.literal) {
      literal_[WithoutTrailingSlash(routes_[i].pattern)].push_back(i);
    } else {
      parameterized_.push_back(i);
    }
    patterns_.push_back(std::move(pattern));
  }
}

void RouteTable::Match(std::string_view path, Matches* matched, Segments* raw_params) const {
  if (auto it = literal_.find(WithoutTrailingSlash(path)); it != literal_.end()) {
    for (size_t i : it->second) matched->push_back(&routes_[i]);
    return;
  }
  const Segments segments = SplitPath(path);
  const Pattern* found = nullptr;
  for (size_t i : parameterized_) {
    const Pattern& pattern = patterns_[i];
    if (pattern.segments.size() != segments.size()) continue;
    bool match = true;
    for (size_t s = 0; s < segments.size() && match; ++s) {
      match = IsParameter(pattern.segments[s]) ? !segments[s].empty()
                                               : pattern.segments[s] == segments[s];
    }
    if (!match || (found != nullptr && found->segments != pattern.segments)) continue;
    if (found == nullptr) {
      found = &pattern;
      for (size_t s = 0; s < segments.size(); ++s) {
        if (IsParameter(pattern.segments[s])) raw_params->push_back(segments[s]);
      }
    }
    matched->push_back(&routes_[i]);
  }
}

void RouteTable::Dispatch(const HttpRequest& request, Responder respond) const {
  const bool cors = request.path.starts_with(kCorsPrefix);
  auto send = [cors](const Responder& to, HttpResponse response) {
    if (cors) AddCors(&response);
    to(std::move(response));
  };
  Matches matched;
  Segments raw;
  Match(request.path, &matched, &raw);
  if (matched.empty()) {
    return send(respond, ErrorResponse(404, "not_found", fmt::format("no route {}", request.path)));
  }
  const Route* route = nullptr;
  for (const Route* r : matched) {
    if (r->method == request.method || (request.method == "HEAD" && r->method == "GET")) {
      route = r;
    }
  }
  // The path's methods, for a 405 or a preflight.
  auto allow = [&] {
    std::string methods;
    for (const Route* r : matched) {
      if (!methods.empty()) methods += ", ";
      methods += r->method;
    }
    if (cors) methods += ", OPTIONS";
    return methods;
  };
  if (cors && request.method == "OPTIONS") {
    HttpResponse preflight;
    preflight.status = 204;
    preflight.headers.emplace_back("Access-Control-Allow-Methods", allow());
    preflight.headers.emplace_back("Access-Control-Allow-Headers",
                                   "Authorization, Content-Type, Content-Encoding");
    preflight.headers.emplace_back("Access-Control-Max-Age", "86400");
    return send(respond, std::move(preflight));
  }
  if (route == nullptr) return send(respond, MethodNotAllowed(request.path, allow()));

  RouteCall call(request, std::move(respond), keys_);
  std::optional<HttpResponse> response = Run(*route, raw, call);
  if (!response) return;  // answered later, through call.respond()
  if (response->log_note.empty()) response->log_note = call.KeyNote();
  send(call.respond(), *std::move(response));
}

std::optional<HttpResponse> RouteTable::Run(const Route& route, const Segments& raw,
                                            RouteCall& call) const {
  const HttpRequest& request = call.request();
  switch (route.role) {
    case Role::kOpen:
      break;
    case Role::kRead:
    case Role::kAdmin:
      if (auto refused = CheckBearer(request, *keys_, route.role == Role::kAdmin, &call.key_)) {
        return refused;
      }
      break;
    case Role::kWrite: {
      // A key in the header is checked before the body is read; one in the body after
      // (RouteCall::AuthorizeWriteKey).
      std::string_view authorization = request.Header("authorization");
      if (authorization.empty()) break;
      std::string key;
      if (!BasicUsername(authorization, &key)) {
        return WriteKeyRefused(
            "use HTTP Basic auth with the write key as the username (\"Authorization: Basic "
            "base64(writeKey:)\")");
      }
      if (key.empty()) return WriteKeyRefused("the write key (Basic auth username) is empty");
      if (auto refused = CheckWriteKey(*keys_, key, &call.key_)) return refused;
      break;
    }
  }

  size_t p = 0;
  for (std::string_view segment : patterns_[&route - routes_.data()].segments) {
    if (!IsParameter(segment)) continue;
    std::string_view name = segment.substr(1, segment.size() - 2);
    absl::StatusOr<std::string> value = PercentDecode(raw[p++]);
    if (!value.ok()) return BadParameter(name, std::string(value.status().message()));
    call.params_.emplace_back(name, *std::move(value));
  }

  if (!route.query.empty()) {
    absl::StatusOr<QueryParams> query = ParseQuery(request.query);
    if (!query.ok()) return BadParameter("query", std::string(query.status().message()));
    for (const auto& [name, value] : *query) {
      if (!Accepts(route, name)) return BadParameter(name, "unknown parameter");
    }
    call.query_ = *std::move(query);
  }

  // The body's parser lives until the handler returns: the body's element points into it.
  std::unique_ptr<simdjson::dom::parser> own_parser;
  if (route.body == Body::kJson) {
    // The io thread's parser, for all but large bodies (kReusedParserMaxBytes). Nothing else
    // parses with it while the handler runs.
    thread_local simdjson::dom::parser reused_parser;
    simdjson::dom::parser* parser = &reused_parser;
    if (request.body.size() > kReusedParserMaxBytes) {
      own_parser = std::make_unique<simdjson::dom::parser>();
      parser = own_parser.get();
    }
    static const simdjson::padded_string kEmptyObject(std::string_view("{}"));
    // The std::string overload copies the body into the parser's reused buffer when the
    // string has no room for simdjson's padding.
    simdjson::error_code parsed = request.body.empty()
                                      ? parser->parse(kEmptyObject).get(call.body_)
                                      : parser->parse(request.body).get(call.body_);
    if (parsed != simdjson::SUCCESS || !call.body_.is_object()) {
      return BadParameter("body", "must be a JSON object");
    }
    if (route.role == Role::kWrite) {
      std::string_view key;
      if (call.body_["writeKey"].get(key) != simdjson::SUCCESS) key = {};
      if (auto refused = call.AuthorizeWriteKey(key)) return refused;
    }
  }
  return route.handler(call);
}

}  // namespace segmenta
