#include "server/api.h"

#include "fmt/format.h"

namespace segmenta {
namespace {

// The query parameters of routes that read some (route_table.h: others get 400).
const std::vector<std::string_view> kPaging = {"limit", "cursor", "expand"};
const std::vector<std::string_view> kLimit = {"limit"};
const std::vector<std::string_view> kLimitCursor = {"limit", "cursor"};
const std::vector<std::string_view> kContactList = {"limit", "cursor", "trait.*"};
const std::vector<std::string_view> kAudienceOf = {"goal", "revenue"};
const std::vector<std::string_view> kActivities = {"activities"};
const std::vector<std::string_view> kSuppress = {"suppress"};

}  // namespace

Api::Api(Store* store, Worker* worker, KeyRing* keys, AudienceEngine* engine, JobRunner* jobs,
         Limits limits, Clock* clock, Decider* decider)
    : tracking_(worker, limits, clock),
      admin_(store, worker, keys, clock, engine),
      jobs_(jobs),
      groups_(store, engine, &jobs_),
      personas_(store, worker, engine, &jobs_),
      experiments_(worker, clock),
      decide_(decider == nullptr ? std::nullopt : std::make_optional<DecideApi>(decider, clock)),
      routes_(Table(), keys) {}

void Api::Handle(const HttpRequest& request, Responder respond) {
  routes_.Dispatch(request, std::move(respond));
}

template <typename Handlers>
Handlers* Api::Object() {
  if constexpr (std::is_same_v<Handlers, AdminApi>) return &admin_;
  if constexpr (std::is_same_v<Handlers, JobsApi>) return &jobs_;
  if constexpr (std::is_same_v<Handlers, GroupsApi>) return &groups_;
  if constexpr (std::is_same_v<Handlers, PersonasApi>) return &personas_;
  if constexpr (std::is_same_v<Handlers, ExperimentsApi>) return &experiments_;
  if constexpr (std::is_same_v<Handlers, DecideApi>) return decide_ ? &*decide_ : nullptr;
}

template <typename Handlers, typename... Args>
RouteHandler Api::On(std::optional<HttpResponse> (Handlers::*method)(RouteCall&, Args...),
                     std::type_identity_t<Args>... args) {
  Handlers* handlers = Object<Handlers>();
  if (handlers == nullptr) {
    return [](RouteCall&) -> std::optional<HttpResponse> {
      return ErrorResponse(503, "unavailable", "personalization is not running");
    };
  }
  return
      [handlers, method, args...](RouteCall& call) { return (handlers->*method)(call, args...); };
}

// The routes, as docs/api.md lists them (tests/server/route_table_test.cc checks both ways).
std::vector<Route> Api::Table() {
  using enum Role;
  using enum Body;
  using enum AudienceKind;
  using enum ScoreList;
  // clang-format off
  return {
  // One route a line (wider than 100 columns: a table reads across).
  // method  pattern                                  role    body   query         handler
  {"GET",    "/health",                               kOpen,  kNone, {},           On(&AdminApi::Health)},

  // Collection (the Segment HTTP Tracking API, with its short forms) and decisions.
  {"POST",   "/v1/identify",                          kWrite, kRaw,  {},           tracking_.Handler(Endpoint::kIdentify)},
  {"POST",   "/v1/track",                             kWrite, kRaw,  {},           tracking_.Handler(Endpoint::kTrack)},
  {"POST",   "/v1/page",                              kWrite, kRaw,  {},           tracking_.Handler(Endpoint::kPage)},
  {"POST",   "/v1/screen",                            kWrite, kRaw,  {},           tracking_.Handler(Endpoint::kScreen)},
  {"POST",   "/v1/group",                             kWrite, kRaw,  {},           tracking_.Handler(Endpoint::kGroup)},
  {"POST",   "/v1/alias",                             kWrite, kRaw,  {},           tracking_.Handler(Endpoint::kAlias)},
  {"POST",   "/v1/batch",                             kWrite, kRaw,  {},           tracking_.Handler(Endpoint::kBatch)},
  {"POST",   "/v1/import",                            kWrite, kRaw,  {},           tracking_.Handler(Endpoint::kBatch)},
  {"POST",   "/v1/i",                                 kWrite, kRaw,  {},           tracking_.Handler(Endpoint::kIdentify)},
  {"POST",   "/v1/t",                                 kWrite, kRaw,  {},           tracking_.Handler(Endpoint::kTrack)},
  {"POST",   "/v1/p",                                 kWrite, kRaw,  {},           tracking_.Handler(Endpoint::kPage)},
  {"POST",   "/v1/s",                                 kWrite, kRaw,  {},           tracking_.Handler(Endpoint::kScreen)},
  {"POST",   "/v1/g",                                 kWrite, kRaw,  {},           tracking_.Handler(Endpoint::kGroup)},
  {"POST",   "/v1/a",                                 kWrite, kRaw,  {},           tracking_.Handler(Endpoint::kAlias)},
  {"POST",   "/v1/b",                                 kWrite, kRaw,  {},           tracking_.Handler(Endpoint::kBatch)},
  {"POST",   "/v1/decide",                            kWrite, kJson, {},           On(&DecideApi::Decide)},

  // Contacts, accounts, totals, keys.
  {"GET",    "/api/contacts",                         kRead,  kNone, kContactList, On(&AdminApi::Contacts)},
  {"GET",    "/api/contacts/{id}",                    kRead,  kNone, kActivities,  On(&AdminApi::GetContact)},
  {"DELETE", "/api/contacts/{id}",                    kAdmin, kNone, kSuppress,    On(&AdminApi::EraseContact)},
  {"GET",    "/api/contacts/{id}/export",             kRead,  kNone, {},           On(&AdminApi::ExportContact)},
  {"GET",    "/api/contacts/{id}/groups",             kRead,  kNone, {},           On(&GroupsApi::ContactGroups)},
  {"GET",    "/api/contacts/{id}/history",            kRead,  kNone, kLimit,       On(&GroupsApi::ContactHistory)},
  {"GET",    "/api/contacts/{id}/scores",             kRead,  kNone, {},           On(&PersonasApi::ScoresOfContact)},
  {"GET",    "/api/contacts/{id}/next-question",      kRead,  kNone, {},           On(&PersonasApi::NextQuestion)},
  {"GET",    "/api/accounts/{groupId}",               kRead,  kNone, kLimitCursor, On(&AdminApi::GetAccount)},
  {"GET",    "/api/stats",                            kRead,  kNone, {},           On(&AdminApi::Stats)},
  {"GET",    "/api/keys",                             kRead,  kNone, {},           On(&AdminApi::Keys)},
  {"POST",   "/api/keys",                             kAdmin, kJson, {},           On(&AdminApi::CreateKey)},
  {"DELETE", "/api/keys/{id}",                        kAdmin, kNone, {},           On(&AdminApi::RevokeKey)},

  // Contact groups, conditions, jobs.
  {"GET",    "/api/groups",                           kRead,  kNone, {},           On(&GroupsApi::List)},
  {"POST",   "/api/groups",                           kAdmin, kJson, {},           On(&GroupsApi::Create)},
  {"GET",    "/api/groups/{name}",                    kRead,  kNone, {},           On(&GroupsApi::Get)},
  {"PUT",    "/api/groups/{name}",                    kAdmin, kJson, {},           On(&GroupsApi::Update)},
  {"DELETE", "/api/groups/{name}",                    kAdmin, kNone, {},           On(&GroupsApi::Delete)},
  {"GET",    "/api/groups/{name}/members",            kRead,  kNone, kPaging,      On(&GroupsApi::Members)},
  {"POST",   "/api/groups/{name}/members",            kAdmin, kJson, {},           On(&GroupsApi::EditMembers)},
  {"GET",    "/api/groups/{name}/members/{contact}",  kRead,  kNone, {},           On(&GroupsApi::IsMember)},
  {"GET",    "/api/groups/{name}/count",              kRead,  kNone, {},           On(&GroupsApi::Count)},
  {"GET",    "/api/groups/{name}/history",            kRead,  kNone, kLimit,       On(&GroupsApi::History)},
  {"GET",    "/api/groups/{name}/profile",            kRead,  kNone, kAudienceOf,  On(&PersonasApi::Profile, kGroup)},
  {"GET",    "/api/groups/{name}/completeness",       kRead,  kNone, {},           On(&PersonasApi::Completeness, kGroup)},
  {"POST",   "/api/conditions/check",                 kAdmin, kJson, {},           On(&GroupsApi::CheckCondition)},
  {"GET",    "/api/jobs",                             kRead,  kNone, kLimitCursor, On(&JobsApi::List)},
  {"GET",    "/api/jobs/{id}",                        kRead,  kNone, {},           On(&JobsApi::Get)},
  {"DELETE", "/api/jobs/{id}",                        kAdmin, kNone, {},           On(&JobsApi::Cancel)},

  // Scores, personas, lifecycle stages.
  {"GET",    "/api/personas",                         kRead,  kNone, {},           On(&PersonasApi::List, kPersonas)},
  {"POST",   "/api/personas",                         kAdmin, kJson, {},           On(&PersonasApi::Create, kPersonas)},
  {"GET",    "/api/personas/{name}",                  kRead,  kNone, kAudienceOf,  On(&PersonasApi::Get, kPersonas)},
  {"PUT",    "/api/personas/{name}",                  kAdmin, kJson, {},           On(&PersonasApi::Update, kPersonas)},
  {"DELETE", "/api/personas/{name}",                  kAdmin, kNone, {},           On(&PersonasApi::Delete, kPersonas)},
  {"GET",    "/api/personas/{name}/members",          kRead,  kNone, kPaging,      On(&PersonasApi::Members, kPersona)},
  {"GET",    "/api/personas/{name}/history",          kRead,  kNone, kLimit,       On(&PersonasApi::History, kPersona)},
  {"GET",    "/api/personas/{name}/completeness",     kRead,  kNone, {},           On(&PersonasApi::Completeness, kPersona)},
  {"GET",    "/api/personas/{name}/profile",          kRead,  kNone, kAudienceOf,  On(&PersonasApi::Profile, kPersona)},
  {"GET",    "/api/scores",                           kRead,  kNone, {},           On(&PersonasApi::List, kScores)},
  {"POST",   "/api/scores",                           kAdmin, kJson, {},           On(&PersonasApi::Create, kScores)},
  {"GET",    "/api/scores/{name}",                    kRead,  kNone, {},           On(&PersonasApi::Get, kScores)},
  {"PUT",    "/api/scores/{name}",                    kAdmin, kJson, {},           On(&PersonasApi::Update, kScores)},
  {"DELETE", "/api/scores/{name}",                    kAdmin, kNone, {},           On(&PersonasApi::Delete, kScores)},
  {"GET",    "/api/stages",                           kRead,  kNone, {},           On(&PersonasApi::Stages)},
  {"PUT",    "/api/stages",                           kAdmin, kJson, {},           On(&PersonasApi::SetStages)},
  {"DELETE", "/api/stages",                           kAdmin, kNone, {},           On(&PersonasApi::DeleteStages)},
  {"GET",    "/api/stages/{name}/members",            kRead,  kNone, kPaging,      On(&PersonasApi::Members, kStage)},
  {"GET",    "/api/stages/{name}/history",            kRead,  kNone, kLimit,       On(&PersonasApi::History, kStage)},
  {"GET",    "/api/stages/{name}/completeness",       kRead,  kNone, {},           On(&PersonasApi::Completeness, kStage)},
  {"GET",    "/api/stages/{name}/profile",            kRead,  kNone, kAudienceOf,  On(&PersonasApi::Profile, kStage)},

  // Experiments, experiences, e-mails.
  {"POST",   "/api/experiments/{key}/report",         kRead,  kJson, {},           On(&ExperimentsApi::Report)},
  {"GET",    "/api/experiences",                      kRead,  kNone, {},           On(&DecideApi::ListExperiences)},
  {"GET",    "/api/experiences/{slot}",               kRead,  kNone, {},           On(&DecideApi::GetExperience)},
  {"PUT",    "/api/experiences/{slot}",               kAdmin, kJson, {},           On(&DecideApi::PutExperience)},
  {"DELETE", "/api/experiences/{slot}",               kAdmin, kNone, {},           On(&DecideApi::DeleteExperience)},
  {"GET",    "/api/emails",                           kRead,  kNone, {},           On(&DecideApi::ListTemplates)},
  {"GET",    "/api/emails/{name}",                    kRead,  kNone, {},           On(&DecideApi::GetTemplate)},
  {"PUT",    "/api/emails/{name}",                    kAdmin, kJson, {},           On(&DecideApi::PutTemplate)},
  {"DELETE", "/api/emails/{name}",                    kAdmin, kNone, {},           On(&DecideApi::DeleteTemplate)},
  {"POST",   "/api/emails/{name}/render",             kRead,  kJson, {},           On(&DecideApi::Render)},
  };
  // clang-format on
}

}  // namespace segmenta
