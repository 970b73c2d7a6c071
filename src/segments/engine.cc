#include "segments/engine.h"

#include <algorithm>
#include <charconv>
#include <future>
#include <limits>

#include "absl/strings/str_join.h"
#include "core/json_writer.h"
#include "core/status.h"
#include "core/time_format.h"
#include "eval/evaluator.h"
#include "eval/schema.h"
#include "fmt/format.h"
#include "simdjson.h"
#include "spdlog/spdlog.h"

namespace segmenta {
namespace {

// How often overall(...) aggregates are refreshed.
constexpr Millis kOverallRefresh = 60 * 1000;

std::string BigEndianMillis(Millis ms) {
  std::string out;
  AppendBigEndian64(static_cast<uint64_t>(ms), &out);
  return out;
}

absl::Status CheckWebhook(const Webhook& hook) {
  if (hook.url.rfind("http://", 0) != 0 && hook.url.rfind("https://", 0) != 0) {
    return absl::InvalidArgumentError(
        fmt::format("webhook url \"{}\" must start with http:// or https://", hook.url));
  }
  if (hook.secret.size() < 16) {
    return absl::InvalidArgumentError("a webhook secret has at least 16 characters");
  }
  return absl::OkStatus();
}

template <typename T>
void SortUnique(std::vector<T>& v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
}

// Checks what can be checked without the data, and puts the lists in order.
absl::Status Normalize(GroupDefinition* def) {
  SEGMENTA_RETURN_IF_ERROR(CheckGroupName(def->name));
  for (const Webhook& hook : def->webhooks) SEGMENTA_RETURN_IF_ERROR(CheckWebhook(hook));
  SortUnique(def->contacts);
  SortUnique(def->accounts);
  return absl::OkStatus();
}

std::string HistoryRecord(const MembershipEvent& e) {
  JsonWriter w;
  w.BeginObject().Field("group", static_cast<uint64_t>(e.group)).Field("contact", e.contact);
  w.Field("entered", e.entered).Field("time", e.time_ms).Field("cause", e.cause).EndObject();
  return w.Take();
}

absl::StatusOr<MembershipEvent> ParseHistory(std::string_view bytes) {
  simdjson::dom::parser parser;
  simdjson::padded_string padded(bytes);
  simdjson::dom::element root;
  MembershipEvent e;
  uint64_t group = 0;
  std::string_view cause;
  if (parser.parse(padded).get(root) != simdjson::SUCCESS ||
      root["group"].get(group) != simdjson::SUCCESS ||
      root["contact"].get(e.contact) != simdjson::SUCCESS ||
      root["entered"].get(e.entered) != simdjson::SUCCESS ||
      root["time"].get(e.time_ms) != simdjson::SUCCESS ||
      root["cause"].get(cause) != simdjson::SUCCESS) {
    return absl::DataLossError("malformed history record");
  }
  e.group = static_cast<uint32_t>(group);
  e.cause = std::string(cause);
  return e;
}

}  // namespace

struct GroupEngine::Group {
  GroupDefinition def;
  std::shared_ptr<const Plan> plan;  // null for static groups and broken conditions
  std::string error;                 // why a stored condition no longer compiles
  Roaring members;
  std::vector<Value> overall;
  // The instant each contact's timer is due (the heap may hold stale entries).
  absl::flat_hash_map<ContactId, Millis> scheduled;
  std::vector<size_t> dependents;  // indexes into groups_ of the groups that use this one
  std::vector<std::string> uses;
};

GroupEngine::GroupEngine(Store* store, Worker* worker, Clock* clock)
    : store_(store), worker_(worker), clock_(clock) {}

GroupEngine::~GroupEngine() { worker_->SetObserver(nullptr); }

absl::StatusOr<std::unique_ptr<GroupEngine>> GroupEngine::Start(Store* store, Worker* worker,
                                                                Clock* clock) {
  std::unique_ptr<GroupEngine> engine(new GroupEngine(store, worker, clock));
  SEGMENTA_RETURN_IF_ERROR(engine->Load());
  worker->SetObserver(engine.get());
  return engine;
}

absl::Status GroupEngine::Load() {
  // Lock order everywhere: the profile table, then the engine.
  return worker_->ReadProfiles([&](const ProfileTable& profiles) {
    absl::MutexLock lock(&mu_);
    return LoadLocked(profiles);
  });
}

absl::Status GroupEngine::LoadLocked(const ProfileTable& profiles) {
  SEGMENTA_ASSIGN_OR_RETURN(auto counters, store_->Get(Family::kMeta, kMetaSegments));
  if (counters) {
    simdjson::dom::parser parser;
    simdjson::padded_string padded(*counters);
    simdjson::dom::element root;
    uint64_t next_group = 1;
    if (parser.parse(padded).get(root) != simdjson::SUCCESS ||
        root["next_group"].get(next_group) != simdjson::SUCCESS ||
        root["next_history"].get(next_history_seq_) != simdjson::SUCCESS ||
        root["next_outbox"].get(next_outbox_seq_) != simdjson::SUCCESS) {
      return absl::DataLossError("malformed segments counters in the store");
    }
    next_group_id_ = static_cast<uint32_t>(next_group);
  }
  {
    auto it = store_->NewIterator(Family::kGroups);
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      SEGMENTA_ASSIGN_OR_RETURN(GroupDefinition def, GroupDefinition::Decode(std::string_view(
                                                         it->value().data(), it->value().size())));
      auto g = std::make_unique<Group>();
      g->def = std::move(def);
      by_id_[g->def.id] = g.get();
      groups_.push_back(std::move(g));
    }
    SEGMENTA_RETURN_IF_ERROR(FromRocks(it->status(), "loading groups"));
  }
  {
    auto it = store_->NewIterator(Family::kMemberships);
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      if (it->key().size() != 12) return absl::DataLossError("malformed membership key");
      uint32_t group = static_cast<uint32_t>(
          ReadBigEndian64(std::string(4, '\0') + std::string(it->key().data(), 4)));
      ContactId contact = ReadBigEndian64(std::string_view(it->key().data() + 4, 8));
      auto found = by_id_.find(group);
      if (found != by_id_.end()) found->second->members.add(static_cast<uint32_t>(contact));
    }
    SEGMENTA_RETURN_IF_ERROR(FromRocks(it->status(), "loading memberships"));
  }
  const Millis now = ToMillis(clock_->Now());
  for (auto& g : groups_) {
    if (g->def.is_static()) continue;
    absl::Status s = Compile(*g, profiles);
    if (!s.ok()) {
      g->error = std::string(s.message());
      spdlog::error(
          "group \"{}\": its condition no longer compiles ({}); its members are "
          "frozen until it is edited",
          g->def.name, g->error);
    }
  }
  Reindex();
  // Time went by while the engine was stopped: time-dependent groups are recomputed by
  // the first timer run (which can write), and that schedules their timers again.
  for (auto& g : groups_) {
    if (g->plan != nullptr &&
        (g->plan->time_dependent() || !g->plan->overall_aggregates().empty())) {
      recompute_on_start_.push_back(g->def.id);
    }
  }
  (void)now;
  spdlog::info("{} contact groups loaded", groups_.size());
  return absl::OkStatus();
}

