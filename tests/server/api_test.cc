// The HTTP API end to end, in process: a real RocksDB store, the worker, the HTTP server on
// an ephemeral loopback port, and a real HTTP client.
#include "server/api.h"

#include <zlib.h>

#include <boost/asio.hpp>
#include <memory>
#include <thread>

#include "absl/strings/str_cat.h"
#include "fmt/format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/http_client.h"
#include "simdjson.h"
#include "spdlog/spdlog.h"
#include "tests/server/api_fixture.h"

namespace segmenta {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string Gzip(std::string_view text) {
  z_stream z{};
  deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&z, text.size()) + 32, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  z.avail_in = static_cast<uInt>(text.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

TEST_F(ApiTest, CollectionNeedsAWriteKeyAndStoresNothingWithoutOne) {
  const std::string body = R"({"anonymousId":"a1","event":"Order Completed"})";
  HttpClientResponse none = Post("/v1/track", body, {{"Authorization", ""}});
  EXPECT_EQ(none.status, 401);
  EXPECT_THAT(none.body, HasSubstr(R"("error":"unauthorized")"));
  EXPECT_EQ(Post("/v1/track", body, {{"Authorization", BasicAuth("sk_wrong")}}).status, 401);
  // An admin token is not a write key.
  EXPECT_EQ(Post("/v1/track", body, {{"Authorization", BasicAuth(admin_token_)}}).status, 401);
  EXPECT_EQ(Stat("activities"), 0u);
  // The write key in the body, as Segment allows.
  HttpClientResponse in_body =
      Post("/v1/track",
           absl::StrCat(R"({"writeKey":")", write_key_,
                        R"(","anonymousId":"a1","event":"Order Completed"})"),
           {{"Authorization", ""}});
  EXPECT_EQ(in_body.status, 200) << in_body.body;
  EXPECT_EQ(in_body.body, R"({"success":true})");
  EXPECT_EQ(Stat("activities"), 1u);
  // Acknowledged once fsynced: the WAL was fsynced at least once by now.
  EXPECT_GE(Stat("walSyncs"), 1u);
}

TEST_F(ApiTest, ABadBatchIsRefusedWholeNamingEachBadMessage) {
  const std::string body = R"({"batch":[
      {"type":"track","anonymousId":"a1","event":"Product Viewed"},
      {"type":"track","anonymousId":"a1"},
      {"type":"identify","traits":{"age":3}},
      {"type":"teleport","userId":"u1"}]})";
  HttpClientResponse res = Post("/v1/batch", body);
  EXPECT_EQ(res.status, 400);
  simdjson::dom::parser parser;
  simdjson::dom::element doc = parser.parse(res.body);
  EXPECT_EQ(std::string_view(doc["error"]), "invalid_request");
  simdjson::dom::array errors = doc["errors"];
  std::vector<std::string> named;
  for (simdjson::dom::element e : errors) {
    named.push_back(fmt::format("{} {}", int64_t(e["index"]), std::string_view(e["field"])));
    EXPECT_FALSE(std::string_view(e["reason"]).empty());
  }
  EXPECT_THAT(named, ::testing::ElementsAre("1 event", "2 userId", "3 type"));
  EXPECT_EQ(Stat("activities"), 0u);  // the valid first message was not stored either
}

TEST_F(ApiTest, MalformedOversizedDeepAndNonUtf8BodiesGetClearErrors) {
  HttpClientResponse malformed = Post("/v1/track", R"({"anonymousId":"a1",)");
  EXPECT_EQ(malformed.status, 400);
  EXPECT_THAT(malformed.body, HasSubstr("JSON"));

  std::string deep = R"({"anonymousId":"a1","event":"E","properties":)";
  for (int i = 0; i < 40; ++i) deep += R"({"x":)";
  deep += "1";
  for (int i = 0; i < 40; ++i) deep += "}";
  deep += "}";
  HttpClientResponse too_deep = Post("/v1/track", deep);
  EXPECT_EQ(too_deep.status, 400);
  EXPECT_THAT(too_deep.body, HasSubstr("deep"));

  HttpClientResponse latin1 = Post("/v1/track", "{\"anonymousId\":\"caf\xE9\",\"event\":\"E\"}");
  EXPECT_EQ(latin1.status, 400);
  EXPECT_THAT(latin1.body, HasSubstr("UTF-8"));

  std::string big = R"({"anonymousId":"a1","event":"E","properties":{"blob":")" +
                    std::string(600 * 1024, 'x') + R"("}})";
  HttpClientResponse too_big = Post("/v1/track", big);
  EXPECT_EQ(too_big.status, 413);
  EXPECT_THAT(too_big.body, HasSubstr("bytes"));

  std::string big_message = R"({"anonymousId":"a1","event":"E","properties":{"blob":")" +
                            std::string(40 * 1024, 'x') + R"("}})";
  HttpClientResponse message_too_big = Post("/v1/track", big_message);
  EXPECT_EQ(message_too_big.status, 400);
  EXPECT_THAT(message_too_big.body, HasSubstr("32768-byte limit"));
  EXPECT_EQ(Stat("activities"), 0u);
}

