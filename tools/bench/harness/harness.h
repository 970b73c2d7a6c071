// The scaffolding the workloads of `segmenta-bench` share: their options and results,
// formatting of figures, the machine header, temporary directories, generated data, and
// running the offline import.
#pragma once

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "collect/message.h"
#include "fmt/format.h"

namespace segmenta {

struct BenchOptions {
  // Events to generate (ingest, import). Default: per workload (1M ingest, 10M import).
  std::optional<uint64_t> events;
  // Contacts to load (memory). Default: 1M.
  std::optional<uint64_t> contacts;
  // Concurrent HTTP connections (ingest), and PostgreSQL connections. Default: 8.
  int connections = 8;
  // Messages per /v1/batch request and rows per INSERT. Default: 100.
  int batch_size = 100;
  // Measurements per workload; the median is reported. Default: 3.
  int repeats = 3;
  // Run the peers (PostgreSQL, DuckDB). Default: true.
  bool peer = true;
  // Seed of the generated traffic. Default: 1.
  uint64_t seed = 1;
  // Parent of the bench's temp dirs (data dirs, JSONL files, the peer's cluster).
  // Default: $TMPDIR, else /tmp.
  std::string temp_parent;
  // The `segmenta` binary to run as the server and the importer. Default: the one built
  // with segmenta-bench (main.cc).
  std::string binary;
  // Where to find PostgreSQL's server binaries. Default: Debian's PostgreSQL 15.
  std::string postgres_bin_dir = "/usr/lib/postgresql/15/bin";
};

// The medians of one workload, for the summary table.
struct WorkloadResult {
  std::string workload;  // "ingest"
  std::string data;      // "1,000,000 events, 52,112 contacts"
  std::string segmenta;  // "123,456 events/s"
  std::string peer;      // "45,678 events/s", or "" when there is no peer figure
  std::string ratio;     // "2.70×", or ""
  std::string goal;      // "≥ 100,000 events/s, ≥ 10× PostgreSQL", or ""
};

// The header: machine (cores, CPU model, RAM, load average, kernel, fsync latency of the
// temp dir's disk) and build. Never fails: unknown fields print as "?".
std::string MachineHeader(const BenchOptions& options);

// 1234567 -> "1,234,567".
std::string Grouped(uint64_t n);
// "123,456 events/s".
std::string Rate(double per_second);
// "1.5 GiB".
std::string Bytes(double bytes);
// "2.70×", or "" when b is 0.
std::string Ratio(double a, double b);
double Median(std::vector<double> values);
// "1,234, 1,250, 1,300": the runs behind a median.
std::string Runs(const std::vector<double>& values);
// The 1, 5 and 15 minute load averages, as /proc/loadavg has them.
std::string LoadAverage();

// Progress notes go to stderr, figures to stdout, so that `> results.txt` keeps the figures.
template <typename... Args>
void Note(fmt::format_string<Args...> format, Args&&... args) {
  fmt::print(stderr, "  ... {}\n", fmt::format(format, std::forward<Args>(args)...));
  std::fflush(stderr);
}

// Where the bench's temporary directories go: --tmp-dir, else $TMPDIR, else /tmp.
std::string TempParent(const BenchOptions& options);
// The same for a directory asked for elsewhere: `requested`, else $TMPDIR, else /tmp.
std::string TempParent(const std::string& requested);

// A fresh directory, deleted with everything in it when the object goes.
class TempDir {
 public:
  static absl::StatusOr<TempDir> Create(const std::string& parent, std::string_view name) {
    std::string templ = fmt::format("{}/segmenta-bench-{}-XXXXXX", parent, name);
    if (mkdtemp(templ.data()) == nullptr) {
      return absl::InternalError(fmt::format("mkdtemp {}: {}", templ, strerror(errno)));
    }
    TempDir dir;
    dir.path_ = templ;
    return dir;
  }
  TempDir(TempDir&& other) noexcept { std::swap(path_, other.path_); }
  TempDir& operator=(TempDir&& other) noexcept {
    std::swap(path_, other.path_);
    return *this;
  }
  ~TempDir() {
    if (path_.empty()) return;
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  TempDir() = default;
  std::string path_;
};

// Bytes of the regular files under `dir`.
uint64_t DirBytes(const std::string& dir);

struct GeneratedFile {
  uint64_t events = 0;
  uint64_t contacts = 0;
  uint64_t bytes = 0;
};

// Median latency, in microseconds, of writing 8 KiB and fdatasync'ing it in `dir`: the
// floor of one durable group commit on this disk; nullopt when it cannot be measured.
std::optional<double> FsyncMicros(const std::string& dir);

struct GeneratedLines {
  std::vector<std::string> lines;
  uint64_t contacts = 0;  // generator contacts the lines come from
  uint64_t bytes = 0;
};

// The first `events` messages of the generated traffic (contact after contact).
GeneratedLines GenerateLines(uint64_t events, uint64_t seed);

// Writes generated traffic to `path` as JSONL: the first `events` messages when set,
// otherwise all the traffic of `contacts` contacts.
absl::StatusOr<GeneratedFile> GenerateFile(const std::string& path, std::optional<uint64_t> events,
                                           uint64_t contacts, uint64_t seed);

// How a `segmenta import` run went.
struct ImportRun {
  absl::Duration elapsed;  // wall time
  uint64_t max_rss_bytes = 0;
};

// Runs `segmenta --data-dir DIR import activities FILE` to completion.
// Errors: Internal with its stderr when it fails.
absl::StatusOr<ImportRun> RunImport(const BenchOptions& options, const std::string& data_dir,
                                    const std::string& file, const std::string& log_dir);

// Generated traffic, imported into a fresh data directory.
struct ImportedTraffic {
  GeneratedFile data;      // what was generated
  std::string data_dir;    // the store it was imported into
  absl::Duration elapsed;  // the import's wall time
};

// Writes the traffic of `contacts` generated contacts to a JSONL file in `work_dir`, imports
// it with `segmenta import activities` into `work_dir`/data, and deletes the file.
// Errors: the generator's, or RunImport's.
absl::StatusOr<ImportedTraffic> ImportGeneratedTraffic(const BenchOptions& options,
                                                       const std::string& work_dir,
                                                       uint64_t contacts);

// The messages of generated traffic (`contacts` contacts), parsed, in time order.
std::vector<Message> GeneratedMessages(uint64_t contacts, uint64_t seed, absl::Time now);

// The peak resident set of this process.
uint64_t PeakRssBytes();

}  // namespace segmenta
