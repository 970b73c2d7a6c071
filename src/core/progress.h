// How far a long computation has come, and whether it was asked to stop: shared between a
// job (recomputing a contact group, fitting a model, running an analysis) and whoever reports
// or cancels it.
#pragma once

#include <atomic>

namespace segmenta {

// Thread-safe: one computation writes `fraction` and reads `cancelled`; any thread reads
// `fraction` and sets `cancelled`.
struct JobProgress {
  // Fraction done, 0..1.
  std::atomic<double> fraction{0};
  // Set to ask the computation to stop at its next check; a computation that stops for it
  // returns absl::CancelledError and leaves no partial result behind.
  std::atomic<bool> cancelled{false};
};

}  // namespace segmenta
