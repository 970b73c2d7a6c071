// The contact groups API under /api/groups and /api/conditions, and a contact's groups and
// history under /api/contacts/{id}/groups and /history.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "profile/contact_reader.h"
#include "segments/engine.h"
#include "server/http_server.h"
#include "server/jobs_api.h"
#include "server/route_table.h"

namespace segmenta {

// Thread-safe. Route handlers (route_table.h; the routes are in api.cc's table).
// Definitions (which evaluate a group over every contact) run as jobs (jobs_api.h): the
// request is answered when its job ends, or at once with 202 and a job to poll when the
// body says "async": true.
class GroupsApi {
 public:
  // `store`, `engine` and `jobs` must outlive the API.
  GroupsApi(const Store* store, AudienceEngine* engine, JobsApi* jobs);

  // GET /api/groups: every group with its size.
  std::optional<HttpResponse> List(RouteCall& call);
  // POST /api/groups: create {name, description, condition (text or JSON) | contacts,
  // accounts, webhooks, async}; 201 with the group.
  std::optional<HttpResponse> Create(RouteCall& call);
  // GET /api/groups/{name}: the group, its plan, warnings, size.
  std::optional<HttpResponse> Get(RouteCall& call);
  // PUT /api/groups/{name}: replace its definition; 200.
  std::optional<HttpResponse> Update(RouteCall& call);
  // DELETE /api/groups/{name}: 409 naming the definitions that read it, if any.
  std::optional<HttpResponse> Delete(RouteCall& call);
  // GET /api/groups/{name}/members?limit=&cursor=&expand=contacts
  std::optional<HttpResponse> Members(RouteCall& call);
  // POST /api/groups/{name}/members: static groups: {add, remove, addAccounts,
  // removeAccounts} (contacts by any identity).
  std::optional<HttpResponse> EditMembers(RouteCall& call);
  // GET /api/groups/{name}/members/{contact}: {"member": bool}.
  std::optional<HttpResponse> IsMember(RouteCall& call);
  // GET /api/groups/{name}/count
  std::optional<HttpResponse> Count(RouteCall& call);
  // GET /api/groups/{name}/history?limit=: enters and exits, newest first.
  std::optional<HttpResponse> History(RouteCall& call);
  // POST /api/conditions/check {condition, count}: normalized text, JSON, warnings,
  // matches; 400 line:column.
  std::optional<HttpResponse> CheckCondition(RouteCall& call);
  // GET /api/contacts/{id}/groups: the contact's groups.
  std::optional<HttpResponse> ContactGroups(RouteCall& call);
  // GET /api/contacts/{id}/history?limit=: its enters and exits.
  std::optional<HttpResponse> ContactHistory(RouteCall& call);

 private:
  // A change of the engine's groups by a definition, with a job's progress.
  using DefinitionChange = std::function<absl::StatusOr<GroupInfo>(
      const GroupDefinition& definition, std::shared_ptr<JobProgress> progress)>;
  // Reads the definition in `call`'s body and queues `change` of it as a job of `kind`
  // (JobsApi::Start: answered `success_status` with the group, or 202 with the job).
  // Returns the 400 naming a bad field of the definition, or what JobsApi::Start returns.
  std::optional<HttpResponse> StartJob(RouteCall& call, std::string kind, int success_status,
                                       DefinitionChange change);
  absl::StatusOr<ContactId> Resolve(std::string_view identity) const;

  ContactReader reader_;
  AudienceEngine* engine_;
  JobsApi* jobs_;
};

// A group as JSON: {"name", "id", "description", "kind": "dynamic"|"static", "condition",
// "conditionJson", "contacts", "accounts", "webhooks" (no secrets), "members", "uses",
// "usedBy", "timeDependent", "warnings", "createdAt", "updatedAt"}.
std::string GroupJson(const GroupInfo& info);

}  // namespace segmenta