TEST_F(ApiTest, GzipBodiesAreInflatedAndKeepAliveServesManyRequests) {
  std::string batch = R"({"batch":[)";
  for (int i = 0; i < 200; ++i) {
    if (i > 0) batch += ',';
    batch += fmt::format(R"({{"type":"page","anonymousId":"v{}","name":"Home","messageId":"g{}"}})",
                         i % 20, i);
  }
  batch += "]}";
  std::string compressed = Gzip(batch);
  ASSERT_LT(compressed.size(), batch.size() / 4);
  HttpClientResponse res = Post("/v1/batch", compressed, {{"Content-Encoding", "gzip"}});
  EXPECT_EQ(res.status, 200) << res.body;
  HttpClientResponse garbage = Post("/v1/batch", "not gzip", {{"Content-Encoding", "gzip"}});
  EXPECT_EQ(garbage.status, 400);
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(Post("/v1/page", fmt::format(R"({{"anonymousId":"k{}"}})", i)).status, 200);
  }
  EXPECT_EQ(Stat("activities"), 220u);
  EXPECT_EQ(Stat("contacts"), 40u);
}

TEST_F(ApiTest, ReadOnlyTokensReadButCannotManage) {
  ASSERT_EQ(Post("/v1/identify", R"({"userId":"u1","traits":{"plan":"pro"}})").status, 200);
  EXPECT_EQ(Admin("GET", "/api/contacts/u1", read_token_).status, 200);
  EXPECT_EQ(Admin("GET", "/api/stats", read_token_).status, 200);
  HttpClientResponse create =
      Admin("POST", "/api/keys", read_token_, R"({"kind":"write","name":"x"})");
  EXPECT_EQ(create.status, 403);
  EXPECT_THAT(create.body, HasSubstr("read-only"));
  EXPECT_EQ(Admin("DELETE", "/api/contacts/u1", read_token_).status, 403);
  EXPECT_EQ(Admin("GET", "/api/contacts/u1", write_key_).status, 403);
  EXPECT_EQ(Admin("GET", "/api/contacts/u1", "adm_unknown").status, 401);
  EXPECT_EQ(Admin("GET", "/api/contacts/u1").status, 200);
}

TEST_F(ApiTest, SecretsNeverReachTheLog) {
  ASSERT_EQ(Post("/v1/track", R"({"anonymousId":"a1","event":"E"})").status, 200);
  HttpClientResponse created = Admin("POST", "/api/keys", "", R"({"kind":"write","name":"app"})");
  ASSERT_EQ(created.status, 201);
  simdjson::dom::parser parser;
  std::string secret(std::string_view(parser.parse(created.body)["secret"]));
  ASSERT_EQ(Post("/v1/track", R"({"anonymousId":"a1","event":"E"})",
                 {{"Authorization", BasicAuth(secret)}})
                .status,
            200);
  Admin("GET", "/api/stats");
  spdlog::default_logger()->flush();
  std::string log = log_->str();
  EXPECT_THAT(log, HasSubstr("/v1/track"));  // requests are logged...
  for (const std::string& s : {write_key_, admin_token_, read_token_, secret}) {
    EXPECT_THAT(log, Not(HasSubstr(s)));  // ...their secrets are not
  }
}

TEST_F(ApiTest, ContactsArePagedAndAccountsListTheirContacts) {
  std::string batch = R"({"batch":[)";
  for (int i = 0; i < 120; ++i) {
    if (i > 0) batch += ',';
    batch += fmt::format(R"({{"type":"identify","userId":"u{}","traits":{{"plan":"{}"}}}})", i,
                         i % 3 == 0 ? "pro" : "free");
  }
  for (int i = 0; i < 5; ++i) {
    batch += fmt::format(
        R"(,{{"type":"group","userId":"u{}","groupId":"acme","traits":{{"industry":"Retail"}}}})",
        i);
  }
  batch += "]}";
  ASSERT_EQ(Post("/v1/batch", batch).status, 200);
  std::set<std::string> seen;
  std::string cursor;
  int pages = 0;
  do {
    HttpClientResponse page =
        Admin("GET", "/api/contacts?limit=50" + (cursor.empty() ? "" : "&cursor=" + cursor));
    ASSERT_EQ(page.status, 200) << page.body;
    simdjson::dom::parser parser;
    simdjson::dom::element doc = parser.parse(page.body);
    for (simdjson::dom::element c : simdjson::dom::array(doc["contacts"])) {
      seen.insert(std::string(std::string_view(c["id"])));
    }
    cursor = doc["nextCursor"].is_null() ? "" : std::string(std::string_view(doc["nextCursor"]));
    ++pages;
  } while (!cursor.empty());
  EXPECT_EQ(seen.size(), 120u);
  EXPECT_EQ(pages, 3);
  HttpClientResponse pro = Admin("GET", "/api/contacts?limit=1000&trait.plan=pro");
  simdjson::dom::parser parser;
  EXPECT_EQ(simdjson::dom::array(parser.parse(pro.body)["contacts"]).size(), 40u);
  HttpClientResponse account = Admin("GET", "/api/accounts/acme");
  ASSERT_EQ(account.status, 200);
  EXPECT_THAT(account.body, HasSubstr(R"("industry":"Retail")"));
  simdjson::dom::parser p2;
  EXPECT_EQ(simdjson::dom::array(p2.parse(account.body)["contacts"]).size(), 5u);
  EXPECT_EQ(Admin("GET", "/api/accounts/nobody").status, 404);
  EXPECT_EQ(Admin("GET", "/api/contacts?limit=0").status, 400);
}

