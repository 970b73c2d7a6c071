// Smoke tests of every benchmark: each workload of segmenta-bench on a tiny size, each
// micro-benchmark with a tiny --benchmark_min_time, and the load generators. They check
// that a run succeeds and prints its figures, never a figure itself (the machine is shared
// and noisy; docs/benchmarks.md holds the figures).
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "fmt/format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/bench/harness/child_process.h"
#include "tools/bench/harness/harness.h"

namespace segmenta {
namespace {

using ::testing::HasSubstr;

// How a finished program went: its exit, and its stdout then stderr.
struct ProgramRun {
  int status = -1;  // as waitpid
  std::string out;
  std::string err;
};

// Runs `argv` to completion (killed after 10 minutes) with `env` ("NAME=value") added to
// its environment.
ProgramRun RunProgram(std::vector<std::string> argv, const std::vector<std::string>& env = {}) {
  if (!env.empty()) {
    argv.insert(argv.begin(), env.begin(), env.end());
    argv.insert(argv.begin(), "/usr/bin/env");
  }
  ProgramRun run;
  absl::StatusOr<TempDir> dir = TempDir::Create(::testing::TempDir(), "smoke");
  if (!dir.ok()) {
    run.err = std::string(dir.status().message());
    return run;
  }
  SpawnOptions spawn;
  spawn.stdout_path = dir->path() + "/out";
  spawn.stderr_path = dir->path() + "/err";
  absl::StatusOr<ChildProcess> child = ChildProcess::Spawn(argv, spawn);
  if (!child.ok()) {
    run.err = std::string(child.status().message());
    return run;
  }
  std::optional<int> status = child->Wait(absl::Minutes(10));
  run.status = status.has_value() ? *status : child->Stop(SIGKILL, absl::Seconds(1));
  run.out = ReadWholeFile(spawn.stdout_path);
  run.err = ReadWholeFile(spawn.stderr_path);
  return run;
}

std::string Describe(const ProgramRun& run) {
  return fmt::format("{}\n--- stdout\n{}\n--- stderr\n{}", DescribeWaitStatus(run.status), run.out,
                     run.err);
}

// Runs `segmenta-bench args...` in a temp dir of its own and checks that it succeeds and
// ends with the summary table.
ProgramRun RunBench(std::vector<std::string> args) {
  args.insert(args.begin(), SEGMENTA_BENCH_BINARY);
  ProgramRun run = RunProgram(args);
  EXPECT_TRUE(ExitedCleanly(run.status)) << Describe(run);
  EXPECT_THAT(run.out, HasSubstr("\nSummary\n")) << Describe(run);
  return run;
}

bool PostgresInstalled() {
  const std::string bin = BenchOptions{}.postgres_bin_dir;
  return access((bin + "/initdb").c_str(), X_OK) == 0 &&
         access((bin + "/postgres").c_str(), X_OK) == 0;
}

TEST(BenchSmokeTest, IngestAndImportBesidePostgres) {
  if (!SEGMENTA_BENCH_POSTGRES_PEER) {
    GTEST_SKIP() << "segmenta-bench was built without its PostgreSQL peer (no libpq)";
  }
  if (!PostgresInstalled()) {
    GTEST_SKIP() << "no PostgreSQL server binaries in " << BenchOptions{}.postgres_bin_dir
                 << " (scripts/setup installs them)";
  }
  ProgramRun run =
      RunBench({"ingest", "import", "--events", "2000", "--repeats", "1", "--connections", "2"});
  EXPECT_THAT(run.out, HasSubstr("segmenta-bench ingest import\nDate:"));
  EXPECT_THAT(run.out, HasSubstr("\ningest: 2,000 events"));
  EXPECT_THAT(run.out, HasSubstr("ceiling: validate+fsync"));
  EXPECT_THAT(run.out, HasSubstr("ratio     segmenta / postgresql = "));
  EXPECT_THAT(run.out, HasSubstr("\nimport: 2,000 events"));
  EXPECT_THAT(run.out, HasSubstr("  run 1  postgresql  "));
  // Every event sent is in the store (a shortfall is printed after the run's figures).
  EXPECT_THAT(run.out, ::testing::Not(HasSubstr("(store holds"))) << run.out;
}

// Built where libpq was not found, segmenta-bench says so when asked for the peer, and runs
// without it when told to.
TEST(BenchSmokeTest, SaysWhenItWasBuiltWithoutThePostgresPeer) {
  if (SEGMENTA_BENCH_POSTGRES_PEER) GTEST_SKIP() << "built with the PostgreSQL peer";
  ProgramRun run = RunProgram(
      {SEGMENTA_BENCH_BINARY, "ingest", "--events", "200", "--repeats", "1", "--connections", "2"});
  EXPECT_FALSE(ExitedCleanly(run.status)) << Describe(run);
  EXPECT_THAT(run.err, HasSubstr("built without its PostgreSQL peer")) << Describe(run);
  ProgramRun without =
      RunBench({"ingest", "--events", "200", "--repeats", "1", "--connections", "2", "--no-peer"});
  EXPECT_THAT(without.out, HasSubstr("\ningest: 200 events"));
}

TEST(BenchSmokeTest, Memory) {
  ProgramRun run = RunBench({"memory", "--contacts", "200", "--repeats", "1"});
  EXPECT_THAT(run.out, HasSubstr("\nmemory: traffic of 200 generated contacts"));
  EXPECT_THAT(run.out, HasSubstr("B/contact RSS"));
}

TEST(BenchSmokeTest, KeepCurrent) {
  ProgramRun run = RunBench({"keep-current", "--contacts", "200", "--repeats", "1"});
  EXPECT_THAT(run.out, HasSubstr("\nkeep-current: "));
  EXPECT_THAT(run.out, HasSubstr("µs mean per event"));
}

// With the DuckDB peer (npm packages from scripts/setup): its members must be ours.
TEST(BenchSmokeTest, RecomputeBesideDuckDB) {
  ProgramRun run = RunBench({"recompute", "--contacts", "200", "--repeats", "1"});
  EXPECT_THAT(run.out, HasSubstr("\nrecompute: "));
  EXPECT_THAT(run.out, HasSubstr("memberships of 100 groups"));
  EXPECT_THAT(run.out, HasSubstr("members agree with DuckDB: yes, every group"));
}

TEST(BenchSmokeTest, PersonasBesideDuckDB) {
  ProgramRun run = RunBench({"personas", "--contacts", "200", "--repeats", "1"});
  EXPECT_THAT(run.out, HasSubstr("\npersonas: "));
  EXPECT_THAT(run.out, HasSubstr("members agree with DuckDB: yes, every persona"));
}

TEST(BenchSmokeTest, RefusesAnUnknownWorkload) {
  ProgramRun run = RunProgram({SEGMENTA_BENCH_BINARY, "fillrandom"});
  EXPECT_FALSE(ExitedCleanly(run.status)) << Describe(run);
  EXPECT_THAT(run.err, HasSubstr("fillrandom")) << Describe(run);
}

// Each micro-benchmark, for a moment per case, with its output as a table.
struct MicroBench {
  const char* name;
  // Cases to run (--benchmark_filter): all but those that take seconds whatever the time.
  const char* filter = ".";
};

void PrintTo(const MicroBench& bench, std::ostream* out) { *out << bench.name; }

class MicroBenchSmokeTest : public ::testing::TestWithParam<MicroBench> {};

TEST_P(MicroBenchSmokeTest, RunsItsCases) {
  const std::string binary = fmt::format("{}/{}", SEGMENTA_MICRO_BENCH_DIR, GetParam().name);
  // eval_bench generates its contacts before it starts: a few, here.
  ProgramRun run = RunProgram({binary, "--benchmark_min_time=0.001",
                               fmt::format("--benchmark_filter={}", GetParam().filter)},
                              {"SEGMENTA_BENCH_CONTACTS=200"});
  EXPECT_TRUE(ExitedCleanly(run.status)) << Describe(run);
  EXPECT_THAT(run.out, HasSubstr("Iterations")) << Describe(run);
  EXPECT_THAT(run.out, HasSubstr("BM_")) << Describe(run);
}

INSTANTIATE_TEST_SUITE_P(Micro, MicroBenchSmokeTest,
                         ::testing::Values(MicroBench{"parser_bench"}, MicroBench{"eval_bench"},
                                           MicroBench{"user_agent_bench"},
                                           MicroBench{"profile_bench"},
                                           // Five fixed iterations over 100 vectors of up to 4M
                                           // elements: the smallest size only.
                                           MicroBench{"paged_vector_bench", "/65536/"}),
                         [](const auto& info) { return std::string(info.param.name); });

// decide-wrk.sh on a tiny sample, with this tree's binaries: wrk's closed loop, and the
// constant rate of http_rate.
class DecideWrkSmokeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (access("/usr/bin/wrk", X_OK) != 0) GTEST_SKIP() << "wrk is missing (scripts/setup)";
  }
  ProgramRun Run(std::vector<std::string> env) {
    env.push_back(fmt::format("SEGMENTA_BIN={}", SEGMENTA_BINARY));
    env.push_back(fmt::format("HTTP_RATE_BIN={}", SEGMENTA_HTTP_RATE_BINARY));
    return RunProgram({SEGMENTA_SOURCE_DIR "/tools/bench/load/decide-wrk.sh", "300", "1", "2"},
                      env);
  }
};

