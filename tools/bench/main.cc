// segmenta-bench WORKLOAD...: whole-system benchmarks in the manner of LevelDB's db_bench,
// in a binary of their own so that the product carries no harness. Prints the machine, the
// data sizes, then for each workload its runs, the median, and the peer's figure with the
// ratio; a summary table at the end. See docs/benchmarks.md.
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/synchronization/mutex.h"
#include "fmt/format.h"
#include "tools/bench/workloads/workloads.h"

namespace segmenta {
namespace {

struct BenchCommand {
  std::vector<std::string> workloads;
  uint64_t events = 0;
  uint64_t contacts = 0;
  bool no_peer = false;
  BenchOptions options;
};

void PrintSummary(const std::vector<WorkloadResult>& results) {
  std::vector<std::vector<std::string>> rows = {
      {"workload", "data", "segmenta (median)", "peer (median)", "ratio", "goal"}};
  for (const WorkloadResult& r : results) {
    rows.push_back({r.workload, r.data, r.segmenta, r.peer.empty() ? "-" : r.peer,
                    r.ratio.empty() ? "-" : r.ratio, r.goal.empty() ? "-" : r.goal});
  }
  // Column widths in code points (the table holds "×" and "≥").
  auto width = [](const std::string& s) {
    size_t n = 0;
    for (unsigned char c : s) n += (c & 0xC0) != 0x80;
    return n;
  };
  std::vector<size_t> widths(rows[0].size(), 0);
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], width(row[i]));
  }
  fmt::print("\nSummary\n");
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(widths[i] - width(row[i]) + 2, ' ');
    }
    fmt::print("  {}\n", line);
  }
}

int Run(BenchCommand& cmd) {
  BenchOptions& options = cmd.options;
  if (cmd.events > 0) options.events = cmd.events;
  if (cmd.contacts > 0) options.contacts = cmd.contacts;
  options.peer = !cmd.no_peer;
  if (options.binary.empty()) options.binary = SEGMENTA_BUILT_BINARY;

  fmt::print("segmenta-bench {}\n{}", fmt::join(cmd.workloads, " "), MachineHeader(options));
  std::fflush(stdout);
  std::vector<WorkloadResult> results;
  for (const std::string& workload : cmd.workloads) {
    absl::StatusOr<WorkloadResult> result;
    if (workload == "ingest") {
      result = RunIngestBench(options);
    } else if (workload == "import") {
      result = RunImportBench(options);
    } else if (workload == "keep-current") {
      result = RunKeepCurrentBench(options);
    } else if (workload == "recompute") {
      result = RunRecomputeBench(options);
    } else if (workload == "personas") {
      result = RunPersonasBench(options);
    } else {
      result = RunMemoryBench(options);
    }
    if (!result.ok()) {
      fmt::print(stderr, "segmenta-bench {}: {}\n", workload,
                 std::string(result.status().message()));
      return 1;
    }
    results.push_back(*std::move(result));
  }
  PrintSummary(results);
  return 0;
}

// The command line: the arguments `segmenta-bench` took.
void AddOptions(CLI::App& app, BenchCommand& cmd) {
  app.add_option("workloads", cmd.workloads,
                 "Workloads to run, in order: ingest, import, memory, keep-current, recompute, "
                 "personas")
      ->required()
      ->check(
          CLI::IsMember({"ingest", "import", "memory", "keep-current", "recompute", "personas"}));
  app.add_option("--events", cmd.events,
                 "Events to generate (ingest default 1,000,000; import default 10,000,000)");
  app.add_option(
      "--contacts", cmd.contacts,
      "Contacts to generate (memory, recompute, personas: default 1,000,000; keep-current: "
      "20,000)");
  app.add_option("--connections", cmd.options.connections,
                 "Concurrent HTTP (and PostgreSQL) connections")
      ->capture_default_str()
      ->check(CLI::Range(1, 256));
  app.add_option("--batch-size", cmd.options.batch_size,
                 "Messages per /v1/batch request and rows per INSERT")
      ->capture_default_str()
      ->check(CLI::Range(1, 2500));
  app.add_option("--repeats", cmd.options.repeats, "Measurements per workload (median)")
      ->capture_default_str()
      ->check(CLI::Range(1, 100));
  app.add_option("--seed", cmd.options.seed, "Seed of the generated traffic")
      ->capture_default_str();
  app.add_flag("--no-peer", cmd.no_peer, "Skip the peers (PostgreSQL, DuckDB)");
  app.add_option("--tmp-dir", cmd.options.temp_parent,
                 "Parent of the bench's temp dirs (default $TMPDIR, else /tmp)");
  app.add_option("--postgres-bin", cmd.options.postgres_bin_dir,
                 "Directory of PostgreSQL's initdb and postgres")
      ->capture_default_str();
  app.add_option("--binary", cmd.options.binary,
                 "segmenta binary to benchmark (default: the one built with segmenta-bench, " +
                     std::string(SEGMENTA_BUILT_BINARY) + ")");
}

}  // namespace
}  // namespace segmenta

int main(int argc, char** argv) {
#ifdef NDEBUG
  // As in `segmenta` (src/cli/main.cc): the in-process workloads run the engine's
  // absl::Mutexes without Abseil's debug-mode deadlock detector.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
#endif
  CLI::App app{
      "segmenta-bench: whole-system benchmarks of Segmenta (ingest, import, memory, "
      "keep-current, recompute, personas) and their peers (PostgreSQL, DuckDB); prints medians "
      "and ratios"};
  segmenta::BenchCommand command;
  segmenta::AddOptions(app, command);
  CLI11_PARSE(app, argc, argv);
  return segmenta::Run(command);
}
