// Lifecycle stages through the audience engine (engine.h): setting, reading and removing
// them. A stage's members are audience reads (audience_reads.h).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/progress.h"
#include "segments/engine_core.h"
#include "segments/scoring.h"

namespace segmenta {

struct StageInfo {
  StageDefinition definition;
  uint64_t members = 0;
  std::string condition_text;  // normalized ("" for the first stage)
};

struct LifecycleInfo {
  bool defined = false;
  std::vector<StageInfo> stages;
  std::vector<Webhook> webhooks;  // secrets left out
  int64_t updated_ms = 0;
  std::vector<std::string> warnings;
};

// Thread-safe. Set runs as ContactGroups' definitions do (contact_groups.h), cancellable
// the same way.
class LifecycleStages {
 public:
  // `core` must outlive it.
  explicit LifecycleStages(EngineCore* core) : core_(core) {}

  // Replaces the stages (a stage keeps its id, members and history while its name stays;
  // the members of a removed stage exit it) and recomputes every contact's stage.
  // Errors: InvalidArgument as CheckLifecycle, for a bad webhook, or for a condition that
  // does not compile ("stages[2].condition: …") or a cycle; Cancelled.
  absl::StatusOr<LifecycleInfo> Set(LifecycleDefinition definition,
                                    std::shared_ptr<JobProgress> progress = nullptr);
  LifecycleInfo Get() const;
  // Removes the stages (their members exit). Errors: NotFound when none are defined;
  // FailedPrecondition naming the definitions whose conditions read stage.
  absl::Status Delete();

 private:
  EngineCore* core_;
};

}  // namespace segmenta
