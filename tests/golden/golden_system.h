// The system a golden file drives: a store in a directory of its own, the worker, the
// audience engine and (when the file has experiences) the decider, all on one fake clock.
// No mocks: the classes the server runs.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "core/clock.h"
#include "decide/decider.h"
#include "ingest/worker.h"
#include "segments/engine.h"
#include "store/store.h"

namespace segmenta::golden {

// Not thread-safe: one test drives it.
class GoldenSystem {
 public:
  // Opens a new store in `dir` (which must not exist) and starts the worker and the engine
  // with the clock at `now`. Errors: those of Store::Open, Worker::Start, AudienceEngine::Start.
  static absl::StatusOr<std::unique_ptr<GoldenSystem>> Start(const std::string& dir,
                                                             absl::Time now);
  // Stops the decider, the engine, the worker and the store, in that order; leaves `dir`.
  ~GoldenSystem();

  // A second system on a checkpoint of this one's store in `dir` (which must not exist),
  // with its clock at this one's now. Its engine computes every score from the stored
  // activities at start, and its first timer run (done here) every persona and stage:
  // what a recomputation from scratch gives, with this system left as it is.
  // Errors: RocksDB's for the checkpoint; as Start.
  absl::StatusOr<std::unique_ptr<GoldenSystem>> Recomputed(const std::string& dir) const;

  FakeClock& clock() { return clock_; }
  Store* store() const { return store_.get(); }
  Worker* worker() const { return worker_.get(); }
  AudienceEngine* engine() const { return engine_.get(); }
  // The decider, started on first use (it loads the User-Agent rules, half a second).
  // Errors: those of Decider::Start.
  absl::StatusOr<Decider*> decider();

  // The contact a file names: by userId, else by anonymousId; nullopt when none.
  std::optional<ContactId> Find(std::string_view name) const;
  // The name a file gives contact `id`: its userId, else its anonymousId, else "#ID".
  std::string NameOf(ContactId id) const;

 private:
  explicit GoldenSystem(absl::Time now) : clock_(now) {}
  // Opens the store in `dir` and starts the worker and the engine on it.
  absl::Status Open(const std::string& dir);

  FakeClock clock_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<Worker> worker_;
  std::unique_ptr<AudienceEngine> engine_;
  std::unique_ptr<Decider> decider_;
};

}  // namespace segmenta::golden