Schema GroupEngine::SchemaFor(const ProfileTable& profiles) const {
  Schema schema = SchemaOf(profiles);
  for (const auto& g : groups_) schema.groups[g->def.name] = g->uses;
  return schema;
}

absl::Status GroupEngine::Compile(Group& g, const ProfileTable& profiles) {
  if (g.def.is_static()) {
    g.plan = nullptr;
    g.uses.clear();
    return absl::OkStatus();
  }
  auto plan = Plan::CompileText(g.def.condition, SchemaFor(profiles), g.def.name);
  if (!plan.ok()) return plan.status();
  g.plan = *std::move(plan);
  g.uses = g.plan->groups();
  g.error.clear();
  g.overall = OverallValues(*g.plan, profiles, ToMillis(clock_->Now()));
  return absl::OkStatus();
}

void GroupEngine::Reindex() {
  // Topological order: a group after every group it uses.
  std::vector<std::unique_ptr<Group>> ordered;
  absl::flat_hash_map<std::string, bool> placed;
  while (ordered.size() < groups_.size()) {
    size_t before = ordered.size();
    for (auto& g : groups_) {
      if (g == nullptr) continue;
      bool ready = true;
      for (const std::string& dep : g->uses) ready = ready && placed.contains(dep);
      if (!ready) continue;
      placed[g->def.name] = true;
      ordered.push_back(std::move(g));
    }
    if (ordered.size() == before) {
      // Unknown dependencies (a broken group): place the rest as they are.
      for (auto& g : groups_) {
        if (g != nullptr) ordered.push_back(std::move(g));
      }
    }
  }
  groups_ = std::move(ordered);
  by_id_.clear();
  by_event_.clear();
  by_trait_.clear();
  by_any_event_.clear();
  by_accounts_.clear();
  absl::flat_hash_map<std::string, size_t> index_of;
  for (size_t i = 0; i < groups_.size(); ++i) {
    Group& g = *groups_[i];
    by_id_[g.def.id] = &g;
    index_of[g.def.name] = i;
    g.dependents.clear();
  }
  for (size_t i = 0; i < groups_.size(); ++i) {
    Group& g = *groups_[i];
    for (const std::string& dep : g.uses) {
      auto it = index_of.find(dep);
      if (it != index_of.end()) groups_[it->second]->dependents.push_back(i);
    }
    if (g.def.is_static()) {
      if (!g.def.accounts.empty()) by_accounts_.push_back(i);
      continue;
    }
    if (g.plan == nullptr) continue;
    for (const std::string& key : g.plan->event_keys()) {
      if (key == "*") {
        by_any_event_.push_back(i);
      } else {
        by_event_[key].push_back(i);
      }
    }
    for (const std::string& trait : g.plan->traits()) {
      // A trait path reads the flattened columns under it too ("address" and
      // "address.city"): index by its first segment, which SetTraits reports.
      by_trait_[trait.substr(0, trait.find('.'))].push_back(i);
    }
    if (g.plan->uses_accounts()) by_accounts_.push_back(i);
  }
}

