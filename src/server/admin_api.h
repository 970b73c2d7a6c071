// The admin API: reading contacts, accounts and totals, and managing keys, under /api;
// and GET /health, open to all.
#pragma once

#include <optional>

#include "core/clock.h"
#include "ingest/worker.h"
#include "profile/contact_reader.h"
#include "server/http_server.h"
#include "server/key_ring.h"
#include "store/store.h"

namespace segmenta {

// Thread-safe. Reads run on the calling io thread (they are point reads and short scans).
class AdminApi {
 public:
  // `store`, `worker`, `keys` and `clock` must outlive the API.
  AdminApi(const Store* store, Worker* worker, KeyRing* keys, Clock* clock = Clock::Real());

  // Answers GET /health and every request under /api/. Auth: "Authorization: Bearer TOKEN"
  // with an admin token (every route) or a read-only token (GET routes; others get 403);
  // a missing or unknown token gets 401. Routes:
  //   GET    /api/contacts/{id}?activities=N  a contact by any identity (url-encoded), its
  //                                           newest N activities (default 20, max 1000)
  //                                           and "activityCount"; 404 naming an unknown id
  //   GET    /api/contacts/{id}/export        everything stored about a contact: profile and
  //                                           every activity (GDPR access and portability)
  //   DELETE /api/contacts/{id}?suppress=true  erases the contact (GDPR): profile,
  //                                           identities, activities, memberships; with
  //                                           suppress, later events of its identities are
  //                                           dropped (admin); 200 once durable
  //   GET    /api/contacts?limit=&cursor=&trait.NAME=VALUE
  //                                           a page of contacts (limit default 50, max
  //                                           1000), "nextCursor" (null on the last page);
  //                                           VALUE is a JSON literal or else a string
  //   GET    /api/accounts/{groupId}?limit=&cursor=
  //                                           the account and a page of its contact ids
  //   GET    /api/stats                       the worker's totals
  //   GET    /api/keys                        keys without secrets
  //   POST   /api/keys {"kind","name"}        201 with the new key and its secret (admin)
  //   DELETE /api/keys/{id}                   revokes a key (admin)
  // Bad parameters get 400 naming the parameter; unknown paths 404; wrong methods 405.
  void Handle(const HttpRequest& request, Responder respond);

 private:
  // The response, or nullopt when `respond` will be called later (from another thread).
  std::optional<HttpResponse> Route(const HttpRequest& request, const Responder& respond);

  ContactReader reader_;
  Worker* worker_;
  KeyRing* keys_;
  Clock* clock_;
};

}  // namespace segmenta
