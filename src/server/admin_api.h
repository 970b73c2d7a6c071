// The admin API: reading contacts, accounts and totals, and managing keys, under /api;
// and GET /health, open to all.
#pragma once

#include <cstddef>
#include <optional>

#include "core/clock.h"
#include "ingest/worker.h"
#include "profile/contact_reader.h"
#include "segments/engine.h"
#include "server/http_server.h"
#include "server/key_ring.h"
#include "server/route_table.h"
#include "store/store.h"

namespace segmenta {

// Thread-safe. Route handlers (route_table.h; the routes are in api.cc's table). Reads run
// on the calling io thread (they are point reads and short scans).
class AdminApi {
 public:
  // `store`, `worker`, `keys`, `clock` and `engine` must outlive the API. `engine` may be
  // null (GET /api/stats then reports no derived state).
  AdminApi(const Store* store, Worker* worker, KeyRing* keys, Clock* clock = Clock::Real(),
           const AudienceEngine* engine = nullptr);

  // GET /health: {"status":"ok"}.
  std::optional<HttpResponse> Health(RouteCall& call);
  // GET /api/contacts/{id}?activities=N: a contact by any identity (url-encoded), its
  // newest N activities (default 20, max 1000) and "activityCount"; 404 naming an unknown id.
  std::optional<HttpResponse> GetContact(RouteCall& call);
  // GET /api/contacts/{id}/export: everything stored about a contact, profile and every
  // activity (GDPR access and portability).
  std::optional<HttpResponse> ExportContact(RouteCall& call);
  // DELETE /api/contacts/{id}?suppress=true: erases the contact (GDPR): profile, identities,
  // activities, memberships; with suppress, later events of its identities are dropped;
  // answered once durable.
  std::optional<HttpResponse> EraseContact(RouteCall& call);
  // GET /api/contacts?limit=&cursor=&trait.NAME=VALUE: a page of contacts (limit default 50,
  // max 1000), "nextCursor" (null on the last page); VALUE is a JSON literal or else a string.
  std::optional<HttpResponse> Contacts(RouteCall& call);
  // GET /api/accounts/{groupId}?limit=&cursor=: the account and a page of its contact ids.
  std::optional<HttpResponse> GetAccount(RouteCall& call);
  // GET /api/stats: the worker's totals, and "derived": the audience engine's per-contact
  // state, {"bytes", "columns": [{"name", "what", "bytes"}]}.
  std::optional<HttpResponse> Stats(RouteCall& call);
  // GET /api/keys: keys without secrets.
  std::optional<HttpResponse> Keys(RouteCall& call);
  // POST /api/keys {"kind","name"}: 201 with the new key and its secret.
  std::optional<HttpResponse> CreateKey(RouteCall& call);
  // DELETE /api/keys/{id}: revokes a key.
  std::optional<HttpResponse> RevokeKey(RouteCall& call);

 private:
  std::optional<HttpResponse> ContactWithActivities(RouteCall& call, size_t activities);

  ContactReader reader_;
  Worker* worker_;
  KeyRing* keys_;
  Clock* clock_;
  const AudienceEngine* engine_;
};

}  // namespace segmenta