TEST_F(ApiTest, AContactIsExportedThenErasedAndSuppressed) {
  std::string batch = R"({"batch":[)";
  for (int i = 0; i < 30; ++i) {
    batch += fmt::format(R"({{"type":"track","anonymousId":"anon-9","event":"Product Viewed",)"
                         R"("properties":{{"n":{}}}}},)",
                         i);
  }
  batch += R"({"type":"identify","userId":"ana","anonymousId":"anon-9",)"
           R"("traits":{"email":"Ana@Example.com"}},)"
           R"({"type":"group","userId":"ana","groupId":"acme"}]})";
  ASSERT_EQ(Post("/v1/batch", batch).status, 200);
  HttpClientResponse exported = Admin("GET", "/api/contacts/ana/export");
  ASSERT_EQ(exported.status, 200);
  simdjson::dom::parser parser;
  simdjson::dom::element doc = parser.parse(exported.body);
  EXPECT_EQ(simdjson::dom::array(doc["activities"]).size(), 32u);  // all, not the last 20
  EXPECT_EQ(int64_t(doc["activityCount"]), 32);

  HttpClientResponse erased = Admin("DELETE", "/api/contacts/ana?suppress=true");
  ASSERT_EQ(erased.status, 200) << erased.body;
  EXPECT_THAT(erased.body, HasSubstr(R"("activities":32)"));
  EXPECT_EQ(Admin("GET", "/api/contacts/ana").status, 404);
  EXPECT_EQ(Admin("GET", "/api/contacts/anon-9").status, 404);
  EXPECT_EQ(Admin("GET", "/api/contacts/email:ana@example.com").status, 404);
  HttpClientResponse members = Admin("GET", "/api/accounts/acme");
  EXPECT_THAT(members.body, HasSubstr(R"("contacts":[])"));
  // The device comes back: suppressed, acknowledged, not stored. Also after a restart.
  Stop();
  Start();
  ASSERT_EQ(Post("/v1/track", R"({"anonymousId":"anon-9","event":"Product Viewed"})").status, 200);
  EXPECT_EQ(Admin("GET", "/api/contacts/anon-9").status, 404);
  EXPECT_EQ(Stat("suppressed"), 1u);
  EXPECT_EQ(Stat("erased"), 1u);
  EXPECT_EQ(Stat("contacts"), 0u);
  EXPECT_EQ(Admin("DELETE", "/api/contacts/ana").status, 404);
  // Without suppression the identities are free again.
  ASSERT_EQ(Post("/v1/track", R"({"anonymousId":"other","event":"E"})").status, 200);
  ASSERT_EQ(Admin("DELETE", "/api/contacts/other").status, 200);
  ASSERT_EQ(Post("/v1/track", R"({"anonymousId":"other","event":"E"})").status, 200);
  EXPECT_EQ(Admin("GET", "/api/contacts/other").status, 200);
}

