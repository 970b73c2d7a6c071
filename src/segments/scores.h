// Scores and buyer personas through the audience engine (engine.h): defining them, and
// reading their definitions, how points spread and a contact's points. A persona's members
// are audience reads (audience_reads.h).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "core/progress.h"
#include "segments/engine_core.h"
#include "segments/scoring.h"

namespace segmenta {

// A score or persona as the API shows it.
struct ScoreInfo {
  ScoreDefinition definition;  // webhook secrets left out
  uint64_t members = 0;        // personas: contacts assigned to it
  std::vector<std::string> warnings;
  std::vector<std::string> uses;     // what its rules read: groups, score("…"), persona, stage
  std::vector<std::string> used_by;  // what reads it
  bool time_dependent = false;
};

// How a score's points spread over the contacts.
struct ScoreDistribution {
  uint64_t contacts = 0;  // alive contacts
  uint64_t nonzero = 0;   // with points other than 0
  double min = 0, max = 0, mean = 0;
  double p25 = 0, p50 = 0, p75 = 0, p90 = 0, p99 = 0;
  struct Bucket {
    double from = 0, to = 0;  // [from, to), the last one closed
    uint64_t contacts = 0;
  };
  std::vector<Bucket> histogram;  // 10 equal buckets from min to max
  // Personas: contacts at or above the threshold (members or not).
  uint64_t qualified = 0;
};

// A contact's scores, persona and stage.
struct ContactScores {
  struct Score {
    std::string name;
    double points = 0;
    bool persona = false;
    double threshold = 0;
  };
  std::vector<Score> scores;  // in creation order
  std::string persona;        // "" when none
  std::string stage;          // "" when no lifecycle is defined
};

// Thread-safe. Definitions run as ContactGroups' do (contact_groups.h), cancellable the same
// way.
class ScoresAndPersonas {
 public:
  // `core` must outlive it.
  explicit ScoresAndPersonas(EngineCore* core) : core_(core) {}

  // Creates a score or persona and computes it for every contact (and, for a persona, the
  // persona assignment). Errors: AlreadyExists (groups, scores and personas share names);
  // InvalidArgument as CheckScore, for a rule that does not compile ("rules[2].condition:
  // 1:5: …") or a cycle; Cancelled.
  absl::StatusOr<ScoreInfo> Create(ScoreDefinition definition,
                                   std::shared_ptr<JobProgress> progress = nullptr);
  // Replaces the rules (and description, threshold, decay, webhooks) of `name` and
  // recomputes every contact's points. Errors: NotFound; as Create; a score cannot become a
  // persona or the other way round.
  absl::StatusOr<ScoreInfo> Update(std::string_view name, ScoreDefinition definition,
                                   std::shared_ptr<JobProgress> progress = nullptr);
  // Errors: NotFound; FailedPrecondition naming what reads it.
  absl::Status Delete(std::string_view name);

  // `personas`: personas only, else scores that are not personas; in creation order.
  std::vector<ScoreInfo> List(bool personas) const;
  // Errors: NotFound.
  absl::StatusOr<ScoreInfo> Get(std::string_view name) const;
  // Errors: NotFound.
  absl::StatusOr<ScoreDistribution> Distribution(std::string_view name) const;
  // The points of `contact` in every score, its persona and its stage.
  ContactScores Of(ContactId contact) const;

 private:
  EngineCore* core_;
};

}  // namespace segmenta
