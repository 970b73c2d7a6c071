// `segmenta groups ...` and `segmenta export group NAME`: contact groups through a running
// server's API (the CLI equivalents of /api/groups).
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>

#include "cli/admin_client.h"
#include "cli/commands.h"
#include "cli/terminal.h"
#include "core/json_writer.h"
#include "fmt/format.h"
#include "simdjson.h"

namespace segmenta {
namespace {

struct Connection {
  std::string url;
  std::string token;
};

[[noreturn]] void Fail(std::string_view command, std::string_view message) {
  fmt::print(stderr, "segmenta {}: {}\n", command, message);
  throw CLI::RuntimeError(1);
}

AdminClient Connect(const Connection& c, std::string_view command) {
  absl::StatusOr<AdminClient> client = AdminClient::Connect(c.url, c.token);
  if (!client.ok()) Fail(command, std::string(client.status().message()));
  return *std::move(client);
}

std::string CallOrFail(AdminClient& client, std::string_view command, const std::string& method,
                       const std::string& target, const std::string& body = {}) {
  absl::StatusOr<std::string> out = client.Call(method, target, body);
  if (!out.ok()) Fail(command, std::string(out.status().message()));
  return *std::move(out);
}

std::string ReadAll(const std::string& path, std::string_view command) {
  if (path == "-") {
    std::stringstream ss;
    ss << std::cin.rdbuf();
    return ss.str();
  }
  std::ifstream in(path);
  if (!in) Fail(command, fmt::format("cannot read {}", path));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Prints a group's JSON as a short summary.
void PrintGroup(std::string_view json) {
  simdjson::dom::parser parser;
  simdjson::padded_string padded(json);
  simdjson::dom::element g;
  if (parser.parse(padded).get(g) != simdjson::SUCCESS) {
    fmt::print("{}\n", json);
    return;
  }
  std::string_view name = g["name"], kind = g["kind"];
  uint64_t members = g["members"];
  fmt::print("{} ({}): {} members\n", name, kind, members);
  std::string_view text;
  if (g["condition"].get(text) == simdjson::SUCCESS) fmt::print("  condition: {}\n", text);
  std::string_view description = g["description"];
  if (!description.empty()) fmt::print("  description: {}\n", description);
  for (simdjson::dom::element w : simdjson::dom::array(g["warnings"])) {
    fmt::print("  warning: {}\n", std::string_view(w));
  }
}

// Creates or updates with a progress bar: the job is polled until it ends.
void Define(AdminClient& client, const std::string& method, const std::string& target,
            std::string body_without_async) {
  body_without_async.pop_back();  // '}'
  std::string body = body_without_async + ",\"async\":true}";
  std::string started = CallOrFail(client, "groups", method, target, body);
  simdjson::dom::parser parser;
  std::string job(std::string_view(parser.parse(started)["id"]));
  ProgressBar bar("evaluating", 1000);
  while (true) {
    simdjson::dom::parser p;
    std::string polled = CallOrFail(client, "groups", "GET", "/api/jobs/" + job);
    simdjson::dom::element doc = p.parse(polled);
    std::string_view state = doc["state"];
    double progress = doc["progress"];
    bar.Update(static_cast<uint64_t>(progress * 1000));
    if (state == "done") {
      bar.Finish();
      simdjson::dom::element group = doc["group"];
      PrintGroup(MinifiedJson(group));
      return;
    }
    if (state == "failed" || state == "cancelled") {
      bar.Finish();
      Fail("groups", std::string_view(doc["error"]));
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
}

struct DefineFlags {
  std::string name;
  std::string condition;
  std::string condition_file;
  std::string description;
  std::vector<std::string> contacts;
  std::vector<std::string> accounts;
  std::string webhook;
  std::string webhook_secret;
};

std::string DefinitionBody(const DefineFlags& f) {
  std::string condition = f.condition;
  if (!f.condition_file.empty()) condition = ReadAll(f.condition_file, "groups");
  JsonWriter w;
  w.BeginObject().Field("name", f.name);
  if (!f.description.empty()) w.Field("description", f.description);
  if (!condition.empty()) w.Field("condition", condition);
  if (!f.contacts.empty()) {
    w.Key("contacts").BeginArray();
    for (const std::string& c : f.contacts) w.String(c);
    w.EndArray();
  }
  if (!f.accounts.empty()) {
    w.Key("accounts").BeginArray();
    for (const std::string& a : f.accounts) w.String(a);
    w.EndArray();
  }
  if (!f.webhook.empty()) {
    w.Key("webhooks").BeginArray().BeginObject().Field("url", f.webhook);
    w.Field("secret", f.webhook_secret).EndObject().EndArray();
  }
  w.EndObject();
  return w.Take();
}

void AddConnectionOptions(CLI::App* sub, Connection& c) {
  sub->add_option("--url", c.url, "Server, http://HOST:PORT (env SEGMENTA_URL)");
  sub->add_option("--token", c.token, "Admin or read-only token (env SEGMENTA_TOKEN)");
}

// Pages through a group's members with their profiles.
template <typename F>
void ForEachMember(AdminClient& client, std::string_view command, const std::string& name,
                   F&& visit) {
  std::string cursor;
  while (true) {
    std::string target =
        fmt::format("/api/groups/{}/members?expand=contacts&limit=1000{}", EncodePathSegment(name),
                    cursor.empty() ? "" : "&cursor=" + cursor);
    std::string page = CallOrFail(client, command, "GET", target);
    simdjson::dom::parser parser;
    simdjson::dom::element doc = parser.parse(page);
    for (simdjson::dom::element c : simdjson::dom::array(doc["members"])) visit(c);
    if (doc["nextCursor"].is_null()) return;
    cursor = std::string(std::string_view(doc["nextCursor"]));
  }
}

std::string CsvField(std::string_view s) {
  if (s.find_first_of(",\"\n\r") == std::string_view::npos) return std::string(s);
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string IdentityOf(simdjson::dom::element contact, std::string_view type) {
  std::string out;
  for (simdjson::dom::element i : simdjson::dom::array(contact["identities"])) {
    if (std::string_view(i["type"]) != type) continue;
    if (!out.empty()) out += ' ';
    out += std::string_view(i["value"]);
  }
  return out;
}

void Export(const Connection& connection, const std::string& name, const std::string& format,
            const std::string& output) {
  AdminClient client = Connect(connection, "export");
  std::FILE* out = output == "-" ? stdout : std::fopen(output.c_str(), "wb");
  if (out == nullptr) Fail("export", fmt::format("cannot write {}", output));
  uint64_t written = 0;
  if (format == "jsonl") {
    ForEachMember(client, "export", name, [&](simdjson::dom::element c) {
      std::string line = MinifiedJson(c) + "\n";
      std::fwrite(line.data(), 1, line.size(), out);
      ++written;
    });
  } else {
    // CSV needs its header first: one pass for the trait names, one for the rows.
    std::set<std::string> traits;
    ForEachMember(client, "export", name, [&](simdjson::dom::element c) {
      for (auto field : simdjson::dom::object(c["traits"])) traits.emplace(field.key);
    });
    traits.erase("email");  // the identity column holds it
    std::string header = "contact_id,user_id,email,anonymous_ids";
    for (const std::string& t : traits) header += "," + CsvField(t);
    header += "\n";
    std::fwrite(header.data(), 1, header.size(), out);
    ForEachMember(client, "export", name, [&](simdjson::dom::element c) {
      std::string line = CsvField(std::string_view(c["id"]));
      line += "," + CsvField(IdentityOf(c, "userId"));
      line += "," + CsvField(IdentityOf(c, "email"));
      line += "," + CsvField(IdentityOf(c, "anonymousId"));
      simdjson::dom::object values = c["traits"];
      for (const std::string& t : traits) {
        line += ',';
        simdjson::dom::element v;
        if (values.at_key(t).get(v) != simdjson::SUCCESS || v.is_null()) continue;
        line += CsvField(v.is_string() ? std::string(std::string_view(v)) : MinifiedJson(v));
      }
      line += "\n";
      std::fwrite(line.data(), 1, line.size(), out);
      ++written;
    });
  }
  if (out != stdout) std::fclose(out);
  fmt::print(stderr, "exported {} contacts of group \"{}\" as {}\n", written, name, format);
}

}  // namespace

void AddGroupsCommand(CLI::App& app) {
  auto conn = std::make_shared<Connection>();
  CLI::App* groups =
      app.add_subcommand("groups",
                         "Contact groups on a running server: list, show, create, update, delete, "
                         "members, count, is-member, history");
  groups->require_subcommand(1);
  groups->fallthrough();  // --url and --token may follow the subcommand's own arguments
  AddConnectionOptions(groups, *conn);

  CLI::App* list = groups->add_subcommand("list", "Every group with its size");
  list->callback([conn] {
    AdminClient client = Connect(*conn, "groups");
    simdjson::dom::parser parser;
    std::string body = CallOrFail(client, "groups", "GET", "/api/groups");
    for (simdjson::dom::element g : simdjson::dom::array(parser.parse(body)["groups"])) {
      PrintGroup(MinifiedJson(g));
    }
  });

  auto name = std::make_shared<std::string>();
  CLI::App* show = groups->add_subcommand("show", "A group, its condition, size and warnings");
  show->add_option("name", *name, "Group name")->required();
  show->callback([conn, name] {
    AdminClient client = Connect(*conn, "groups");
    fmt::print("{}\n",
               CallOrFail(client, "groups", "GET", "/api/groups/" + EncodePathSegment(*name)));
  });

  for (const char* verb : {"create", "update"}) {
    auto flags = std::make_shared<DefineFlags>();
    CLI::App* sub = groups->add_subcommand(
        verb, std::string(verb) == "create" ? "Create a group and compute its members"
                                            : "Replace a group's definition and recompute it");
    sub->add_option("name", flags->name, "Group name")->required();
    sub->add_option("--condition", flags->condition, "Condition (text form)");
    sub->add_option("--condition-file", flags->condition_file, "Condition from a file (- stdin)");
    sub->add_option("--description", flags->description, "What the group is for");
    sub->add_option("--contacts", flags->contacts, "Static group: contacts by any identity");
    sub->add_option("--accounts", flags->accounts, "Static group: accounts (groupIds)");
    sub->add_option("--webhook", flags->webhook, "URL notified of enters and exits");
    sub->add_option("--webhook-secret", flags->webhook_secret, "Secret signing the webhook");
    std::string method = std::string(verb) == "create" ? "POST" : "PUT";
    sub->callback([conn, flags, method] {
      AdminClient client = Connect(*conn, "groups");
      std::string target =
          method == "POST" ? "/api/groups" : "/api/groups/" + EncodePathSegment(flags->name);
      Define(client, method, target, DefinitionBody(*flags));
    });
  }

  CLI::App* remove = groups->add_subcommand("delete", "Delete a group");
  remove->add_option("name", *name, "Group name")->required();
  remove->callback([conn, name] {
    AdminClient client = Connect(*conn, "groups");
    CallOrFail(client, "groups", "DELETE", "/api/groups/" + EncodePathSegment(*name));
    fmt::print("deleted {}\n", *name);
  });

  auto limit = std::make_shared<int>(100);
  CLI::App* members = groups->add_subcommand("members", "Contact ids of a group's members");
  members->add_option("name", *name, "Group name")->required();
  members->add_option("--limit", *limit, "How many")->capture_default_str();
  members->callback([conn, name, limit] {
    AdminClient client = Connect(*conn, "groups");
    simdjson::dom::parser parser;
    std::string body = CallOrFail(
        client, "groups", "GET",
        fmt::format("/api/groups/{}/members?limit={}", EncodePathSegment(*name), *limit));
    for (simdjson::dom::element id : simdjson::dom::array(parser.parse(body)["members"])) {
      fmt::print("{}\n", std::string_view(id));
    }
  });

  CLI::App* count = groups->add_subcommand("count", "How many members a group has");
  count->add_option("name", *name, "Group name")->required();
  count->callback([conn, name] {
    AdminClient client = Connect(*conn, "groups");
    simdjson::dom::parser parser;
    std::string body =
        CallOrFail(client, "groups", "GET", "/api/groups/" + EncodePathSegment(*name) + "/count");
    fmt::print("{}\n", uint64_t(parser.parse(body)["count"]));
  });

  auto contact = std::make_shared<std::string>();
  CLI::App* is_member = groups->add_subcommand(
      "is-member", "Whether a contact (any identity) is a member; exit 0 yes, 3 no");
  is_member->add_option("name", *name, "Group name")->required();
  is_member->add_option("contact", *contact, "Contact id or identity")->required();
  is_member->callback([conn, name, contact] {
    AdminClient client = Connect(*conn, "groups");
    simdjson::dom::parser parser;
    std::string body = CallOrFail(client, "groups", "GET",
                                  fmt::format("/api/groups/{}/members/{}", EncodePathSegment(*name),
                                              EncodePathSegment(*contact)));
    bool member = parser.parse(body)["member"];
    fmt::print("{}\n", member ? "yes" : "no");
    if (!member) throw CLI::RuntimeError(3);
  });

  CLI::App* history = groups->add_subcommand("history", "Enters and exits, newest first");
  history->add_option("name", *name, "Group name")->required();
  history->add_option("--limit", *limit, "How many")->capture_default_str();
  history->callback([conn, name, limit] {
    AdminClient client = Connect(*conn, "groups");
    simdjson::dom::parser parser;
    std::string body = CallOrFail(
        client, "groups", "GET",
        fmt::format("/api/groups/{}/history?limit={}", EncodePathSegment(*name), *limit));
    for (simdjson::dom::element e : simdjson::dom::array(parser.parse(body)["history"])) {
      fmt::print("{}  {:7} contact {}  ({})\n", std::string_view(e["time"]),
                 std::string_view(e["type"]), std::string_view(e["contactId"]),
                 std::string_view(e["cause"]));
    }
  });

  // segmenta export group NAME
  auto export_conn = std::make_shared<Connection>();
  auto format = std::make_shared<std::string>("csv");
  auto output = std::make_shared<std::string>("-");
  CLI::App* export_cmd = app.add_subcommand("export", "Export data from a running server");
  export_cmd->require_subcommand(1);
  CLI::App* group = export_cmd->add_subcommand(
      "group", "A group's members with their identities and traits, as CSV or JSONL");
  group->add_option("name", *name, "Group name")->required();
  group->add_option("--format", *format, "csv or jsonl")
      ->capture_default_str()
      ->check(CLI::IsMember({"csv", "jsonl"}));
  group->add_option("--output,-o", *output, "File (- for stdout)")->capture_default_str();
  AddConnectionOptions(group, *export_conn);
  group->callback(
      [export_conn, name, format, output] { Export(*export_conn, *name, *format, *output); });
}

}  // namespace segmenta