TEST_F(ApiTest, PersonasScoresAndStagesOverHttp) {
  ASSERT_EQ(Post("/v1/batch", R"({"batch":[
      {"type":"identify","userId":"javier","traits":{"job_title":"Engineer","age":47,"country":"ES"}},
      {"type":"identify","userId":"lea","traits":{"job_title":"Chef","age":30,"country":"FR"}},
      {"type":"track","userId":"javier","event":"Product Viewed","properties":{"category":"cycling"}},
      {"type":"track","userId":"javier","event":"Order Completed","properties":{"revenue":120}},
      {"type":"track","userId":"lea","event":"Recipe Viewed"}]})")
                .status,
            200);
  constexpr char kPersona[] = R"({"name":"Cycling engineer","threshold":20,
      "image":"https://example.com/javier.png",
      "rules":[{"type":"attribute","condition":"job_title icontains \"engineer\"","points":10},
               {"type":"activity","activity":"\"Product Viewed\" where category = \"cycling\"",
                "points":5,"within":"90 days","cap":20},
               {"type":"macro","condition":"did \"Order Completed\"","points":5}]})";
  HttpClientResponse created = Admin("POST", "/api/personas", "", kPersona);
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_THAT(created.body, HasSubstr(R"("members":1)"));
  EXPECT_THAT(created.body, HasSubstr(R"("within":"90 days")"));
  EXPECT_EQ(Admin("POST", "/api/personas", "", kPersona).status, 409);
  EXPECT_EQ(Admin("POST", "/api/personas", read_token_, kPersona).status, 403);
  // Bad rules name the field.
  HttpClientResponse bad = Admin("POST", "/api/personas", "",
                                 R"({"name":"X","threshold":1,"rules":[
      {"type":"attribute","condition":"age > 1","points":1},
      {"type":"attribute","condition":"did page","points":1}]})");
  EXPECT_EQ(bad.status, 400);
  EXPECT_THAT(bad.body, HasSubstr("rules[1].condition: an attribute rule"));
  bad = Admin("POST", "/api/personas", "", R"({"name":"X","rules":[]})");
  EXPECT_EQ(bad.status, 400);
  EXPECT_THAT(bad.body, HasSubstr(R"("field":"threshold")"));
  bad = Admin("POST", "/api/scores", "",
              R"({"name":"Y","rules":[{"type":"macro","condition":"age > 1","points":"ten"}]})");
  EXPECT_EQ(bad.status, 400);
  EXPECT_THAT(bad.body, HasSubstr(R"("field":"rules[0].points")"));

  // The persona: its members, the distribution of its scores and who its members are.
  HttpClientResponse persona = Admin("GET", "/api/personas/Cycling%20engineer");
  ASSERT_EQ(persona.status, 200) << persona.body;
  EXPECT_THAT(persona.body, HasSubstr(R"("qualified":1)"));
  EXPECT_THAT(persona.body, HasSubstr(R"("max":20)"));
  EXPECT_THAT(persona.body, HasSubstr(R"("trait":"country","value":"ES","share":1)"));
  EXPECT_THAT(persona.body, HasSubstr(R"("averageOrderValue":120)"));
  EXPECT_THAT(persona.body, HasSubstr(R"("conversionRate":1)"));
  EXPECT_THAT(Admin("GET", "/api/personas/Cycling%20engineer/members").body,
              HasSubstr(R"("members":[")"));
  EXPECT_EQ(Admin("GET", "/api/scores/Cycling%20engineer").status, 404);

  // A lead score with decay, and stages that read it.
  HttpClientResponse score = Admin("POST", "/api/scores", "", R"({"name":"Lead score",
      "rules":[{"type":"activity","activity":"any","points":1}],
      "decay":{"every":"30 days","percent":25}})");
  ASSERT_EQ(score.status, 201) << score.body;
  HttpClientResponse stages = Admin("PUT", "/api/stages", "", R"({"stages":[
      {"name":"Visitor"},
      {"name":"Lead","condition":"score(\"Lead score\") >= 2"},
      {"name":"Customer","condition":"did \"Order Completed\""}]})");
  ASSERT_EQ(stages.status, 200) << stages.body;
  EXPECT_THAT(stages.body, HasSubstr(R"("name":"Customer","id":)"));
  HttpClientResponse mine = Admin("GET", "/api/contacts/lea/scores");
  EXPECT_THAT(mine.body, HasSubstr(R"({"name":"Lead score","points":2,"persona":false})"));
  EXPECT_THAT(mine.body, HasSubstr(R"("persona":null,"stage":"Lead")"));
  EXPECT_THAT(Admin("GET", "/api/contacts/javier/scores").body,
              HasSubstr(R"("persona":"Cycling engineer","stage":"Customer")"));
  EXPECT_THAT(Admin("GET", "/api/stages/Lead/members").body, HasSubstr(R"("members":[")"));
  // Groups read stages; what reads the score keeps it.
  ASSERT_EQ(
      Admin("POST", "/api/groups", "", R"({"name":"Leads","condition":"stage = \"Lead\""})").status,
      201);
  HttpClientResponse in_use = Admin("DELETE", "/api/scores/Lead%20score");
  EXPECT_EQ(in_use.status, 409);
  EXPECT_THAT(in_use.body, HasSubstr("the lifecycle stages"));
  // Progressive profiling: what to ask a visitor first; lea has told everything rules read.
  ASSERT_EQ(Post("/v1/page", R"({"anonymousId":"visitor","properties":{"path":"/"}})").status, 200);
  HttpClientResponse question = Admin("GET", "/api/contacts/visitor/next-question");
  EXPECT_EQ(question.status, 200);
  EXPECT_THAT(question.body, HasSubstr(R"("question":{"trait":"job_title","rules":1})"));
  EXPECT_THAT(Admin("GET", "/api/contacts/lea/next-question").body,
              HasSubstr(R"("question":null)"));
  EXPECT_THAT(Admin("GET", "/api/groups/Leads/profile").body, HasSubstr(R"("members":1)"));
  EXPECT_THAT(Admin("GET", "/api/personas/Cycling%20engineer/completeness").body,
              HasSubstr(R"({"trait":"job_title","rules":1,"filled":1,"filledOverall":0.666)"));
  // Asynchronous edits answer with a job to poll.
  HttpClientResponse job = Admin("PUT", "/api/personas/Cycling%20engineer", "",
                                 std::string(kPersona).insert(1, R"("async":true,)"));
  EXPECT_EQ(job.status, 202) << job.body;
}