GroupEngine::Group* GroupEngine::Find(std::string_view name) const {
  for (const auto& g : groups_) {
    if (g->def.name == name) return g.get();
  }
  return nullptr;
}

EvalEnv GroupEngine::EnvFor(const Group& g, Millis now) const {
  EvalEnv env;
  env.now = now;
  env.overall = g.overall;
  if (!g.uses.empty()) {
    env.group_members = [this](std::string_view name) -> const Roaring* {
      Group* other = Find(name);
      return other == nullptr ? nullptr : &other->members;
    };
  }
  return env;
}

bool GroupEngine::StaticMember(const Group& g, const ProfileTable& profiles,
                               ContactId contact) const {
  const ContactState* state = profiles.contact(contact);
  if (state == nullptr) return false;
  if (std::binary_search(g.def.contacts.begin(), g.def.contacts.end(), contact)) return true;
  for (uint32_t account : state->accounts) {
    if (std::binary_search(g.def.accounts.begin(), g.def.accounts.end(),
                           profiles.account(account).group_id)) {
      return true;
    }
  }
  return false;
}

void GroupEngine::Record(Group& g, ContactId contact, bool entered, Millis now,
                         std::string_view cause, rocksdb::WriteBatch* batch) {
  if (entered) {
    g.members.add(static_cast<uint32_t>(contact));
    batch->Put(store_->handle(Family::kMemberships), MembershipKey(g.def.id, contact),
               BigEndianMillis(now));
  } else {
    g.members.remove(static_cast<uint32_t>(contact));
    batch->Delete(store_->handle(Family::kMemberships), MembershipKey(g.def.id, contact));
  }
  MembershipEvent e{now, g.def.id, g.def.name, contact, entered, std::string(cause)};
  const uint64_t seq = next_history_seq_++;
  std::string record = HistoryRecord(e);
  batch->Put(store_->handle(Family::kHistory), GroupHistoryKey(g.def.id, now, seq), record);
  batch->Put(store_->handle(Family::kHistory), ContactHistoryKey(contact, now, seq), record);
  if (!g.def.webhooks.empty()) {
    const uint64_t out = next_outbox_seq_++;
    JsonWriter w;
    w.BeginObject().Field("seq", out).Field("type", entered ? "group.entered" : "group.exited");
    w.Field("group", g.def.name).Field("groupId", static_cast<uint64_t>(g.def.id));
    w.Field("contactId", std::to_string(contact)).Field("time", FormatTimestamp(FromMillis(now)));
    w.Field("cause", cause).EndObject();
    std::string key;
    AppendBigEndian64(out, &key);
    batch->Put(store_->handle(Family::kOutbox), key, w.Take());
  }
  batch->Put(store_->handle(Family::kMeta), kMetaSegments, CountersRecord());
}

std::string GroupEngine::CountersRecord() const {
  JsonWriter w;
  w.BeginObject().Field("next_group", static_cast<uint64_t>(next_group_id_));
  w.Field("next_history", next_history_seq_).Field("next_outbox", next_outbox_seq_).EndObject();
  return w.Take();
}

void GroupEngine::Schedule(Group& g, const ProfileTable& profiles, ContactId contact, Millis now) {
  std::optional<Millis> next = NextChange(*g.plan, profiles, contact, EnvFor(g, now));
  if (!next) {
    g.scheduled.erase(contact);
    return;
  }
  auto [it, inserted] = g.scheduled.try_emplace(contact, *next);
  if (!inserted && it->second == *next) return;
  it->second = *next;
  timers_.push(Timer{*next, g.def.id, contact});
}

