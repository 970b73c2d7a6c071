// The contact groups API under /api/groups, /api/conditions and /api/jobs, and a contact's
// groups and history under /api/contacts/{id}/groups and /history.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "profile/contact_reader.h"
#include "segments/engine.h"
#include "server/http_server.h"
#include "server/key_ring.h"

namespace segmenta {

// Thread-safe. Definitions (which evaluate a group over every contact) run on one job
// thread, never on an io thread; the request is answered when its job ends, or at once with
// 202 and a job to poll when the body says "async": true.
class GroupsApi {
 public:
  // `store`, `engine` and `keys` must outlive the API.
  GroupsApi(const Store* store, GroupEngine* engine, const KeyRing* keys);
  // Waits for the job in progress, drops the queued ones (answered 503).
  ~GroupsApi();

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
  struct Job {
    std::string id;
    std::string kind;              // "create", "update"
    std::string state = "queued";  // queued, running, done, failed
    std::shared_ptr<GroupProgress> progress = std::make_shared<GroupProgress>();
    std::string result;        // JSON of the group when done
    int success_status = 200;  // the answer to the waiting request
    absl::Status error;
    std::function<absl::StatusOr<GroupInfo>(std::shared_ptr<GroupProgress>)> run;
    std::vector<Responder> waiters;  // answered when the job ends
  };

  std::optional<HttpResponse> Route(const HttpRequest& request, const Responder& respond);
  // Queues a definition change; answers now (202) or when it ends.
  std::optional<HttpResponse> StartJob(
      std::string kind,
      std::function<absl::StatusOr<GroupInfo>(std::shared_ptr<GroupProgress>)> run, bool async,
      int success_status, const Responder& respond);
  void JobLoop();
  std::string JobJson(const Job& job) const;
  absl::StatusOr<ContactId> Resolve(std::string_view identity) const;

  ContactReader reader_;
  GroupEngine* engine_;
  const KeyRing* keys_;

  std::mutex mu_;
  std::condition_variable cv_;
  absl::flat_hash_map<std::string, std::shared_ptr<Job>> jobs_;
  std::deque<std::shared_ptr<Job>> queue_;
  uint64_t next_job_ = 1;
  bool stopping_ = false;
  std::thread thread_;
};

// A group as JSON: {"name", "id", "description", "kind": "dynamic"|"static", "condition",
// "conditionJson", "contacts", "accounts", "webhooks" (no secrets), "members", "uses",
// "usedBy", "timeDependent", "warnings", "createdAt", "updatedAt"}.
std::string GroupJson(const GroupInfo& info);

}  // namespace segmenta
