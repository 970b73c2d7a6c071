// The contact groups API under /api/groups, /api/conditions and /api/jobs, and a contact's
// groups and history under /api/contacts/{id}/groups and /history.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "profile/contact_reader.h"
#include "segments/engine.h"
#include "server/http_server.h"
#include "server/job_queue.h"
#include "server/key_ring.h"

namespace segmenta {

// Thread-safe. Definitions (which evaluate a group over every contact) run as jobs
// (job_queue.h): the request is answered when its job ends, or at once with 202 and a job
// to poll when the body says "async": true.
class GroupsApi {
 public:
  // `store`, `engine`, `keys` and `jobs` must outlive the API.
  GroupsApi(const Store* store, GroupEngine* engine, const KeyRing* keys, JobQueue* jobs);

  // True for the paths this API answers.
  static bool Serves(std::string_view path);

  // Routes (auth as the admin API: admin token, or read-only for GET):
  //   GET    /api/groups                          every group with its size
  //   POST   /api/groups                          create {name, description, condition (text or
  //                                               JSON) | contacts, accounts, webhooks,
  //                                               async}; 201 with the group
  //   GET    /api/groups/{name}                   the group, its plan, warnings, size
  //   PUT    /api/groups/{name}                   replace its definition; 200
  //   DELETE /api/groups/{name}                   409 when other groups use it
  //   GET    /api/groups/{name}/members?limit=&cursor=&expand=contacts
  //   GET    /api/groups/{name}/count
  //   GET    /api/groups/{name}/members/{contact} {"member": bool}
  //   POST   /api/groups/{name}/members           static groups: {add, remove, addAccounts,
  //                                               removeAccounts} (contacts by any identity)
  //   GET    /api/groups/{name}/history?limit=    enters and exits, newest first
  //   POST   /api/conditions/check                {condition, count} -> normalized text,
  //                                               JSON, warnings, matches; 400 line:column
  //   GET    /api/jobs/{id}                       state, progress (0..1), result or error
  //   GET    /api/contacts/{id}/groups            the contact's groups
  //   GET    /api/contacts/{id}/history?limit=    its enters and exits
  void Handle(const HttpRequest& request, Responder respond);

 private:
  std::optional<HttpResponse> Route(const HttpRequest& request, const Responder& respond);
  // Queues a definition change; answers now (202) or when it ends.
  std::optional<HttpResponse> StartJob(
      std::string kind,
      std::function<absl::StatusOr<GroupInfo>(std::shared_ptr<JobProgress>)> run, bool async,
      int success_status, const Responder& respond);
  absl::StatusOr<ContactId> Resolve(std::string_view identity) const;

  ContactReader reader_;
  GroupEngine* engine_;
  const KeyRing* keys_;

  JobQueue* jobs_;
};

// A group as JSON: {"name", "id", "description", "kind": "dynamic"|"static", "condition",
// "conditionJson", "contacts", "accounts", "webhooks" (no secrets), "members", "uses",
// "usedBy", "timeDependent", "warnings", "createdAt", "updatedAt"}.
std::string GroupJson(const GroupInfo& info);

}  // namespace segmenta
