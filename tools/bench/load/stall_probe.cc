// stall_probe: does this machine stop every thread at once, and does disk I/O make it worse?
// Busy threads (one a core by default) read the clock in a loop and count the gaps in which
// none of them ran; optionally a thread appends 8 KiB and fdatasyncs a file N times a second.
// On a virtual machine whose host charges device emulation to the VM's CPU quota, the gaps
// come every quota period (100 ms on Linux hosts) and grow with the fsync rate: what a server
// that fsyncs often and keeps its cores busy sees as a periodic tail. See docs/benchmarks.md.
//
//   stall_probe [--seconds S] [--threads N] [--fsyncs-per-second F] [--dir DIR]
//
// Prints, per busy thread, the gaps over 0.5 ms (when, how long) and their count.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "fmt/format.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Gap {
  double at_ms;
  double length_ms;
};

[[noreturn]] void Die(std::string_view message) {
  fmt::print(stderr, "stall_probe: {}\n", message);
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 3;
  int threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  double fsyncs_per_second = 0;
  std::string dir = "/tmp";
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) Die(fmt::format("{} needs a value", arg));
      return argv[++i];
    };
    if (arg == "--seconds") {
      seconds = std::atof(value().c_str());
    } else if (arg == "--threads") {
      threads = std::atoi(value().c_str());
    } else if (arg == "--fsyncs-per-second") {
      fsyncs_per_second = std::atof(value().c_str());
    } else if (arg == "--dir") {
      dir = value();
    } else {
      Die(fmt::format("unknown argument {} (see the comment at the top of stall_probe.cc)", arg));
    }
  }
  if (seconds <= 0 || threads < 1 || fsyncs_per_second < 0) {
    Die("--seconds and --threads must be positive, --fsyncs-per-second not negative");
  }

  const Clock::time_point start = Clock::now();
  const Clock::time_point end =
      start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  std::atomic<bool> done{false};
  std::thread syncer;
  uint64_t syncs = 0;
  if (fsyncs_per_second > 0) {
    const std::string path = dir + "/stall_probe.dat";
    const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) Die(fmt::format("{}: {}", path, std::strerror(errno)));
    syncer = std::thread([&, fd, path] {
      const std::vector<char> block(8192, 'x');
      const auto interval = std::chrono::duration_cast<Clock::duration>(
          std::chrono::duration<double>(1.0 / fsyncs_per_second));
      Clock::time_point next = Clock::now();
      while (!done.load()) {
        if (write(fd, block.data(), block.size()) < 0 || fdatasync(fd) != 0) {
          Die(fmt::format("{}: {}", path, std::strerror(errno)));
        }
        ++syncs;
        next += interval;
        std::this_thread::sleep_until(next);
      }
      close(fd);
      unlink(path.c_str());
    });
  }
  std::vector<std::vector<Gap>> gaps(threads);
  std::vector<std::thread> spinners;
  for (int t = 0; t < threads; ++t) {
    spinners.emplace_back([&, t] {
      Clock::time_point last = Clock::now();
      while (true) {
        const Clock::time_point now = Clock::now();
        if (now >= end) break;
        const double gap_ms = std::chrono::duration<double, std::milli>(now - last).count();
        if (gap_ms > 0.5) {
          gaps[t].push_back(
              {std::chrono::duration<double, std::milli>(last - start).count(), gap_ms});
        }
        last = now;
      }
    });
  }
  for (auto& s : spinners) s.join();
  done = true;
  if (syncer.joinable()) syncer.join();

  fmt::print("{} busy threads for {:.1f} s, {} fdatasyncs of 8 KiB ({:.0f} a second)\n", threads,
             seconds, syncs, syncs / seconds);
  for (int t = 0; t < threads; ++t) {
    std::string line;
    for (const Gap& g : gaps[t]) line += fmt::format(" {:.1f}(+{:.2f})", g.at_ms, g.length_ms);
    fmt::print("thread {}: {} gaps over 0.5 ms, at ms (+length):{}\n", t, gaps[t].size(), line);
  }
  return 0;
}