bool GroupEngine::Reevaluate(Group& g, const ProfileTable& profiles, ContactId contact, Millis now,
                             std::string_view cause, rocksdb::WriteBatch* batch) {
  bool member;
  if (g.def.is_static()) {
    member = StaticMember(g, profiles, contact);
  } else if (g.plan == nullptr) {
    return false;  // a broken condition: members frozen
  } else {
    member = Matches(*g.plan, profiles, contact, EnvFor(g, now));
    if (g.plan->time_dependent()) Schedule(g, profiles, contact, now);
  }
  const bool was = g.members.contains(static_cast<uint32_t>(contact));
  if (member == was) return false;
  Record(g, contact, member, now, cause, batch);
  return true;
}

void GroupEngine::ReevaluateContact(const ProfileTable& profiles, ContactId contact,
                                    std::vector<bool>& affected, Millis now, std::string_view cause,
                                    rocksdb::WriteBatch* batch) {
  for (size_t i = 0; i < groups_.size(); ++i) {
    if (!affected[i]) continue;
    Group& g = *groups_[i];
    if (Reevaluate(g, profiles, contact, now, cause, batch)) {
      for (size_t d : g.dependents) affected[d] = true;
    }
  }
}

void GroupEngine::Recompute(Group& g, const ProfileTable& profiles, Millis now,
                            std::string_view cause, rocksdb::WriteBatch* batch,
                            GroupProgress* progress) {
  Roaring next;
  if (g.def.is_static()) {
    for (ContactId c : g.def.contacts) {
      if (profiles.contact(c) != nullptr) next.add(static_cast<uint32_t>(c));
    }
    for (size_t a = 0; a < profiles.account_rows(); ++a) {
      const AccountState& account = profiles.account(static_cast<uint32_t>(a));
      if (std::binary_search(g.def.accounts.begin(), g.def.accounts.end(), account.group_id)) {
        for (uint32_t c : account.contacts) next.add(c);
      }
    }
  } else if (g.plan != nullptr) {
    g.overall = OverallValues(*g.plan, profiles, now);
    next = EvaluateAll(*g.plan, profiles, EnvFor(g, now), &cache_, [&](double f) {
      if (progress != nullptr) progress->fraction = 0.8 * f;
    });
  } else {
    return;
  }
  Roaring entered = next - g.members;
  Roaring exited = g.members - next;
  for (uint32_t c : entered) Record(g, c, true, now, cause, batch);
  for (uint32_t c : exited) Record(g, c, false, now, cause, batch);
  g.scheduled.clear();
  if (g.plan != nullptr && g.plan->time_dependent()) {
    const size_t rows = profiles.contact_rows();
    for (ContactId c = 1; c < rows; ++c) {
      if (profiles.contact(c) != nullptr) Schedule(g, profiles, c, now);
      if (progress != nullptr && (c & 0xFFFF) == 0) {
        progress->fraction = 0.8 + 0.2 * static_cast<double>(c) / static_cast<double>(rows);
      }
    }
  }
  if (progress != nullptr) progress->fraction = 1.0;
  if (entered.isEmpty() && exited.isEmpty()) return;
  // Groups built on this one change with it.
  for (size_t d : g.dependents) {
    Recompute(*groups_[d], profiles, now, fmt::format("group: {}", g.def.name), batch, nullptr);
  }
}

GroupInfo GroupEngine::InfoOf(const Group& g) const {
  GroupInfo info;
  info.definition = g.def;
  for (Webhook& h : info.definition.webhooks) h.secret.clear();
  info.members = g.members.cardinality();
  if (g.plan != nullptr) {
    info.condition_text = g.plan->text();
    info.condition_json = g.plan->json();
    info.warnings = g.plan->warnings();
    info.time_dependent = g.plan->time_dependent();
  }
  if (!g.error.empty()) info.warnings.push_back("the condition no longer compiles: " + g.error);
  info.uses = g.uses;
  for (size_t d : g.dependents) info.used_by.push_back(groups_[d]->def.name);
  return info;
}

// ---------------------------------------------------------------------------------------
// Definitions

