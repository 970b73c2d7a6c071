// `segmenta bench WORKLOAD...`: whole-system benchmarks in the manner of LevelDB's db_bench.
// Prints the machine, the data sizes, then for each workload its runs, the median, and the
// peer's figure with the ratio; a summary table at the end. See docs/benchmarks.md.
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "cli/bench_workloads.h"
#include "cli/commands.h"
#include "fmt/format.h"

namespace segmenta {
namespace {

struct BenchCommand {
  std::vector<std::string> workloads;
  uint64_t events = 0;
  uint64_t contacts = 0;
  bool no_peer = false;
  BenchOptions options;
};

std::string SelfBinary() {
  char path[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);
  if (n <= 0) return "segmenta";
  return std::string(path, n);
}

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
  if (options.binary.empty()) options.binary = SelfBinary();

  fmt::print("segmenta bench {}\n{}", fmt::join(cmd.workloads, " "), MachineHeader(options));
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
      fmt::print(stderr, "segmenta bench {}: {}\n", workload,
                 std::string(result.status().message()));
      return 1;
    }
    results.push_back(*std::move(result));
  }
  PrintSummary(results);
  return 0;
}

}  // namespace

void AddBenchCommand(CLI::App& app, CommonOptions& common) {
  auto cmd = std::make_shared<BenchCommand>();
  CLI::App* sub = app.add_subcommand(
      "bench",
      "Run whole-system benchmarks (ingest, import, memory, keep-current, recompute, personas) "
      "and their "
      "peers (PostgreSQL, DuckDB); prints medians and ratios");
  sub->add_option("workloads", cmd->workloads,
                  "Workloads to run, in order: ingest, import, memory, keep-current, recompute, "
                  "personas")
      ->required()
      ->check(
          CLI::IsMember({"ingest", "import", "memory", "keep-current", "recompute", "personas"}));
  sub->add_option("--events", cmd->events,
                  "Events to generate (ingest default 1,000,000; import default 10,000,000)");
  sub->add_option(
      "--contacts", cmd->contacts,
      "Contacts to generate (memory, recompute, personas: default 1,000,000; keep-current: "
      "20,000)");
  sub->add_option("--connections", cmd->options.connections,
                  "Concurrent HTTP (and PostgreSQL) connections")
      ->capture_default_str()
      ->check(CLI::Range(1, 256));
  sub->add_option("--batch-size", cmd->options.batch_size,
                  "Messages per /v1/batch request and rows per INSERT")
      ->capture_default_str()
      ->check(CLI::Range(1, 2500));
  sub->add_option("--repeats", cmd->options.repeats, "Measurements per workload (median)")
      ->capture_default_str()
      ->check(CLI::Range(1, 100));
  sub->add_option("--seed", cmd->options.seed, "Seed of the generated traffic")
      ->capture_default_str();
  sub->add_flag("--no-peer", cmd->no_peer, "Skip the peers (PostgreSQL, DuckDB)");
  sub->add_option("--tmp-dir", cmd->options.temp_parent,
                  "Parent of the bench's temp dirs (default $TMPDIR, else /tmp)");
  sub->add_option("--postgres-bin", cmd->options.postgres_bin_dir,
                  "Directory of PostgreSQL's initdb and postgres")
      ->capture_default_str();
  sub->add_option("--binary", cmd->options.binary,
                  "segmenta binary to benchmark (default: this one)");
  sub->callback([cmd]() {
    int code = Run(*cmd);
    if (code != 0) throw CLI::RuntimeError(code);
  });
}

}  // namespace segmenta
