// `segmenta decide SLOT...`: asks a running server what a visitor sees (POST /v1/decide),
// for trying experiences from a terminal.
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "CLI/CLI.hpp"
#include "cli/commands.h"
#include "core/json_writer.h"
#include "fmt/format.h"
#include "server/http_client.h"
#include "simdjson.h"

namespace segmenta {
namespace {

struct DecideCommand {
  std::vector<std::string> slots;
  std::string user, anonymous, context, url, write_key;
  bool json = false;
};

[[noreturn]] void Fail(const std::string& message, int code = 1) {
  std::fprintf(stderr, "segmenta decide: %s\n", message.c_str());
  std::exit(code);
}

int Run(const DecideCommand& cmd) {
  std::string url = cmd.url;
  if (url.empty() && std::getenv("SEGMENTA_URL") != nullptr) url = std::getenv("SEGMENTA_URL");
  std::string key = cmd.write_key;
  if (key.empty() && std::getenv("SEGMENTA_WRITE_KEY") != nullptr) {
    key = std::getenv("SEGMENTA_WRITE_KEY");
  }
  if (url.empty()) Fail("the server's URL is missing: --url or $SEGMENTA_URL", 2);
  if (key.empty()) Fail("a write key is missing: --write-key or $SEGMENTA_WRITE_KEY", 2);
  if (cmd.user.empty() && cmd.anonymous.empty()) Fail("--user or --anonymous is required", 2);
  std::string context = cmd.context.empty() ? "{}" : cmd.context;
  if (!context.empty() && context[0] == '@') {
    std::ifstream in(context.substr(1));
    if (!in) Fail(fmt::format("cannot read {}", context.substr(1)), 2);
    std::stringstream ss;
    ss << in.rdbuf();
    context = ss.str();
  }
  simdjson::dom::parser parser;
  simdjson::padded_string padded(context);
  simdjson::dom::element root;
  if (parser.parse(padded).get(root) != simdjson::SUCCESS || !root.is_object()) {
    Fail("--context: must be a JSON object (or @FILE holding one)", 2);
  }
  JsonWriter w;
  w.BeginObject();
  if (!cmd.user.empty()) w.Field("userId", cmd.user);
  if (!cmd.anonymous.empty()) w.Field("anonymousId", cmd.anonymous);
  w.Key("slots").BeginArray();
  for (const std::string& s : cmd.slots) w.String(s);
  w.EndArray().Key("context").Raw(MinifiedJson(root)).EndObject();
  absl::StatusOr<HttpEndpoint> endpoint = ParseHttpUrl(url);
  if (!endpoint.ok()) Fail(std::string(endpoint.status().message()), 2);
  HttpClient client(*endpoint);
  absl::StatusOr<HttpClientResponse> res =
      client.Request("POST", "/v1/decide", w.Take(),
                     {{"Authorization", BasicAuth(key)}, {"Content-Type", "application/json"}});
  if (!res.ok()) Fail(std::string(res.status().message()));
  if (res->status != 200) Fail(fmt::format("HTTP {}: {}", res->status, res->body));
  if (cmd.json) {
    fmt::print("{}\n", res->body);
    return 0;
  }
  simdjson::padded_string body(res->body);
  simdjson::dom::element answer;
  if (parser.parse(body).get(answer) != simdjson::SUCCESS) Fail("malformed answer");
  for (simdjson::dom::element d : simdjson::dom::array(answer["decisions"])) {
    fmt::print("{}: {}  {}\n  because {}\n", std::string_view(d["slot"]),
               std::string_view(d["variation"]), MinifiedJson(d["payload"]),
               std::string_view(d["reason"]));
  }
  return 0;
}

}  // namespace

void AddDecideCommand(CLI::App& app) {
  auto cmd = std::make_shared<DecideCommand>();
  CLI::App* sub = app.add_subcommand(
      "decide", "Ask a running server which variation of each slot a visitor sees (/v1/decide)");
  sub->add_option("slots", cmd->slots, "Slots to decide")->required();
  sub->add_option("--user", cmd->user, "The visitor's userId");
  sub->add_option("--anonymous", cmd->anonymous, "The visitor's anonymousId");
  sub->add_option("--context", cmd->context,
                  "The visit's context as JSON ({\"page\": {\"url\": …, \"referrer\": …}, "
                  "\"userAgent\": …}), or @FILE");
  sub->add_option("--url", cmd->url, "The server (default $SEGMENTA_URL)");
  sub->add_option("--write-key", cmd->write_key, "A write key (default $SEGMENTA_WRITE_KEY)");
  sub->add_flag("--json", cmd->json, "Print the server's JSON answer");
  sub->callback([cmd]() {
    int code = Run(*cmd);
    if (code != 0) throw CLI::RuntimeError(code);
  });
}

}  // namespace segmenta