TEST_F(ApiTest, ExperimentReportsOverHttp) {
  std::string batch = R"({"batch":[)";
  for (int i = 0; i < 40; ++i) {
    const char* arm = i % 2 == 0 ? "control" : "discount";
    batch += fmt::format(
        R"({}{{"type":"track","userId":"u{}","event":"Experiment Viewed",
            "properties":{{"experiment_id":"home-hero","variation_id":"{}"}}}})",
        i == 0 ? "" : ",", i, arm);
    if (i % 4 == 1 || i % 8 == 0) {
      batch += fmt::format(
          R"(,{{"type":"track","userId":"u{}","event":"Order Completed","properties":{{"revenue":{}}}}})",
          i, 20 + i);
    }
  }
  batch += "]}";
  ASSERT_EQ(Post("/v1/batch", batch).status, 200);
  constexpr char kQuery[] = R"({"control":"control","goals":[
      {"name":"purchase","selector":"\"Order Completed\"","revenue":"revenue","window":"7 days"}]})";
  HttpClientResponse report =
      Admin("POST", "/api/experiments/home-hero/report", read_token_, kQuery);
  ASSERT_EQ(report.status, 200) << report.body;
  EXPECT_THAT(report.body, HasSubstr(R"("variation":"control","exposed":20)"));
  EXPECT_THAT(report.body, HasSubstr(R"("variation":"discount","exposed":20)"));
  EXPECT_THAT(report.body, HasSubstr(R"("conversionLift":{)"));
  EXPECT_THAT(report.body, HasSubstr(R"("chanceToBeatControl":)"));
  HttpClientResponse bad =
      Admin("POST", "/api/experiments/home-hero/report", "",
            R"({"goals":[{"selector":"\"Order Completed\" within last 3 days"}]})");
  EXPECT_EQ(bad.status, 400);
  EXPECT_THAT(bad.body, HasSubstr("goals[0]"));
  EXPECT_EQ(Admin("POST", "/api/experiments/nope/report", "", kQuery).status, 404);
  EXPECT_EQ(Admin("GET", "/api/experiments/home-hero/report").status, 405);
}

TEST_F(ApiTest, DecideOverHttp) {
  HttpClientResponse put = Admin("PUT", "/api/experiences/product-page-banner", "", R"({
      "variations": [{"name": "welcome-discount",
                      "condition": "visit.new and visit.referrer.search_engine and visit.page.path starts_with \"/products/\"",
                      "payload": {"code": "WELCOME10"}}],
      "default": {"text": "Free shipping"}})");
  ASSERT_EQ(put.status, 200) << put.body;
  EXPECT_EQ(Admin("PUT", "/api/experiences/x", read_token_, "{}").status, 403);
  HttpClientResponse bad_put = Admin("PUT", "/api/experiences/hero", "", R"({
      "variations": [{"name": "a"}], "experiment": "e", "allocation": {"a": 60}, "control": 30})");
  EXPECT_EQ(bad_put.status, 400);
  EXPECT_THAT(bad_put.body, HasSubstr("sum to 90%, not 100%"));
  constexpr char kBody[] = R"({"anonymousId": "visitor-1", "slots": ["product-page-banner"],
      "context": {"page": {"url": "https://shop.example.com/products/bike",
                           "referrer": "https://www.google.com/search?q=bike"}}})";
  HttpClientResponse decided = Post("/v1/decide", kBody);
  ASSERT_EQ(decided.status, 200) << decided.body;
  EXPECT_THAT(decided.body,
              HasSubstr(R"("variation":"welcome-discount","payload":{"code":"WELCOME10"})"));
  // Bad input names what is wrong; no write key, no decision.
  HttpClientResponse unknown = Post("/v1/decide", R"({"anonymousId":"v","slots":["nope"]})");
  EXPECT_EQ(unknown.status, 400);
  EXPECT_THAT(unknown.body, HasSubstr(R"("field":"slots[0]")"));
  HttpClientResponse context = Post(
      "/v1/decide", R"({"anonymousId":"v","slots":["product-page-banner"],"context":{"page":3}})");
  EXPECT_EQ(context.status, 400);
  EXPECT_THAT(context.body, HasSubstr(R"("field":"context.page")"));
  EXPECT_EQ(Post("/v1/decide", kBody, {{"Authorization", "Bearer nope"}}).status, 401);
}

