// Personalization over HTTP: POST /v1/decide (write key, as collection) and the
// experiences under /api/experiences (admin token; read-only tokens for GET).
#pragma once

#include "decide/decider.h"
#include "server/http_server.h"
#include "server/key_ring.h"

namespace segmenta {

// Thread-safe.
class DecideApi {
 public:
  // `decider` (null: the routes answer 503), `keys` and `clock` must outlive the API.
  DecideApi(Decider* decider, const KeyRing* keys, Clock* clock = Clock::Real());

  static bool Serves(std::string_view path);

  // POST /v1/decide {"userId" | "anonymousId", "slots": [...], "context": {...},
  //   "writeKey"} -> {"decisions": [{"slot", "variation", "payload", "reason",
  //   "experiment", "exposed"}]}; 400 naming the field (an unknown slot, a malformed
  //   context), 401 without a write key.
  // GET /api/experiences; GET|PUT|DELETE /api/experiences/{slot} with {"description",
  //   "variations": [{"name", "condition", "payload"}], "default", "experiment",
  //   "audience", "allocation": {variation: percent}, "control": percent}.
  // GET /api/emails; GET|PUT|DELETE /api/emails/{name} with {"subject", "body",
  //   "defaults": {trait: value}}; POST /api/emails/{name}/render with {"contact": ID}
  //   -> {"contactId", "email", "subject", "body"}, or {"group" | "persona" | "stage": NAME}
  //   -> JSONL, one e-mail per line, then {"summary": {"rendered", "skipped": [...]}}.
  void Handle(const HttpRequest& request, Responder respond);

 private:
  void Emails(const HttpRequest& request, Responder respond);
  void Decide(const HttpRequest& request, Responder respond);
  void Experiences(const HttpRequest& request, Responder respond);

  Decider* decider_;
  const KeyRing* keys_;
  Clock* clock_;
};

}  // namespace segmenta
