// The routes of the HTTP API as one table (method, path pattern, role, body, query
// parameters, handler), and the steps every request takes before its handler runs: the
// route and method, the key or token and its role, the path's parameters, the query's, the
// JSON body. A handler starts where they end; none repeats them.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/inlined_vector.h"
#include "server/http_server.h"
#include "server/key_ring.h"
#include "server/replies.h"
#include "simdjson.h"

namespace segmenta {

// Who may call a route.
enum class Role {
  kOpen,   // anyone
  kWrite,  // a write key: the HTTP Basic username, or "writeKey" in the body (else 401)
  kRead,   // a read-only or an admin token, "Authorization: Bearer TOKEN" (else 401; 403
           // for a write key)
  kAdmin,  // an admin token (else 401; 403 for a read-only token or a write key)
};

// The role as docs/api.md's route table names it: "open", "write key", "read", "admin".
std::string_view RoleName(Role role);

// What a route does with the request's body.
enum class Body {
  kNone,  // nothing
  kJson,  // a JSON object (an empty body reads as {}), parsed before the handler; else 400
  kRaw,   // the handler reads request().body as sent
};

// One request on its way to its handler: what the steps before it found.
// Not thread-safe; lives while the handler runs (answers sent later use respond()).
class RouteCall {
 public:
  RouteCall(const HttpRequest& request, Responder respond, const KeyRing* keys)
      : request_(request), respond_(std::move(respond)), keys_(keys) {}

  const HttpRequest& request() const { return request_; }
  // For an answer sent later, from any thread (the handler then returns nullopt).
  const Responder& respond() const { return respond_; }

  // The key or token that authorized the call; null on open routes, and on write-key
  // routes whose key is in the body until AuthorizeWriteKey() found it.
  const KeyRecord* key() const { return key_ ? &*key_ : nullptr; }
  // The log note naming key(): "key=ID" for a write key, "token=ID" for a token, "" for
  // none. Dispatch() puts it on answers the handler returns; one sent later through
  // respond() carries it when the handler puts it there.
  std::string KeyNote() const;

  // The percent-decoded value of the path parameter `{name}`.
  // REQUIRES: the route's pattern has `{name}`.
  const std::string& param(std::string_view name) const;

  // The query's parameters, decoded, in order; only names the route accepts (none on a
  // route that reads no parameter: Route::query).
  const QueryParams& query() const { return query_; }
  // The value of query parameter `name` (its first occurrence), or nullopt.
  std::optional<std::string_view> Query(std::string_view name) const;
  // Reads the paging parameters present in the query (limit, cursor, expand) into `page`.
  // Returns the 400 naming a bad one, or nullopt.
  std::optional<HttpResponse> ReadPage(PageParams* page) const;

  // The body of a Body::kJson route: a JSON object, valid while the handler runs.
  simdjson::dom::element body() const { return body_; }

  // On a write-key route whose request had no Authorization header: checks the key that
  // came in the body ("" when none). Returns the 401 to send, or nullopt (key() then set).
  // Does nothing when a header already authorized the call.
  std::optional<HttpResponse> AuthorizeWriteKey(std::string_view key_in_body);

 private:
  friend class RouteTable;

  const HttpRequest& request_;
  Responder respond_;
  const KeyRing* keys_;
  std::optional<KeyRecord> key_;
  absl::InlinedVector<std::pair<std::string_view, std::string>, 2> params_;
  QueryParams query_;
  simdjson::dom::element body_;
};

// Answers a request now (a response) or later through RouteCall::respond() (nullopt).
using RouteHandler = std::function<std::optional<HttpResponse>(RouteCall& call)>;

struct Route {
  std::string_view method;  // "GET", "POST", "PUT" or "DELETE"; HEAD is served as GET
  // "/api/groups/{name}/members": literal segments, compared as sent (still
  // percent-encoded), and non-empty {parameters}, decoded. A trailing slash is ignored.
  std::string_view pattern;
  Role role;
  Body body;
  // The query parameters the route reads, where a typo would silently change the answer
  // (paging, filters, options): any other gets 400. "trait.*" accepts every name that
  // starts with "trait." and goes on. Empty: the route reads no parameter and ignores the
  // query, whatever it holds (as Segment's API does: a cache-buster changes nothing).
  std::vector<std::string_view> query;
  RouteHandler handler;
};

// Thread-safe (immutable after construction).
class RouteTable {
 public:
  // `keys` must outlive the table.
  // REQUIRES: no two routes have the same method and pattern, or patterns that match the
  // same path (route_table_test checks the API's table).
  RouteTable(std::vector<Route> routes, const KeyRing* keys);

  // Answers `request` (errors: JSON as ErrorResponse writes them):
  //   404 when no route's pattern matches the path;
  //   a CORS preflight (204) for OPTIONS under /v1/, whose routes answer browsers of any
  //   origin (every answer under /v1/ carries Access-Control-Allow-Origin: *);
  //   405 with Allow (the path's methods) when no route of the path has the method, compared
  //   whole and case-sensitively (HEAD is GET);
  //   401 / 403 as the route's role says (Role);
  //   400 naming a path parameter with a bad percent escape; on a route that reads query
  //   parameters, one it does not read or a bad escape ("query"); a body that is not a JSON
  //   object ("body");
  // then the route's handler. A response it returns without a log note gets
  // RouteCall::KeyNote().
  void Dispatch(const HttpRequest& request, Responder respond) const;

  const std::vector<Route>& routes() const { return routes_; }

 private:
  // The parts of a path or a pattern, inline: matching a request allocates nothing.
  using Segments = absl::InlinedVector<std::string_view, 8>;
  struct Pattern {
    Segments segments;    // "{name}" for a parameter
    bool literal = true;  // no parameters
  };
  // The routes of one path (a path has a route per method).
  using Matches = absl::InlinedVector<const Route*, 4>;

  // The parts of a path: "/api/groups/x/" -> {"api", "groups", "x"}.
  static Segments SplitPath(std::string_view path);

  // The routes whose pattern matches `path` into `matched`, and their parameters' raw
  // values into `raw_params`.
  void Match(std::string_view path, Matches* matched, Segments* raw_params) const;
  std::optional<HttpResponse> Run(const Route& route, const Segments& raw, RouteCall& call) const;

  std::vector<Route> routes_;
  std::vector<Pattern> patterns_;  // one per route
  const KeyRing* keys_;
  // Literal patterns ("/api/groups") to their routes' indexes; the others are tried in turn.
  absl::flat_hash_map<std::string_view, std::vector<size_t>> literal_;
  std::vector<size_t> parameterized_;
};

// Adds "Access-Control-Allow-Origin: *" unless `response` has it.
void AddCors(HttpResponse* response);

}  // namespace segmenta
