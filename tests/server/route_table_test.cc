// The API's route table, walked route by route over real HTTP: every route checks its method
// whole, its role, and lives in docs/api.md (and every route there lives in the table).
#include "server/route_table.h"

#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <tuple>

#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/server/api_fixture.h"

namespace segmenta {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

using RouteLine = std::tuple<std::string, std::string, std::string>;  // method, pattern, role

// A path that the pattern matches: each {parameter} becomes "x".
std::string PathOf(std::string_view pattern) {
  return std::regex_replace(std::string(pattern), std::regex("\\{[^}]+\\}"), "x");
}

// docs/api.md's route table: the rows "| `METHOD` | `PATTERN` | ROLE | ... |" of its
// "## Routes" section.
std::set<RouteLine> DocumentedRoutes() {
  std::ifstream file(std::string(SEGMENTA_SOURCE_DIR) + "/docs/api.md");
  EXPECT_TRUE(file.good()) << "docs/api.md";
  const std::regex row("^\\| `([A-Z]+)` \\| `(/[^`]*)` \\| ([a-z ]+) \\|");
  std::set<RouteLine> routes;
  bool in_section = false;
  for (std::string line; std::getline(file, line);) {
    if (line.starts_with("## ")) in_section = line == "## Routes";
    std::smatch m;
    if (in_section && std::regex_search(line, m, row)) routes.emplace(m[1], m[2], m[3]);
  }
  return routes;
}

class RouteTableTest : public ApiTest {
 protected:
  HttpClientResponse Send(const std::string& method, const std::string& target,
                          const std::map<std::string, std::string>& headers = {},
                          const std::string& body = {}) {
    auto res = client_->Request(method, target, body, headers);
    EXPECT_TRUE(res.ok()) << res.status();
    return res.ok() ? *res : HttpClientResponse{};
  }
  std::string Bearer(const std::string& token) { return "Bearer " + token; }
  const std::vector<Route>& Routes() { return api_->routes().routes(); }
  // The methods of the routes with `pattern`, in table order, as Allow lists them.
  std::string MethodsOf(std::string_view pattern) {
    std::vector<std::string> methods;
    for (const Route& r : Routes()) {
      if (r.pattern == pattern) methods.emplace_back(r.method);
    }
    if (pattern.starts_with("/v1/")) methods.push_back("OPTIONS");
    return absl::StrJoin(methods, ", ");
  }
};

TEST_F(RouteTableTest, EveryRouteIsDocumentedAndEveryDocumentedRouteIsInTheTable) {
  std::set<RouteLine> table;
  for (const Route& r : Routes()) {
    table.emplace(std::string(r.method), std::string(r.pattern), std::string(RoleName(r.role)));
  }
  EXPECT_EQ(table.size(), Routes().size()) << "a route is in the table twice";
  std::set<RouteLine> documented = DocumentedRoutes();
  for (const RouteLine& r : table) {
    EXPECT_TRUE(documented.contains(r)) << "not in docs/api.md's route table: " << std::get<0>(r)
                                        << " " << std::get<1>(r) << " (" << std::get<2>(r) << ")";
  }
  for (const RouteLine& r : documented) {
    EXPECT_TRUE(table.contains(r)) << "documented but not in the route table: " << std::get<0>(r)
                                   << " " << std::get<1>(r) << " (" << std::get<2>(r) << ")";
  }
}

// Two patterns that could match one path would make the route depend on the table's order.
TEST_F(RouteTableTest, NoPathMatchesTwoPatterns) {
  auto segments = [](std::string_view pattern) {
    std::vector<std::string> parts;
    std::stringstream in{std::string(pattern)};
    for (std::string part; std::getline(in, part, '/');) parts.push_back(part);
    return parts;
  };
  for (const Route& a : Routes()) {
    for (const Route& b : Routes()) {
      if (a.pattern == b.pattern) continue;
      std::vector<std::string> x = segments(a.pattern), y = segments(b.pattern);
      bool overlap = x.size() == y.size();
      for (size_t i = 0; overlap && i < x.size(); ++i) {
        overlap = x[i] == y[i] || x[i].starts_with('{') || y[i].starts_with('{');
      }
      EXPECT_FALSE(overlap) << a.pattern << " and " << b.pattern;
    }
  }
}

TEST_F(RouteTableTest, EveryRouteComparesWholeMethodNames) {
  std::set<std::string_view> patterns;
  for (const Route& r : Routes()) patterns.insert(r.pattern);
  for (std::string_view pattern : patterns) {
    // No method is a prefix, a part or another case of one the route takes.
    for (const char* method :
         {"U", "GE", "GETX", "get", "POS", "POSTS", "PU", "DELET", "delete", "PATCH", "ET", "T"}) {
      HttpClientResponse res = Send(method, PathOf(pattern));
      EXPECT_EQ(res.status, 405) << method << " " << pattern << ": " << res.body;
      EXPECT_EQ(res.headers["allow"], MethodsOf(pattern)) << method << " " << pattern;
      EXPECT_THAT(res.body, HasSubstr(R"("error":"method_not_allowed")"));
    }
  }
}

TEST_F(RouteTableTest, EveryRouteAsksForItsRole) {
  for (const Route& r : Routes()) {
    const std::string path = PathOf(r.pattern);
    const std::string what = std::string(r.method) + " " + std::string(r.pattern);
    switch (r.role) {
      case Role::kOpen:
        EXPECT_EQ(Send(std::string(r.method), path).status, 200) << what;
        break;
      case Role::kWrite: {
        HttpClientResponse none = Send(std::string(r.method), path);
        EXPECT_EQ(none.status, 401) << what << ": " << none.body;
        EXPECT_EQ(none.headers["access-control-allow-origin"], "*") << what;
        // docs/api.md: "Missing, unknown or non-write keys get 401".
        for (const std::string& key : {admin_token_, read_token_, std::string("sk_unknown")}) {
          EXPECT_EQ(Send(std::string(r.method), path, {{"Authorization", BasicAuth(key)}}).status,
                    401)
              << what;
        }
        EXPECT_EQ(Send(std::string(r.method), path, {{"Authorization", Bearer(write_key_)}}).status,
                  401)
            << what;
        break;
      }
      case Role::kRead:
      case Role::kAdmin: {
        HttpClientResponse none = Send(std::string(r.method), path);
        EXPECT_EQ(none.status, 401) << what << ": " << none.body;
        EXPECT_EQ(none.headers["www-authenticate"], "Bearer realm=\"segmenta\"") << what;
        EXPECT_EQ(
            Send(std::string(r.method), path, {{"Authorization", Bearer("adm_unknown")}}).status,
            401)
            << what;
        // docs/api.md: "a write key gets 403".
        HttpClientResponse write =
            Send(std::string(r.method), path, {{"Authorization", Bearer(write_key_)}});
        EXPECT_EQ(write.status, 403) << what;
        EXPECT_THAT(write.body, HasSubstr("write key")) << what;
        // A read-only token may call read routes only ("other methods get 403"). On a read
        // route it reaches the handler, which answers whatever it answers for "x".
        HttpClientResponse read =
            Send(std::string(r.method), path, {{"Authorization", Bearer(read_token_)}});
        if (r.role == Role::kAdmin) {
          EXPECT_EQ(read.status, 403) << what;
          EXPECT_THAT(read.body, HasSubstr("read-only")) << what;
        } else {
          EXPECT_NE(read.status, 401) << what << ": " << read.body;
          EXPECT_NE(read.status, 403) << what << ": " << read.body;
          EXPECT_NE(read.status, 405) << what << ": " << read.body;
        }
        break;
      }
    }
  }
}

TEST_F(RouteTableTest, UnknownPathsAre404) {
  for (const char* path : {"/", "/api", "/api/", "/api/nothing", "/api/groups/x/y/z/w",
                           "/api/contacts//export", "/health/x", "/v2/track", "/API/groups"}) {
    HttpClientResponse res = Send("GET", path, {{"Authorization", Bearer(admin_token_)}});
    EXPECT_EQ(res.status, 404) << path;
    EXPECT_THAT(res.body, HasSubstr(R"("error":"not_found")")) << path;
  }
  // Under /v1/, browsers read the answer too.
  HttpClientResponse v1 = Send("POST", "/v1/nothing", {{"Authorization", BasicAuth(write_key_)}});
  EXPECT_EQ(v1.status, 404);
  EXPECT_EQ(v1.headers["access-control-allow-origin"], "*");
}

TEST_F(RouteTableTest, BrowsersMayAskBeforeTheyPost) {
  for (const char* path : {"/v1/track", "/v1/decide", "/v1/b"}) {
    HttpClientResponse res = Send("OPTIONS", path);
    EXPECT_EQ(res.status, 204) << path;
    EXPECT_EQ(res.headers["access-control-allow-methods"], "POST, OPTIONS") << path;
    EXPECT_EQ(res.headers["access-control-allow-origin"], "*") << path;
    EXPECT_THAT(res.headers["access-control-allow-headers"], HasSubstr("Authorization")) << path;
  }
  EXPECT_EQ(Send("OPTIONS", "/api/groups").status, 405);
}

TEST_F(RouteTableTest, ParametersAreDecodedAndCheckedBeforeTheHandler) {
  const std::map<std::string, std::string> admin = {{"Authorization", Bearer(admin_token_)}};
  // A trailing slash is the same path.
  EXPECT_EQ(Send("GET", "/api/groups/", admin).status, 200);
  // A bad escape names the parameter.
  HttpClientResponse escape = Send("GET", "/api/groups/%zz", admin);
  EXPECT_EQ(escape.status, 400);
  EXPECT_THAT(escape.body, HasSubstr(R"("field":"name")"));
  // A route that reads query parameters refuses one it does not read.
  HttpClientResponse unknown = Send("GET", "/api/groups/x/members?limt=5", admin);
  EXPECT_EQ(unknown.status, 400);
  EXPECT_THAT(unknown.body, HasSubstr(R"("field":"limt")"));
  EXPECT_EQ(Send("GET", "/api/contacts?trait.=1", admin).status, 400);
  EXPECT_EQ(Send("GET", "/api/contacts?trait.plan=pro", admin).status, 200);
  // A JSON body must be an object.
  HttpClientResponse body = Send("POST", "/api/keys", admin, "[1]");
  EXPECT_EQ(body.status, 400);
  EXPECT_THAT(body.body, HasSubstr(R"("field":"body")"));
  // A decoded parameter reaches the handler: "a b" is a name with a space.
  ASSERT_EQ(Send("POST", "/api/groups", admin, R"({"name":"a b","condition":"trait(\"age\") > 1"})")
                .status,
            201);
  EXPECT_THAT(Send("GET", "/api/groups/a%20b", admin).body, HasSubstr(R"("name":"a b")"));
}

// Bodies above the io thread's parser's limit get a parser of their own: both read the same.
TEST_F(RouteTableTest, LargeAndSmallJsonBodiesReadAlike) {
  const std::map<std::string, std::string> admin = {{"Authorization", Bearer(admin_token_)}};
  const std::string padding(200 * 1024, 'x');
  for (const std::string& pad : {padding, std::string("x"), padding}) {
    HttpClientResponse res = Send("POST", "/api/conditions/check", admin,
                                  R"({"condition":"trait(\"age\") > 1","note":")" + pad + R"("})");
    EXPECT_EQ(res.status, 200) << pad.size() << ": " << res.body;
    HttpClientResponse bad = Send("POST", "/api/conditions/check", admin, "[\"" + pad + "\"]");
    EXPECT_EQ(bad.status, 400) << pad.size();
    EXPECT_THAT(bad.body, HasSubstr(R"("field":"body")"));
  }
}

// A route that reads query parameters refuses a name it does not read (a typo in `limit`
// or `suppress` would otherwise change the answer unseen); a route that reads none ignores
// the query, as Segment's API does (a cache-buster, a proxy's parameter). Every route, walked
// with the key its role asks for.
TEST_F(RouteTableTest, OnlyRoutesThatReadQueryParametersRefuseUnknownOnes) {
  for (const Route& r : Routes()) {
    const std::string what = std::string(r.method) + " " + std::string(r.pattern);
    std::map<std::string, std::string> headers;
    if (r.role == Role::kWrite) headers["Authorization"] = BasicAuth(write_key_);
    if (r.role == Role::kRead || r.role == Role::kAdmin) {
      headers["Authorization"] = Bearer(admin_token_);
    }
    HttpClientResponse res = Send(std::string(r.method), PathOf(r.pattern) + "?cb=123", headers);
    if (r.query.empty()) {
      EXPECT_THAT(res.body, Not(HasSubstr(R"("field":"cb")"))) << what;
      EXPECT_THAT(res.body, Not(HasSubstr(R"("field":"query")"))) << what;
    } else {
      EXPECT_EQ(res.status, 400) << what << ": " << res.body;
      EXPECT_THAT(res.body, HasSubstr(R"("field":"cb")")) << what;
    }
  }
  const std::map<std::string, std::string> admin = {{"Authorization", Bearer(admin_token_)}};
  // An erasure's options are read strictly: "supress" would erase without suppressing.
  EXPECT_EQ(Send("DELETE", "/api/contacts/x?supress=true", admin).status, 400);
  EXPECT_EQ(Send("GET", "/api/stats?verbose=1", admin).status, 200);
  EXPECT_EQ(Send("GET", "/health?probe=1").status, 200);
}

// Segment's SDKs and proxies may add parameters to collection calls: the event is stored.
TEST_F(RouteTableTest, ACollectionCallWithACacheBusterIsStored) {
  HttpClientResponse track =
      Send("POST", "/v1/track?cb=123", {{"Authorization", BasicAuth(write_key_)}},
           R"({"anonymousId":"busted","event":"Product Viewed"})");
  ASSERT_EQ(track.status, 200) << track.body;
  HttpClientResponse contact =
      Send("GET", "/api/contacts/busted", {{"Authorization", Bearer(admin_token_)}});
  ASSERT_EQ(contact.status, 200) << contact.body;
  EXPECT_THAT(contact.body, HasSubstr(R"("activityCount":1)"));
  // Even a query that does not decode.
  EXPECT_EQ(Send("POST", "/v1/t?x=%zz", {{"Authorization", BasicAuth(write_key_)}},
                 R"({"anonymousId":"busted","event":"Product Viewed"})")
                .status,
            200);
  ASSERT_EQ(Send("PUT", "/api/experiences/hero", {{"Authorization", Bearer(admin_token_)}},
                 R"({"variations":[],"default":{"text":"Hello"}})")
                .status,
            200);
  HttpClientResponse decide =
      Send("POST", "/v1/decide?cb=123", {{"Authorization", BasicAuth(write_key_)}},
           R"({"anonymousId":"busted","slots":["hero"]})");
  EXPECT_EQ(decide.status, 200) << decide.body;
}

}  // namespace
}  // namespace segmenta
