// `segmenta check FILE|-`: validates a condition and explains it: its normalized text and
// JSON forms, what it reads, whether time alone changes it. Against a running server
// (--url) or the data directory (read-only); with neither, the syntax only.
// Exit status: 0 valid, 1 invalid (FILE:LINE:COLUMN: reason on stderr).
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "absl/strings/str_join.h"
#include "cli/admin_client.h"
#include "cli/commands.h"
#include "core/json_writer.h"
#include "eval/schema.h"
#include "fmt/format.h"
#include "lang/parser.h"
#include "segments/group.h"
#include "simdjson.h"

namespace segmenta {
namespace {

struct CheckFlags {
  std::string file;
  std::string url;
  std::string token;
  bool count = false;
};

[[noreturn]] void Invalid(const std::string& file, std::string_view message) {
  // Errors from the language start with "line:column:".
  fmt::print(stderr, "{}:{}\n", file == "-" ? "<stdin>" : file, message);
  throw CLI::RuntimeError(1);
}

void Explain(const Plan& plan) {
  fmt::print("valid: {}\n", plan.text());
  std::vector<std::string> reads;
  if (!plan.traits().empty()) reads.push_back("traits " + absl::StrJoin(plan.traits(), ", "));
  if (!plan.event_keys().empty()) {
    reads.push_back("activities " + absl::StrJoin(plan.event_keys(), ", "));
  }
  if (plan.uses_accounts()) reads.push_back("accounts");
  if (!plan.definitions().empty()) {
    reads.push_back("groups " + absl::StrJoin(plan.definitions(), ", "));
  }
  fmt::print("reads: {}\n", reads.empty() ? "nothing" : absl::StrJoin(reads, "; "));
  fmt::print("time-dependent: {}\n",
             plan.time_dependent() ? "yes: re-evaluated when time alone may change it" : "no");
  for (const std::string& w : plan.warnings()) fmt::print("warning: {}\n", w);
  fmt::print("json: {}\n", plan.json());
}

void Check(const CommonOptions& common, const CheckFlags& flags) {
  std::string text;
  if (flags.file == "-") {
    std::stringstream ss;
    ss << std::cin.rdbuf();
    text = ss.str();
  } else {
    std::ifstream in(flags.file);
    if (!in) {
      fmt::print(stderr, "segmenta check: cannot read {}\n", flags.file);
      throw CLI::RuntimeError(1);
    }
    std::stringstream ss;
    ss << in.rdbuf();
    text = ss.str();
  }

  if (!flags.url.empty() || std::getenv("SEGMENTA_URL") != nullptr) {
    absl::StatusOr<AdminClient> client = AdminClient::Connect(flags.url, flags.token);
    if (!client.ok()) {
      fmt::print(stderr, "segmenta check: {}\n", std::string(client.status().message()));
      throw CLI::RuntimeError(1);
    }
    JsonWriter w;
    w.BeginObject().Field("condition", text).Field("count", flags.count).EndObject();
    absl::StatusOr<std::string> answer = client->Call("POST", "/api/conditions/check", w.Take());
    if (!answer.ok()) {
      std::string message(answer.status().message());
      size_t http = message.rfind(" (HTTP");
      Invalid(flags.file, http == std::string::npos ? message : message.substr(0, http));
    }
    simdjson::dom::parser parser;
    simdjson::dom::element doc = parser.parse(*answer);
    fmt::print("valid: {}\n", std::string_view(doc["condition"]));
    fmt::print("time-dependent: {}\n", bool(doc["timeDependent"]) ? "yes" : "no");
    for (simdjson::dom::element warning : simdjson::dom::array(doc["warnings"])) {
      fmt::print("warning: {}\n", std::string_view(warning));
    }
    uint64_t matches = 0;
    if (doc["matches"].get(matches) == simdjson::SUCCESS) fmt::print("matches: {}\n", matches);
    fmt::print("json: {}\n", MinifiedJson(doc["conditionJson"]));
    return;
  }

  if (!std::filesystem::exists(common.data_dir)) {
    absl::StatusOr<NodePtr> node = ParseCondition(text);
    if (!node.ok()) Invalid(flags.file, std::string(node.status().message()));
    fmt::print("valid syntax: {}\n", NodeToText(**node));
    fmt::print("(names not checked: no data directory at {}; give --data-dir or --url)\n",
               common.data_dir);
    fmt::print("json: {}\n", NodeToJson(**node));
    return;
  }
  StoreOptions options;
  options.read_only = true;
  absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(common.data_dir, options);
  if (!store.ok()) {
    fmt::print(stderr, "segmenta check: {}\n", std::string(store.status().message()));
    throw CLI::RuntimeError(1);
  }
  ProfileTable profiles;
  absl::Status loaded = profiles.Load(**store);
  if (!loaded.ok()) {
    fmt::print(stderr, "segmenta check: {}\n", std::string(loaded.message()));
    throw CLI::RuntimeError(1);
  }
  Schema schema = SchemaOf(profiles);
  auto it = (*store)->NewIterator(Family::kGroups);
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    absl::StatusOr<GroupDefinition> def =
        GroupDefinition::Decode(std::string_view(it->value().data(), it->value().size()));
    if (def.ok()) schema.definitions[def->name] = {};
  }
  absl::StatusOr<std::shared_ptr<const Plan>> plan = Plan::CompileText(text, schema);
  if (!plan.ok()) Invalid(flags.file, std::string(plan.status().message()));
  Explain(**plan);
}

}  // namespace

void AddCheckCommand(CLI::App& app, CommonOptions& common) {
  auto flags = std::make_shared<CheckFlags>();
  CLI::App* sub =
      app.add_subcommand("check",
                         "Validate and explain a condition (docs/conditions.md), against a running "
                         "server (--url) or the data directory");
  sub->add_option("file", flags->file, "File holding the condition (- reads stdin)")->required();
  sub->add_option("--url", flags->url, "Server to check against (env SEGMENTA_URL)");
  sub->add_option("--token", flags->token, "Admin or read-only token (env SEGMENTA_TOKEN)");
  sub->add_flag("--count", flags->count, "With --url: count the contacts matching now");
  sub->callback([&common, flags] { Check(common, *flags); });
}

}  // namespace segmenta
