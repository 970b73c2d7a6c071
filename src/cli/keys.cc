// `segmenta keys`: create, list and revoke write keys, admin and read-only tokens offline.
#include <cstdio>
#include <memory>

#include "cli/commands.h"
#include "core/clock.h"
#include "core/time_format.h"
#include "fmt/format.h"
#include "server/key_ring.h"
#include "spdlog/sinks/stdout_color_sinks.h"
#include "spdlog/spdlog.h"
#include "store/store.h"

namespace segmenta {
namespace {

struct KeysFlags {
  std::string kind = "write";
  std::string name;
  std::string id;
};

[[noreturn]] void Fail(const std::string& message) {
  fmt::print(stderr, "segmenta keys: {}\n", message);
  throw CLI::RuntimeError(1);
}

// Opens the store and its keys; a running server holding the directory is explained.
std::pair<std::unique_ptr<Store>, std::unique_ptr<KeyRing>> Open(const CommonOptions& common) {
  if (spdlog::get("segmenta") == nullptr) {
    spdlog::set_default_logger(spdlog::stderr_color_mt("segmenta"));
  }
  absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(common.data_dir);
  if (absl::IsFailedPrecondition(store.status())) {
    Fail(fmt::format(
        "data directory {} is in use by a running server (segmenta serve); manage keys through "
        "its API instead: POST /api/keys, GET /api/keys, DELETE /api/keys/ID with an admin "
        "token",
        common.data_dir));
  }
  if (!store.ok()) {
    Fail(fmt::format("cannot open {}: {}", common.data_dir, std::string(store.status().message())));
  }
  absl::StatusOr<std::unique_ptr<KeyRing>> keys = KeyRing::Load(store->get());
  if (!keys.ok()) Fail(fmt::format("cannot load keys: {}", std::string(keys.status().message())));
  return {std::move(*store), std::move(*keys)};
}

void Create(const CommonOptions& common, const KeysFlags& flags) {
  KeyKind kind;
  if (!ParseKeyKind(flags.kind, &kind)) {
    Fail(fmt::format("--kind must be write, admin or read, not '{}'", flags.kind));
  }
  if (flags.name.empty()) Fail("--name must not be empty");
  auto [store, keys] = Open(common);
  auto created = keys->Create(kind, flags.name, ToMillis(Clock::Real()->Now()));
  if (!created.ok()) {
    Fail(fmt::format("cannot create the key: {}", std::string(created.status().message())));
  }
  // The secret alone on stdout, so that scripts can capture it.
  fmt::print("{}\n", created->second);
  std::fflush(stdout);
  fmt::print(stderr, "created key {} ({}); the secret above is shown only once\n",
             created->first.id, KeyKindName(kind));
}

void List(const CommonOptions& common) {
  auto [store, keys] = Open(common);
  std::vector<KeyRecord> records = keys->List();
  fmt::print("{:<21}  {:<5}  {:<24}  {}\n", "ID", "KIND", "CREATED", "NAME");
  for (const KeyRecord& record : records) {
    fmt::print("{:<21}  {:<5}  {:<24}  {}\n", record.id, KeyKindName(record.kind),
               FormatTimestamp(FromMillis(record.created_ms)), record.name);
  }
  if (records.empty())
    fmt::print(stderr, "no keys yet: segmenta keys create --kind write --name NAME\n");
}

void Revoke(const CommonOptions& common, const KeysFlags& flags) {
  auto [store, keys] = Open(common);
  absl::Status status = keys->Revoke(flags.id);
  if (!status.ok()) Fail(std::string(status.message()));
  fmt::print(stderr,
             "revoked key {} (a running server notices at its next start; use DELETE "
             "/api/keys/{} to revoke on a running server)\n",
             flags.id, flags.id);
}

}  // namespace

void AddKeysCommand(CLI::App& app, CommonOptions& common) {
  auto flags = std::make_shared<KeysFlags>();
  CLI::App* keys = app.add_subcommand("keys", "Manage write keys, admin and read-only tokens");
  keys->require_subcommand(1);

  CLI::App* create =
      keys->add_subcommand("create", "Create a key; prints its secret (shown only once) on stdout");
  create
      ->add_option("--kind", flags->kind,
                   "write (collection), admin (all of /api) or read "
                   "(GET under /api)")
      ->capture_default_str()
      ->check(CLI::IsMember({"write", "admin", "read"}));
  create->add_option("--name", flags->name, "What the key is for (e.g. website)")->required();
  create->callback([&common, flags] { Create(common, *flags); });

  CLI::App* list =
      keys->add_subcommand("list", "List keys: id, kind, created, name (never secrets)");
  list->callback([&common] { List(common); });

  CLI::App* revoke = keys->add_subcommand("revoke", "Revoke a key by its id");
  revoke->add_option("id", flags->id, "The key id (key_...)")->required();
  revoke->callback([&common, flags] { Revoke(common, *flags); });
}

}  // namespace segmenta