TEST_F(DecideWrkSmokeTest, ClosedLoop) {
  ProgramRun run = Run({});
  EXPECT_TRUE(ExitedCleanly(run.status)) << Describe(run);
  EXPECT_THAT(run.out, HasSubstr("decide: 300 generated contacts")) << Describe(run);
  EXPECT_THAT(run.out, HasSubstr("Requests/sec")) << Describe(run);
}

TEST_F(DecideWrkSmokeTest, ConstantRateWithFirstTimeVisitors) {
  ProgramRun run = Run({"RATE=200", "WARMUP=1", "NEW_VISITORS=10"});
  EXPECT_TRUE(ExitedCleanly(run.status)) << Describe(run);
  EXPECT_THAT(run.out, HasSubstr("decide: 300 generated contacts")) << Describe(run);
  EXPECT_THAT(run.out, HasSubstr("p99")) << Describe(run);
}

TEST(StallProbeSmokeTest, ReportsItsThreads) {
  ProgramRun run =
      RunProgram({SEGMENTA_STALL_PROBE_BINARY, "--seconds", "1", "--dir", ::testing::TempDir()});
  EXPECT_TRUE(ExitedCleanly(run.status)) << Describe(run);
  EXPECT_THAT(run.out, HasSubstr("busy threads for")) << Describe(run);
}

}  // namespace
}  // namespace segmenta
