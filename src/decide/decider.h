// Decides, for a visitor and the slots asked, which variation of each experience it sees:
// from its profile (traits, groups, personas, stages, scores: cold data) and the visit's
// context (hot data); experiments assign by a hash of the visitor and the experiment's key,
// sticky once exposed. Exposures are recorded as activities, each once.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "core/clock.h"
#include "decide/email.h"
#include "decide/experience.h"
#include "decide/visit.h"
#include "ingest/worker.h"
#include "lang/compiler.h"
#include "profile/contact_reader.h"
#include "segments/engine.h"
#include "store/store.h"

namespace segmenta {

struct ExperienceInfo {
  ExperienceDefinition definition;
  std::vector<std::string> warnings;
};

struct DecideRequest {
  std::string user_id;
  std::string anonymous_id;
  std::vector<std::string> slots;
  Visit visit;  // "new" is filled by Decide
};

struct Decision {
  std::string slot;
  std::string variation;   // "default" or "control" when no variation applies
  std::string payload;     // JSON
  std::string reason;      // why: "condition of variation \"discount\" holds", ...
  std::string experiment;  // when the slot runs one
  bool exposed = false;    // an exposure was recorded
};

// Thread-safe.
class Decider {
 public:
  // Loads the experiences from `store` and the User-Agent rules (UserAgentParser::Shared).
  // Every argument must outlive the decider. Errors: DataLoss for malformed records; the
  // rules' load error (NotFound without uap-core).
  static absl::StatusOr<std::unique_ptr<Decider>> Start(Store* store, Worker* worker,
                                                        AudienceEngine* engine,
                                                        Clock* clock = Clock::Real());
  // Hands the exposures still held to the worker (FlushExposures) and waits until the
  // worker has applied them: the worker must still run.
  ~Decider();

  // Creates or replaces the experience of `def.slot`. Errors: InvalidArgument as
  // CheckExperience, or naming the condition that does not compile
  // ("variations[1].condition: 1:5: …").
  absl::StatusOr<ExperienceInfo> Put(ExperienceDefinition def);
  // Errors: NotFound.
  absl::Status Delete(std::string_view slot);
  std::vector<ExperienceInfo> List() const;
  absl::StatusOr<ExperienceInfo> Get(std::string_view slot) const;

  // One decision per slot asked, in order. The visitor is found by userId, then
  // anonymousId; one not seen yet is new and gets its exposures recorded as a new
  // anonymous contact. Exposures are not awaited: they are held for at most
  // kExposureDelay, then submitted to the worker with those of other decisions, which
  // writes them to the WAL and fsyncs it within WorkerOptions::written_sync_delay
  // (Acknowledge::kWhenWritten): a killed server loses none it wrote.
  // Errors: InvalidArgument for no ids, no slots, or an unknown slot (naming it).
  absl::StatusOr<std::vector<Decision>> Decide(DecideRequest request);

  // Submits every exposure decided so far to the worker now: what is submitted to the
  // worker afterwards is applied after them. Thread-safe.
  void FlushExposures();
  // How long an exposure is held before it is submitted.
  static constexpr absl::Duration kExposureDelay = absl::Milliseconds(5);

  // --- E-mail templates ------------------------------------------------------------------
  // Creates or replaces a template. Errors: InvalidArgument as CheckEmailTemplate.
  absl::Status PutTemplate(EmailTemplate t);
  absl::StatusOr<EmailTemplate> GetTemplate(std::string_view name) const;
  absl::Status DeleteTemplate(std::string_view name);
  std::vector<EmailTemplate> ListTemplates() const;

  struct RenderedFor {
    ContactId contact = 0;
    std::string email;  // its "email" trait
    RenderedEmail email_content;
  };
  struct Skipped {
    ContactId contact = 0;
    std::string reason;  // "unsubscribed", "no e-mail address", a missing trait
  };
  // Renders template `name` for one contact (by any identity). Errors: NotFound (template
  // or contact); FailedPrecondition for an unsubscribed contact or a trait without default.
  absl::StatusOr<RenderedFor> RenderFor(std::string_view name, std::string_view contact) const;
  // For every member of a group, persona or stage: each rendered e-mail, in id order, and
  // those left out with why. Errors: NotFound.
  absl::Status RenderAudience(std::string_view name, AudienceKind kind, std::string_view audience,
                              const std::function<void(const RenderedFor&)>& rendered,
                              std::vector<Skipped>* skipped) const;

 private:
  absl::StatusOr<RenderedFor> Render(const EmailTemplate& t, const Contact& contact) const;

  struct Compiled {
    ExperienceDefinition def;
    std::vector<std::shared_ptr<const Plan>> plans;  // per variation; null: everyone
    std::shared_ptr<const Plan> audience;            // experiments; null: everyone
    std::vector<std::vector<Value>> overall;         // per variation
    std::vector<Value> audience_overall;
    // Per variation: the reason a decision gives when it applies (written once, not per
    // request).
    std::vector<std::string> reasons;
  };

  Decider(Store* store, Worker* worker, AudienceEngine* engine, Clock* clock)
      : store_(store), worker_(worker), engine_(engine), clock_(clock), reader_(store) {}
  // Submits the exposures held every kExposureDelay until the decider stops.
  void SubmitExposuresLoop();
  absl::StatusOr<std::shared_ptr<const Compiled>> Compile(ExperienceDefinition def) const;

  Store* store_;
  Worker* worker_;
  AudienceEngine* engine_;
  Clock* clock_;
  ContactReader reader_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::shared_ptr<const Compiled>> by_slot_ ABSL_GUARDED_BY(mu_);
  uint32_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
  absl::flat_hash_map<std::string, EmailTemplate> templates_ ABSL_GUARDED_BY(mu_);
  // Exposures decided and not yet applied to the profile, by the hash their messageId is
  // made of: with the profile, what keeps each exposure recorded once. Bounded by the
  // worker's queue.
  absl::Mutex exposures_mu_;
  absl::flat_hash_set<uint64_t> exposures_in_flight_ ABSL_GUARDED_BY(exposures_mu_);
  // Exposures decided, not yet submitted, and their hashes. A burst of new visitors becomes
  // one submission every few milliseconds instead of one per decision: the writer, which
  // every decision waits for while it applies, takes them as one batch.
  std::vector<Message> held_exposures_ ABSL_GUARDED_BY(exposures_mu_);
  std::vector<uint64_t> held_hashes_ ABSL_GUARDED_BY(exposures_mu_);
  bool stopping_ ABSL_GUARDED_BY(exposures_mu_) = false;
  // Held while exposures are taken and submitted, so that submissions keep decision order.
  absl::Mutex submit_mu_;
  std::thread exposure_submitter_;
};

// The bucket of `visitor` in `experiment`: 0 <= b < 100, uniform, the same on every node
// and across restarts (xxHash64).
double ExperimentBucket(std::string_view visitor, std::string_view experiment);

}  // namespace segmenta
