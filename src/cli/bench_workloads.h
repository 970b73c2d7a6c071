// The workloads of `segmenta bench`, like LevelDB's db_bench: each runs the real binary as
// a child process (the server under test, the offline import), repeats the measurement on
// a fresh data directory, and reports the median next to the peer's figure.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "collect/message.h"
#include "profile/profile_table.h"

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
  // Run the PostgreSQL peer. Default: true.
  bool peer = true;
  // Seed of the generated traffic. Default: 1.
  uint64_t seed = 1;
  // Parent of the bench's temp dirs (data dirs, JSONL files, the peer's cluster).
  // Default: $TMPDIR, else /tmp.
  std::string temp_parent;
  // The `segmenta` binary to run as the server and the importer. Default: this one.
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

// Durable ingest through /v1/batch on loopback, and the same events INSERTed into
// PostgreSQL. Prints its runs to stdout as it goes.
// Errors: the first failure (server start, load errors, peer), with the child's stderr.
absl::StatusOr<WorkloadResult> RunIngestBench(const BenchOptions& options);

// Offline `segmenta import activities FILE` of a generated JSONL file, and PostgreSQL COPY
// of the same file.
absl::StatusOr<WorkloadResult> RunImportBench(const BenchOptions& options);

// RSS of `segmenta serve` per contact after loading N contacts, and on-disk bytes per
// contact.
absl::StatusOr<WorkloadResult> RunMemoryBench(const BenchOptions& options);

// The cost of keeping 100 dynamic groups current, per ingested event (in process).
absl::StatusOr<WorkloadResult> RunKeepCurrentBench(const BenchOptions& options);

// The brief's twelve groups evaluated over every contact, new and with their aggregates
// cached, side by side with DuckDB running the same conditions as SQL on the same data; and
// the memory of 100 groups' memberships.
absl::StatusOr<WorkloadResult> RunRecomputeBench(const BenchOptions& options);

// 20 buyer personas of 10 rules each: the time to compute them over every contact
// (side by side with DuckDB computing the same scores and assignment in SQL), and the cost
// of keeping them current per ingested event.
absl::StatusOr<WorkloadResult> RunPersonasBench(const BenchOptions& options);

// --- Shared by the in-process workloads ------------------------------------------------

// The messages of generated traffic (`contacts` contacts), parsed, in time order.
std::vector<Message> GeneratedMessages(uint64_t contacts, uint64_t seed, absl::Time now);
// The peak resident set of this process.
uint64_t PeakRssBytes();
// The data of `profiles` as CSV files in `dir` for the DuckDB peers: events.csv (contact,
// kind, event, ts, path, category, revenue), contacts.csv, accounts.csv, members.csv.
absl::Status WritePeerCsv(const ProfileTable& profiles, const std::string& dir);
// Runs `node tests/js/bench/SCRIPT args...` in `work_dir`; returns its stdout lines.
// Errors: Internal with the script's stderr when it fails.
absl::StatusOr<std::vector<std::string>> RunNodePeer(const std::string& script,
                                                     std::vector<std::string> args,
                                                     const std::string& work_dir);

// The header: machine (cores, CPU model, RAM, load average, kernel, fsync latency of the
// temp dir's disk) and build. Never fails: unknown fields print as "?".
std::string MachineHeader(const BenchOptions& options);

}  // namespace segmenta
