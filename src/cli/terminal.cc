#include "cli/terminal.h"

#include <unistd.h>

#include <cstdio>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"

namespace segmenta {

ProgressBar::ProgressBar(std::string label, uint64_t total)
    : label_(std::move(label)),
      total_(total),
      enabled_(isatty(STDERR_FILENO) != 0),
      start_(absl::Now()),
      last_draw_(absl::InfinitePast()) {}

ProgressBar::~ProgressBar() {
  if (!finished_) Finish();
}

void ProgressBar::Update(uint64_t done, std::string_view detail) {
  done_ = done;
  if (!enabled_) return;
  absl::Time now = absl::Now();
  if (now - last_draw_ < absl::Milliseconds(100)) return;
  last_draw_ = now;
  Draw(detail);
}

void ProgressBar::Finish(std::string_view detail) {
  finished_ = true;
  if (!enabled_) return;
  Draw(detail);
  std::fputc('\n', stderr);
}

void ProgressBar::Draw(std::string_view detail) {
  constexpr int kWidth = 30;
  double seconds = absl::ToDoubleSeconds(absl::Now() - start_);
  if (total_ > 0) {
    double fraction = std::min(1.0, static_cast<double>(done_) / static_cast<double>(total_));
    int filled = static_cast<int>(fraction * kWidth);
    std::string bar(filled, '#');
    bar.append(kWidth - filled, '-');
    std::fprintf(stderr, "\r%s [%s] %5.1f%% %.1fs %s\x1b[K", label_.c_str(), bar.c_str(),
                 fraction * 100, seconds, std::string(detail).c_str());
  } else {
    std::fprintf(stderr, "\r%s %llu %.1fs %s\x1b[K", label_.c_str(),
                 static_cast<unsigned long long>(done_), seconds, std::string(detail).c_str());
  }
  std::fflush(stderr);
}

}  // namespace segmenta