absl::StatusOr<GroupInfo> GroupEngine::Create(GroupDefinition def,
                                              std::shared_ptr<GroupProgress> progress) {
  SEGMENTA_RETURN_IF_ERROR(Normalize(&def));
  absl::StatusOr<GroupInfo> out = absl::InternalError("not run");
  absl::Status status = worker_->RunTaskAndWait([&](ProfileTable& profiles,
                                                    rocksdb::WriteBatch* batch) {
    absl::MutexLock lock(&mu_);
    if (Find(def.name) != nullptr) {
      return absl::AlreadyExistsError(fmt::format("a group named \"{}\" exists", def.name));
    }
    for (ContactId c : def.contacts) {
      if (profiles.contact(c) == nullptr) {
        return absl::NotFoundError(fmt::format("no contact with id {}", c));
      }
    }
    const Millis now = ToMillis(clock_->Now());
    auto g = std::make_unique<Group>();
    g->def = def;
    g->def.id = next_group_id_;
    g->def.created_ms = now;
    g->def.updated_ms = now;
    SEGMENTA_RETURN_IF_ERROR(Compile(*g, profiles));
    ++next_group_id_;
    Group* created = g.get();
    groups_.push_back(std::move(g));
    Reindex();
    cache_.Invalidate();
    Recompute(*created, profiles, now, "group created", batch, progress.get());
    batch->Put(store_->handle(Family::kGroups), GroupKey(created->def.id), created->def.Encode());
    batch->Put(store_->handle(Family::kMeta), kMetaSegments, CountersRecord());
    out = InfoOf(*created);
    spdlog::info("group \"{}\" created: {} members", created->def.name,
                 created->members.cardinality());
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return out;
}

absl::StatusOr<GroupInfo> GroupEngine::Update(std::string_view name, GroupDefinition def,
                                              std::shared_ptr<GroupProgress> progress) {
  SEGMENTA_RETURN_IF_ERROR(Normalize(&def));
  absl::StatusOr<GroupInfo> out = absl::InternalError("not run");
  absl::Status status =
      worker_->RunTaskAndWait([&](ProfileTable& profiles, rocksdb::WriteBatch* batch) {
        absl::MutexLock lock(&mu_);
        Group* g = Find(name);
        if (g == nullptr) return absl::NotFoundError(fmt::format("no group named \"{}\"", name));
        if (def.name != g->def.name) {
          return absl::InvalidArgumentError(
              "a group cannot be renamed (its name is how other "
              "groups refer to it)");
        }
        const Millis now = ToMillis(clock_->Now());
        GroupDefinition previous = g->def;
        auto previous_plan = g->plan;
        auto previous_uses = g->uses;
        g->def = def;
        g->def.id = previous.id;
        g->def.created_ms = previous.created_ms;
        g->def.updated_ms = now;
        absl::Status compiled = Compile(*g, profiles);
        if (!compiled.ok()) {
          g->def = previous;
          g->plan = previous_plan;
          g->uses = previous_uses;
          return compiled;
        }
        Reindex();
        cache_.Invalidate();
        Recompute(*g, profiles, now, "group updated", batch, progress.get());
        batch->Put(store_->handle(Family::kGroups), GroupKey(g->def.id), g->def.Encode());
        out = InfoOf(*g);
        return absl::OkStatus();
      });
  if (!status.ok()) return status;
  return out;
}

absl::Status GroupEngine::Delete(std::string_view name) {
  return worker_->RunTaskAndWait([&](ProfileTable&, rocksdb::WriteBatch* batch) {
    absl::MutexLock lock(&mu_);
    Group* g = Find(name);
    if (g == nullptr) return absl::NotFoundError(fmt::format("no group named \"{}\"", name));
    if (!g->dependents.empty()) {
      std::vector<std::string> users;
      for (size_t d : g->dependents) users.push_back(groups_[d]->def.name);
      return absl::FailedPreconditionError(fmt::format(
          "group \"{}\" is used by {}; change those first", name, absl::StrJoin(users, ", ")));
    }
    const uint32_t id = g->def.id;
    batch->Delete(store_->handle(Family::kGroups), GroupKey(id));
    batch->DeleteRange(store_->handle(Family::kMemberships), MembershipPrefix(id),
                       MembershipPrefix(id + 1));
    groups_.erase(std::remove_if(groups_.begin(), groups_.end(),
                                 [&](const auto& p) { return p->def.id == id; }),
                  groups_.end());
    Reindex();
    spdlog::info("group \"{}\" deleted", name);
    return absl::OkStatus();
  });
}

absl::StatusOr<GroupInfo> GroupEngine::EditStatic(std::string_view name, std::vector<ContactId> add,
                                                  std::vector<ContactId> remove,
                                                  std::vector<std::string> add_accounts,
                                                  std::vector<std::string> remove_accounts) {
  absl::StatusOr<GroupInfo> out = absl::InternalError("not run");
  absl::Status status =
      worker_->RunTaskAndWait([&](ProfileTable& profiles, rocksdb::WriteBatch* batch) {
        absl::MutexLock lock(&mu_);
        Group* g = Find(name);
        if (g == nullptr) return absl::NotFoundError(fmt::format("no group named \"{}\"", name));
        if (!g->def.is_static()) {
          return absl::FailedPreconditionError(
              fmt::format("group \"{}\" is dynamic: its members follow its condition", name));
        }
        for (ContactId c : add) {
          if (profiles.contact(c) == nullptr) {
            return absl::NotFoundError(fmt::format("no contact with id {}", c));
          }
        }
        std::vector<ContactId>& contacts = g->def.contacts;
        contacts.insert(contacts.end(), add.begin(), add.end());
        SortUnique(contacts);
        for (ContactId c : remove) {
          contacts.erase(std::remove(contacts.begin(), contacts.end(), c), contacts.end());
        }
        std::vector<std::string>& accounts = g->def.accounts;
        accounts.insert(accounts.end(), add_accounts.begin(), add_accounts.end());
        SortUnique(accounts);
        for (const std::string& a : remove_accounts) {
          accounts.erase(std::remove(accounts.begin(), accounts.end(), a), accounts.end());
        }
        const Millis now = ToMillis(clock_->Now());
        g->def.updated_ms = now;
        Reindex();
        Recompute(*g, profiles, now, "listed", batch, nullptr);
        batch->Put(store_->handle(Family::kGroups), GroupKey(g->def.id), g->def.Encode());
        out = InfoOf(*g);
        return absl::OkStatus();
      });
  if (!status.ok()) return status;
  return out;
}

// ---------------------------------------------------------------------------------------
// Reads

std::vector<GroupInfo> GroupEngine::List() const {
  absl::ReaderMutexLock lock(&mu_);
  std::vector<GroupInfo> out;
  for (const auto& g : groups_) out.push_back(InfoOf(*g));
  std::sort(out.begin(), out.end(), [](const GroupInfo& a, const GroupInfo& b) {
    return a.definition.id < b.definition.id;
  });
  return out;
}

absl::StatusOr<GroupInfo> GroupEngine::Get(std::string_view name) const {
  absl::ReaderMutexLock lock(&mu_);
  Group* g = Find(name);
  if (g == nullptr) return absl::NotFoundError(fmt::format("no group named \"{}\"", name));
  return InfoOf(*g);
}

absl::StatusOr<MembersPage> GroupEngine::Members(std::string_view name, std::string_view cursor,
                                                 size_t limit) const {
  uint64_t after = 0;
  if (!cursor.empty()) {
    auto [end, ec] = std::from_chars(cursor.data(), cursor.data() + cursor.size(), after);
    if (ec != std::errc() || end != cursor.data() + cursor.size()) {
      return absl::InvalidArgumentError(fmt::format("malformed cursor \"{}\"", cursor));
    }
  }
  absl::ReaderMutexLock lock(&mu_);
  Group* g = Find(name);
  if (g == nullptr) return absl::NotFoundError(fmt::format("no group named \"{}\"", name));
  MembersPage page;
  for (auto it = g->members.begin(); it != g->members.end(); ++it) {
    if (*it <= after && !cursor.empty()) continue;
    if (page.contacts.size() == limit) {
      page.next_cursor = std::to_string(page.contacts.back());
      break;
    }
    page.contacts.push_back(*it);
  }
  return page;
}

absl::StatusOr<Roaring> GroupEngine::MemberBitmap(std::string_view name) const {
  absl::ReaderMutexLock lock(&mu_);
  Group* g = Find(name);
  if (g == nullptr) return absl::NotFoundError(fmt::format("no group named \"{}\"", name));
  return g->members;
}

absl::StatusOr<bool> GroupEngine::IsMember(std::string_view name, ContactId contact) const {
  absl::ReaderMutexLock lock(&mu_);
  Group* g = Find(name);
  if (g == nullptr) return absl::NotFoundError(fmt::format("no group named \"{}\"", name));
  return g->members.contains(static_cast<uint32_t>(contact));
}

std::vector<std::string> GroupEngine::GroupsOf(ContactId contact) const {
  absl::ReaderMutexLock lock(&mu_);
  std::vector<std::string> out;
  for (const auto& g : groups_) {
    if (g->members.contains(static_cast<uint32_t>(contact))) out.push_back(g->def.name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

absl::StatusOr<std::vector<MembershipEvent>> GroupEngine::GroupHistory(std::string_view name,
                                                                       size_t limit) const {
  uint32_t id;
  {
    absl::ReaderMutexLock lock(&mu_);
    Group* g = Find(name);
    if (g == nullptr) return absl::NotFoundError(fmt::format("no group named \"{}\"", name));
    id = g->def.id;
  }
  std::vector<MembershipEvent> out;
  auto it = store_->NewIterator(Family::kHistory);
  std::string end = GroupHistoryPrefix(id + 1);
  std::string prefix = GroupHistoryPrefix(id);
  it->SeekForPrev(end);
  if (it->Valid() && it->key() == rocksdb::Slice(end)) it->Prev();
  for (; it->Valid() && it->key().starts_with(prefix) && out.size() < limit; it->Prev()) {
    SEGMENTA_ASSIGN_OR_RETURN(
        MembershipEvent e, ParseHistory(std::string_view(it->value().data(), it->value().size())));
    e.group_name = std::string(name);
    out.push_back(std::move(e));
  }
  SEGMENTA_RETURN_IF_ERROR(FromRocks(it->status(), "reading history"));
  return out;
}

absl::StatusOr<std::vector<MembershipEvent>> GroupEngine::ContactHistory(ContactId contact,
                                                                         size_t limit) const {
  std::vector<MembershipEvent> out;
  auto it = store_->NewIterator(Family::kHistory);
  std::string end = ContactHistoryPrefix(contact + 1);
  std::string prefix = ContactHistoryPrefix(contact);
  it->SeekForPrev(end);
  if (it->Valid() && it->key() == rocksdb::Slice(end)) it->Prev();
  for (; it->Valid() && it->key().starts_with(prefix) && out.size() < limit; it->Prev()) {
    SEGMENTA_ASSIGN_OR_RETURN(
        MembershipEvent e, ParseHistory(std::string_view(it->value().data(), it->value().size())));
    out.push_back(std::move(e));
  }
  SEGMENTA_RETURN_IF_ERROR(FromRocks(it->status(), "reading history"));
  absl::ReaderMutexLock lock(&mu_);
  for (MembershipEvent& e : out) {
    auto g = by_id_.find(e.group);
    e.group_name =
        g != by_id_.end() ? g->second->def.name : fmt::format("(deleted group {})", e.group);
  }
  return out;
}

absl::StatusOr<ConditionCheck> GroupEngine::Check(std::string_view condition, bool count) const {
  return worker_->ReadProfiles([&](const ProfileTable& profiles) -> absl::StatusOr<ConditionCheck> {
    absl::ReaderMutexLock lock(&mu_);
    auto plan = Plan::CompileText(condition, SchemaFor(profiles));
    if (!plan.ok()) return plan.status();
    ConditionCheck out;
    out.text = (*plan)->text();
    out.json = (*plan)->json();
    out.warnings = (*plan)->warnings();
    out.time_dependent = (*plan)->time_dependent();
    if (count) {
      Group probe;
      probe.uses = (*plan)->groups();
      probe.overall = OverallValues(**plan, profiles, ToMillis(clock_->Now()));
      out.matches =
          EvaluateAll(**plan, profiles, EnvFor(probe, ToMillis(clock_->Now()))).cardinality();
    }
    return out;
  });
}

std::vector<Webhook> GroupEngine::WebhooksOf(std::string_view name) const {
  absl::ReaderMutexLock lock(&mu_);
  Group* g = Find(name);
  return g == nullptr ? std::vector<Webhook>() : g->def.webhooks;
}

size_t GroupEngine::MembershipBytes() const {
  absl::ReaderMutexLock lock(&mu_);
  size_t bytes = 0;
  for (const auto& g : groups_) bytes += g->members.getSizeInBytes();
  return bytes;
}

// ---------------------------------------------------------------------------------------
// Observer

absl::Status GroupEngine::OnApplied(const ProfileTable& profiles, Millis now,
                                    const std::vector<ContactChange>& changes,
                                    rocksdb::WriteBatch* batch) {
  absl::MutexLock lock(&mu_);
  if (groups_.empty()) return absl::OkStatus();
  cache_.Invalidate();
  std::vector<bool> affected(groups_.size());
  for (const ContactChange& change : changes) {
    const absl::Time started = absl::Now();
    std::fill(affected.begin(), affected.end(), false);
    std::string cause;
    if (change.erased) {
      // Listed in static groups: a merged contact's place goes to its survivor.
      for (auto& g : groups_) {
        auto& listed = g->def.contacts;
        auto pos = std::lower_bound(listed.begin(), listed.end(), change.contact);
        if (pos == listed.end() || *pos != change.contact) continue;
        listed.erase(pos);
        if (change.merged_into != 0) {
          auto to = std::lower_bound(listed.begin(), listed.end(), change.merged_into);
          if (to == listed.end() || *to != change.merged_into)
            listed.insert(to, change.merged_into);
        }
        batch->Put(store_->handle(Family::kGroups), GroupKey(g->def.id), g->def.Encode());
      }
      std::fill(affected.begin(), affected.end(), true);
      cause = change.merged_into != 0 ? fmt::format("merged into contact {}", change.merged_into)
                                      : "contact erased";
    } else if (change.merged) {
      std::fill(affected.begin(), affected.end(), true);
      cause = "contacts merged";
    } else {
      for (uint16_t t : change.event_tables) {
        const std::string& key = profiles.table(t).key;
        if (auto it = by_event_.find(key); it != by_event_.end()) {
          for (size_t i : it->second) affected[i] = true;
        }
        if (cause.empty()) cause = "event: " + key;
      }
      if (!change.event_tables.empty()) {
        for (size_t i : by_any_event_) affected[i] = true;
      }
      for (const std::string& trait : change.traits) {
        if (auto it = by_trait_.find(trait); it != by_trait_.end()) {
          for (size_t i : it->second) affected[i] = true;
        }
        if (cause.empty()) cause = "trait: " + trait;
      }
      if (change.accounts) {
        for (size_t i : by_accounts_) affected[i] = true;
        if (cause.empty()) cause = "account";
      }
    }
    ReevaluateContact(profiles, change.contact, affected, now, cause, batch);
    const uint64_t nanos = absl::ToInt64Nanoseconds(absl::Now() - started);
    ++stats_.changes;
    stats_.activities += change.activities;
    stats_.nanos += nanos;
    for (bool a : affected) stats_.evaluations += a;
    if (stats_.per_activity_nanos.size() < (1u << 24)) {
      stats_.per_activity_nanos.push_back(static_cast<uint32_t>(
          std::min<uint64_t>(nanos / std::max<uint32_t>(1, change.activities), UINT32_MAX)));
    }
  }
  return absl::OkStatus();
}

KeepCurrentStats GroupEngine::keep_current_stats() const {
  absl::ReaderMutexLock lock(&mu_);
  return stats_;
}

void GroupEngine::ResetKeepCurrentStats() {
  absl::MutexLock lock(&mu_);
  stats_ = KeepCurrentStats();
}

std::optional<Millis> GroupEngine::NextTimer() const {
  absl::ReaderMutexLock lock(&mu_);
  if (!recompute_on_start_.empty()) return std::numeric_limits<Millis>::min();
  std::optional<Millis> next;
  if (!timers_.empty()) next = timers_.top().due;
  for (const auto& g : groups_) {
    if (g->plan != nullptr && !g->plan->overall_aggregates().empty()) {
      if (!next || next_overall_refresh_ < *next) next = next_overall_refresh_;
      break;
    }
  }
  return next;
}

absl::Status GroupEngine::OnTimer(const ProfileTable& profiles, Millis now,
                                  rocksdb::WriteBatch* batch) {
  absl::MutexLock lock(&mu_);
  for (uint32_t id : recompute_on_start_) {
    auto g = by_id_.find(id);
    if (g != by_id_.end()) Recompute(*g->second, profiles, now, "time", batch, nullptr);
  }
  recompute_on_start_.clear();
  absl::flat_hash_map<uint32_t, size_t> index_of;
  for (size_t i = 0; i < groups_.size(); ++i) index_of[groups_[i]->def.id] = i;
  std::vector<bool> affected(groups_.size());
  while (!timers_.empty() && timers_.top().due <= now) {
    Timer t = timers_.top();
    timers_.pop();
    auto found = index_of.find(t.group);
    if (found == index_of.end()) continue;  // the group was deleted
    Group& g = *groups_[found->second];
    auto due = g.scheduled.find(t.contact);
    if (due == g.scheduled.end() || due->second != t.due) continue;  // superseded
    g.scheduled.erase(due);
    std::fill(affected.begin(), affected.end(), false);
    affected[found->second] = true;
    ReevaluateContact(profiles, t.contact, affected, now, "time", batch);
  }
  if (now >= next_overall_refresh_) {
    next_overall_refresh_ = now + kOverallRefresh;
    for (auto& g : groups_) {
      if (g->plan == nullptr || g->plan->overall_aggregates().empty()) continue;
      std::vector<Value> values = OverallValues(*g->plan, profiles, now);
      if (values == g->overall) continue;
      Recompute(*g, profiles, now, "overall values changed", batch, nullptr);
    }
  }
  return absl::OkStatus();
}

}  // namespace segmenta
