// Progress bars and messages for a terminal. A bar is drawn only when stderr is a terminal.
#pragma once

#include <cstdint>
#include <string>

#include "absl/time/time.h"

namespace segmenta {

// Not thread-safe: one owner updates it.
class ProgressBar {
 public:
  // `total` units (bytes, contacts...) to do; 0 when unknown.
  ProgressBar(std::string label, uint64_t total);
  ~ProgressBar();
  // Redraws at most ten times a second.
  void Update(uint64_t done, std::string_view detail = {});
  // True when the bar is drawn (stderr is a terminal): other output to stderr should clear
  // the line first ("\r\x1b[K").
  bool active() const { return enabled_; }
  // Draws the final state and ends the line.
  void Finish(std::string_view detail = {});

 private:
  void Draw(std::string_view detail);
  std::string label_;
  uint64_t total_;
  uint64_t done_ = 0;
  bool enabled_;
  bool finished_ = false;
  absl::Time start_;
  absl::Time last_draw_;
};

}  // namespace segmenta