// The response bytes as a client reads them: a body that arrives after its header (read
// from the socket, not the header's buffer), HTTP/1.0 (closed after the response unless
// asked to keep alive), a 204 with no body and no Content-Length.
TEST_F(ApiTest, RawHttpExchangesAreFramedExactly) {
  namespace net = boost::asio;
  net::io_context io;
  auto exchange = [&](const std::string& head, const std::string& body, bool pause) {
    net::ip::tcp::socket socket(io);
    socket.connect({net::ip::make_address("127.0.0.1"), server_->port()});
    net::write(socket, net::buffer(head));
    if (pause) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    net::write(socket, net::buffer(body));
    std::string response;
    boost::system::error_code ec;
    std::array<char, 4096> chunk;
    // Read until the server closes, or until one whole response when it keeps the
    // connection (Content-Length says how much).
    while (true) {
      size_t n = socket.read_some(net::buffer(chunk), ec);
      response.append(chunk.data(), n);
      if (ec) break;
      size_t end = response.find("\r\n\r\n");
      size_t length = response.find("Content-Length: ");
      if (end != std::string::npos && length != std::string::npos &&
          response.size() >= end + 4 + std::stoul(response.substr(length + 16))) {
        break;
      }
      if (end != std::string::npos && response.starts_with("HTTP/1.1 204")) break;
    }
    return response;
  };
  const std::string body = R"({"anonymousId":"raw-1","type":"page"})";
  const std::string head = fmt::format(
      "POST /v1/page HTTP/1.1\r\nHost: x\r\nAuthorization: {}\r\n"
      "Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
      BasicAuth(write_key_), body.size());
  for (bool pause : {false, true}) {
    std::string r = exchange(head, body, pause);
    EXPECT_TRUE(r.starts_with("HTTP/1.1 200 OK\r\n")) << r;
    EXPECT_THAT(r, HasSubstr("\r\nContent-Length: 16\r\n\r\n{\"success\":true}"));
    EXPECT_THAT(r, Not(HasSubstr("Connection:")));
  }
  // Half the body with the header, the rest later.
  std::string r = exchange(head + body.substr(0, 10), body.substr(10), true);
  EXPECT_THAT(r, HasSubstr("{\"success\":true}"));
  std::string old = "POST /v1/page HTTP/1.0" + head.substr(head.find("\r\n"));
  r = exchange(old, body, false);  // read to the end: the server closes
  EXPECT_TRUE(r.starts_with("HTTP/1.0 200 OK\r\n")) << r;
  EXPECT_THAT(r, Not(HasSubstr("Connection:")));
  r = exchange("OPTIONS /v1/decide HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "", false);
  EXPECT_TRUE(r.starts_with("HTTP/1.1 204 No Content\r\n")) << r;
  EXPECT_THAT(r, HasSubstr("Connection: close\r\n"));
  EXPECT_THAT(r, Not(HasSubstr("Content-Length")));
  EXPECT_TRUE(r.ends_with("\r\n\r\n")) << r;
  EXPECT_EQ(Stat("activities"), 4u);
}

// Bodies larger than one read of the socket (the server asks for at most 64 KiB at once):
// sent in pieces with pauses, chunked, and pipelined behind and ahead of small requests on
// one keep-alive connection.
TEST_F(ApiTest, BodiesLargerThanOneReadArriveWhole) {
  namespace net = boost::asio;
  net::io_context io;
  net::ip::tcp::socket socket(io);
  socket.connect({net::ip::make_address("127.0.0.1"), server_->port()});
  std::string pending;  // read but not yet taken as a response
  // Reads one response whose body has a Content-Length; returns its status line and body.
  auto read_response = [&]() -> std::string {
    std::array<char, 4096> chunk;
    while (true) {
      size_t end = pending.find("\r\n\r\n");
      size_t length = pending.find("Content-Length: ");
      if (end != std::string::npos && length != std::string::npos && length < end) {
        size_t total = end + 4 + std::stoul(pending.substr(length + 16));
        if (pending.size() >= total) {
          std::string response = pending.substr(0, pending.find("\r\n")) + " " +
                                 pending.substr(end + 4, total - end - 4);
          pending.erase(0, total);
          return response;
        }
      }
      boost::system::error_code ec;
      size_t n = socket.read_some(net::buffer(chunk), ec);
      if (ec) return "read failed: " + ec.message();
      pending.append(chunk.data(), n);
    }
  };
  auto batch = [](std::string_view prefix, int messages) {
    std::string body = R"({"batch":[)";
    for (int i = 0; i < messages; ++i) {
      if (i > 0) body += ',';
      body +=
          fmt::format(R"({{"type":"track","event":"Product Viewed","anonymousId":"{}-{}",)"
                      R"("messageId":"{}-m{}","properties":{{"sku":"SKU-{:06}","price":{}.5}}}})",
                      prefix, i % 37, prefix, i, i, i % 90);
    }
    return body + "]}";
  };
  auto head = [&](std::string_view path, std::string_view framing) {
    return fmt::format(
        "POST {} HTTP/1.1\r\nHost: x\r\nAuthorization: {}\r\n"
        "Content-Type: application/json\r\n{}\r\n\r\n",
        path, BasicAuth(write_key_), framing);
  };
  auto sized = [&](std::string_view path, const std::string& body) {
    return head(path, fmt::format("Content-Length: {}", body.size())) + body;
  };
  constexpr std::string_view kOk = "HTTP/1.1 200 OK {\"success\":true}";

  // 1. About 150 KB in three writes with pauses between them.
  const std::string big = batch("pieces", 1200);
  ASSERT_GT(big.size(), 2u * 64 * 1024);
  const std::string request = sized("/v1/batch", big);
  const size_t third = request.size() / 3;
  for (size_t from = 0; from < request.size(); from += third) {
    net::write(socket, net::buffer(request.substr(from, third)));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(read_response(), kOk);

  // 2. Chunked: the length of the body is not known ahead.
  const std::string chunked_body = batch("chunked", 1000);
  const size_t half = chunked_body.size() / 2;
  std::string chunked = head("/v1/batch", "Transfer-Encoding: chunked");
  chunked += fmt::format("{:x}\r\n{}\r\n", half, chunked_body.substr(0, half));
  chunked +=
      fmt::format("{:x}\r\n{}\r\n0\r\n\r\n", chunked_body.size() - half, chunked_body.substr(half));
  net::write(socket, net::buffer(chunked));
  EXPECT_EQ(read_response(), kOk);

  // 3. A small request, a large one and a small one in one write.
  const std::string small = R"({"anonymousId":"pipelined","type":"page"})";
  net::write(socket,
             net::buffer(sized("/v1/page", small) + sized("/v1/batch", batch("piped", 900)) +
                         sized("/v1/page", small)));
  for (int i = 0; i < 3; ++i) EXPECT_EQ(read_response(), kOk) << "response " << i;
  EXPECT_TRUE(pending.empty()) << pending;
  EXPECT_EQ(Stat("activities"), 1200u + 1000u + 900u + 2u);
}

TEST_F(ApiTest, EmailsAreRenderedForAContactAndForAGroup) {
  ASSERT_EQ(Post("/v1/batch", R"({"batch":[
      {"type":"identify","userId":"ana","traits":{"first_name":"Ana","email":"ana@example.com","vip":true}},
      {"type":"identify","userId":"bob","traits":{"email":"bob@example.com","vip":true}},
      {"type":"identify","userId":"eve","traits":{"first_name":"Eve","email":"eve@example.com","vip":true,"unsubscribed":true}},
      {"type":"identify","userId":"dan","traits":{"first_name":"Dan","vip":true}}]})")
                .status,
            200);
  ASSERT_EQ(Admin("POST", "/api/groups", "", R"({"name":"VIP","condition":"vip = true"})").status,
            201);
  HttpClientResponse bad =
      Admin("PUT", "/api/emails/welcome", "", R"({"subject":"Hi","body":"{{#in.VIP}}unclosed"})");
  EXPECT_EQ(bad.status, 400);
  EXPECT_THAT(bad.body, HasSubstr(R"("field":"body")"));
  HttpClientResponse put = Admin("PUT", "/api/emails/welcome", "", R"({
      "subject": "Hello {{contact.first_name}}",
      "body": "Dear {{contact.first_name}},{{#in.VIP}} as a VIP{{/in.VIP}} you get 10% off.",
      "defaults": {"first_name": "friend"}})");
  ASSERT_EQ(put.status, 200) << put.body;
  HttpClientResponse one =
      Admin("POST", "/api/emails/welcome/render", read_token_, R"({"contact":"ana"})");
  ASSERT_EQ(one.status, 200) << one.body;
  EXPECT_THAT(one.body,
              HasSubstr(R"("subject":"Hello Ana","body":"Dear Ana, as a VIP you get 10% off.")"));
  HttpClientResponse group = Admin("POST", "/api/emails/welcome/render", "", R"({"group":"VIP"})");
  ASSERT_EQ(group.status, 200) << group.body;
  EXPECT_THAT(group.body, HasSubstr(R"("email":"bob@example.com","subject":"Hello friend")"));
  EXPECT_THAT(group.body, Not(HasSubstr("eve@example.com")));  // unsubscribed
  EXPECT_THAT(group.body, HasSubstr(R"("rendered":2)"));
  EXPECT_THAT(group.body, HasSubstr("unsubscribed"));
  EXPECT_THAT(group.body, HasSubstr("no e-mail address"));
  EXPECT_EQ(Admin("POST", "/api/emails/welcome/render", "", R"({"contact":"eve"})").status, 409);
}

TEST_F(ApiTest, GroupsAreDefinedCheckedListedAndKeptCurrentOverHttp) {
  ASSERT_EQ(Post("/v1/batch", R"({"batch":[
      {"type":"identify","userId":"ana","traits":{"age":47,"country":"ES"}},
      {"type":"identify","userId":"bob","traits":{"age":30,"country":"FR"}},
      {"type":"track","userId":"bob","event":"Newsletter Subscribed"}]})")
                .status,
            200);
  // A condition is checked before it is saved: errors point to line:column.
  HttpClientResponse bad = Admin("POST", "/api/conditions/check", "",
                                 R"({"condition":"age > 40 and\n  countyr = \"ES\""})");
  EXPECT_EQ(bad.status, 400);
  EXPECT_THAT(bad.body, HasSubstr("2:3: unknown trait 'countyr'; did you mean 'country'?"));
  HttpClientResponse good =
      Admin("POST", "/api/conditions/check", "", R"({"condition":"age > 40","count":true})");
  EXPECT_EQ(good.status, 200);
  EXPECT_THAT(good.body, HasSubstr(R"("matches":1)"));

  HttpClientResponse created =
      Admin("POST", "/api/groups", "",
            R"({"name":"Newsletter","condition":"did \"Newsletter Subscribed\""})");
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_THAT(created.body, HasSubstr(R"("members":1)"));
  // The JSON form is accepted as well.
  HttpClientResponse json_form = Admin(
      "POST", "/api/groups", "",
      R"({"name":"Spain","condition":{"cmp":"=","left":{"trait":"country"},"right":{"value":"ES"}}})");
  ASSERT_EQ(json_form.status, 201) << json_form.body;
  EXPECT_THAT(json_form.body, HasSubstr(R"("condition":"country = \"ES\"")"));
  EXPECT_EQ(Admin("POST", "/api/groups", "", R"({"name":"Spain","condition":"age > 1"})").status,
            409);
  EXPECT_EQ(
      Admin("POST", "/api/groups", read_token_, R"({"name":"X","condition":"age > 1"})").status,
      403);

  // Read-your-writes: the 200 of the event means the membership is already current.
  ASSERT_EQ(Post("/v1/track", R"({"userId":"ana","event":"Newsletter Subscribed"})").status, 200);
  EXPECT_THAT(Admin("GET", "/api/groups/Newsletter/members/ana").body,
              HasSubstr(R"("member":true)"));
  EXPECT_THAT(Admin("GET", "/api/groups/Newsletter/count").body, HasSubstr(R"("count":2)"));
  HttpClientResponse page = Admin("GET", "/api/groups/Newsletter/members?limit=1");
  EXPECT_THAT(page.body, HasSubstr(R"("nextCursor":")"));
  HttpClientResponse history = Admin("GET", "/api/contacts/ana/history");
  EXPECT_THAT(history.body, HasSubstr(R"("cause":"event: Newsletter Subscribed")"));
  EXPECT_THAT(Admin("GET", "/api/contacts/ana/groups").body,
              HasSubstr(R"("groups":["Newsletter","Spain"])"));

  // An edit that would create a cycle is refused and changes nothing.
  ASSERT_EQ(Admin("POST", "/api/groups", "", R"({"name":"Both","condition":"in group \"Spain\""})")
                .status,
            201);
  HttpClientResponse cycle =
      Admin("PUT", "/api/groups/Spain", "", R"({"name":"Spain","condition":"in group \"Both\""})");
  EXPECT_EQ(cycle.status, 400);
  EXPECT_THAT(cycle.body, HasSubstr("cycle between groups"));
  EXPECT_EQ(Admin("DELETE", "/api/groups/Spain").status, 409);

  // Static groups, and a job to poll.
  HttpClientResponse job = Admin("POST", "/api/groups", "",
                                 R"({"name":"Hand picked","contacts":["user:bob"],"async":true})");
  ASSERT_EQ(job.status, 202) << job.body;
  simdjson::dom::parser parser;
  std::string id(std::string_view(parser.parse(job.body)["id"]));
  std::string state;
  for (int i = 0; i < 100 && state != "done"; ++i) {
    simdjson::dom::parser p;
    HttpClientResponse polled = Admin("GET", "/api/jobs/" + id);
    state = std::string(std::string_view(p.parse(polled.body)["state"]));
    if (state != "done") absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_EQ(state, "done");
  HttpClientResponse edited =
      Admin("POST", "/api/groups/Hand%20picked/members", "", R"({"add":["ana"],"remove":["bob"]})");
  EXPECT_EQ(edited.status, 200) << edited.body;
  EXPECT_THAT(Admin("GET", "/api/groups/Hand%20picked/members/ana").body,
              HasSubstr(R"("member":true)"));
  EXPECT_EQ(Admin("POST", "/api/groups/Hand%20picked/members", "", R"({"add":["nobody"]})").status,
            400);
  HttpClientResponse list = Admin("GET", "/api/groups");
  EXPECT_THAT(list.body, HasSubstr(R"("name":"Hand picked")"));
  // The totals name every column of derived state with its bytes.
  HttpClientResponse stats = Admin("GET", "/api/stats");
  EXPECT_THAT(stats.body, HasSubstr(R"("derived":{"bytes":)"));
  EXPECT_THAT(stats.body, HasSubstr(R"({"name":"group/Newsletter/members","what":"members",)"));
}

}  // namespace
}  // namespace segmenta
