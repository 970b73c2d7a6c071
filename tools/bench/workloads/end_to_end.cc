#include <fcntl.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <thread>

#include "absl/time/clock.h"
#include "cli/http_loader.h"
#include "core/status.h"
#include "fmt/format.h"
#include "gen/traffic.h"
#include "server/key_ring.h"
#include "simdjson.h"
#include "store/keys.h"
#include "store/store.h"
#include "tools/bench/harness/child_process.h"
#include "tools/bench/harness/harness.h"
#include "tools/bench/peers/postgres.h"
#include "tools/bench/workloads/ceiling.h"
#include "tools/bench/workloads/workloads.h"

namespace segmenta {
namespace {

// ---------------------------------------------------------------------------------------
// The system under test

// Creates a write key in a fresh data dir (opening the store directly, before the server).
absl::StatusOr<std::string> CreateWriteKey(const std::string& data_dir) {
  SEGMENTA_ASSIGN_OR_RETURN(std::unique_ptr<Store> store, Store::Open(data_dir));
  SEGMENTA_ASSIGN_OR_RETURN(std::unique_ptr<KeyRing> ring, KeyRing::Load(store.get()));
  SEGMENTA_ASSIGN_OR_RETURN(
      auto created, ring->Create(KeyKind::kWrite, "bench", absl::ToUnixMillis(absl::Now())));
  return created.second;
}

// The worker's persisted totals, read from a stopped server's data dir.
struct StoreCounters {
  uint64_t contacts = 0;
  uint64_t merges = 0;
  uint64_t accounts = 0;
  uint64_t activities = 0;
  uint64_t duplicates = 0;
};

absl::StatusOr<StoreCounters> ReadCounters(const std::string& data_dir) {
  StoreOptions store_options;
  store_options.read_only = true;
  SEGMENTA_ASSIGN_OR_RETURN(std::unique_ptr<Store> store, Store::Open(data_dir, store_options));
  SEGMENTA_ASSIGN_OR_RETURN(std::optional<std::string> json,
                            store->Get(Family::kMeta, std::string(kMetaCounters)));
  StoreCounters counters;
  if (!json.has_value()) return counters;
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(*json).get(doc) != simdjson::SUCCESS) {
    return absl::DataLossError("unreadable counters in the store");
  }
  auto get = [&](const char* name, uint64_t* out) {
    uint64_t v = 0;
    if (doc[name].get_uint64().get(v) == simdjson::SUCCESS) *out = v;
  };
  get("contacts", &counters.contacts);
  get("merges", &counters.merges);
  get("accounts", &counters.accounts);
  get("activities", &counters.activities);
  get("duplicates", &counters.duplicates);
  return counters;
}

// `segmenta serve` on a data dir, as a child process on an ephemeral loopback port.
class ServerChild {
 public:
  // Starts the server and waits (up to `timeout`) for its "listening on http://HOST:PORT"
  // line; `ready` is when that line appeared (the identity graph is loaded by then).
  static absl::StatusOr<ServerChild> Start(const BenchOptions& options, const std::string& data_dir,
                                           const std::string& log_dir,
                                           absl::Duration timeout = absl::Minutes(10)) {
    ServerChild server;
    server.stdout_path_ = log_dir + "/serve.out";
    server.stderr_path_ = log_dir + "/serve.err";
    SpawnOptions spawn;
    spawn.stdout_path = server.stdout_path_;
    spawn.stderr_path = server.stderr_path_;
    absl::Time start = absl::Now();
    SEGMENTA_ASSIGN_OR_RETURN(ChildProcess child,
                              ChildProcess::Spawn({options.binary, "--data-dir", data_dir, "serve",
                                                   "--host", "127.0.0.1", "--port", "0"},
                                                  spawn));
    server.child_.emplace(std::move(child));
    absl::Time deadline = start + timeout;
    while (absl::Now() < deadline) {
      std::string out = ReadWholeFile(server.stdout_path_);
      size_t at = out.find("listening on http://");
      if (at != std::string::npos) {
        size_t end = out.find('\n', at);
        size_t colon = out.rfind(':', end);
        if (end != std::string::npos && colon != std::string::npos && colon > at + 20) {
          server.port_ = std::atoi(out.c_str() + colon + 1);
          server.startup_ = absl::Now() - start;
          return server;
        }
      }
      if (!server.child_->Running()) {
        return absl::InternalError(fmt::format("segmenta serve exited ({}) before listening: {}",
                                               DescribeWaitStatus(*server.child_->Wait()),
                                               TailOfFile(server.stderr_path_)));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return absl::DeadlineExceededError(
        fmt::format("segmenta serve did not report listening within {}: {}",
                    absl::FormatDuration(timeout), TailOfFile(server.stderr_path_)));
  }

  pid_t pid() const { return child_->pid(); }
  int port() const { return port_; }
  std::string url() const { return fmt::format("http://127.0.0.1:{}", port_); }
  absl::Duration startup() const { return startup_; }

  // Graceful stop (SIGTERM). Errors: Internal when it does not exit cleanly in time.
  absl::Status Stop() {
    int status = child_->Stop(SIGTERM, absl::Seconds(120));
    if (!ExitedCleanly(status)) {
      return absl::InternalError(fmt::format("segmenta serve stopped with {}: {}",
                                             DescribeWaitStatus(status), TailOfFile(stderr_path_)));
    }
    return absl::OkStatus();
  }

 private:
  ServerChild() = default;
  std::optional<ChildProcess> child_;
  std::string stdout_path_;
  std::string stderr_path_;
  int port_ = 0;
  absl::Duration startup_;
};

// One HTTP load, as the bench reports it.
struct IngestRun {
  double events_per_second = 0;
  double p50_ms = 0;
  double p99_ms = 0;
};

absl::StatusOr<IngestRun> PostLines(const std::string& url, const std::string& write_key,
                                    const std::vector<std::string>& lines, int connections,
                                    int batch_size);

// Checks that a stopped server's store holds every event sent: stored or recognized as a
// duplicate. Account-only group calls are not activities, so they may make up the
// difference.
std::string CheckStored(const StoreCounters& counters, uint64_t sent) {
  uint64_t seen = counters.activities + counters.duplicates;
  if (seen == sent) return "";
  return fmt::format(" (store holds {} activities + {} duplicates for {} sent)",
                     Grouped(counters.activities), Grouped(counters.duplicates), Grouped(sent));
}

absl::StatusOr<std::unique_ptr<PostgresPeer>> StartPeer(const BenchOptions& options) {
  PostgresPeerOptions peer_options;
  peer_options.bin_dir = options.postgres_bin_dir;
  peer_options.temp_parent = TempParent(options);
  Note("starting a throwaway PostgreSQL cluster");
  SEGMENTA_ASSIGN_OR_RETURN(std::unique_ptr<PostgresPeer> peer, PostgresPeer::Start(peer_options));
  SEGMENTA_ASSIGN_OR_RETURN(std::string fsync, peer->Setting("fsync"));
  SEGMENTA_ASSIGN_OR_RETURN(std::string sync_commit, peer->Setting("synchronous_commit"));
  SEGMENTA_ASSIGN_OR_RETURN(std::string wal_sync, peer->Setting("wal_sync_method"));
  SEGMENTA_ASSIGN_OR_RETURN(std::string buffers, peer->Setting("shared_buffers"));
  fmt::print(
      "  peer: {}\n        fsync={} synchronous_commit={} wal_sync_method={} "
      "shared_buffers={}\n",
      peer->version(), fsync, sync_commit, wal_sync, buffers);
  if (fsync != "on" || sync_commit != "on") {
    return absl::FailedPreconditionError(
        "the PostgreSQL peer must run with fsync and "
        "synchronous_commit on");
  }
  return peer;
}

}  // namespace

// -----------------------------------------------------------------------------------------
// ingest

absl::StatusOr<WorkloadResult> RunIngestBench(const BenchOptions& options) {
  const uint64_t events = options.events.value_or(1'000'000);
  Note("generating {} events in memory", Grouped(events));
  GeneratedLines data = GenerateLines(events, options.seed);
  WorkloadResult result;
  result.workload = "ingest";
  result.data =
      fmt::format("{} events, {} contacts", Grouped(data.lines.size()), Grouped(data.contacts));
  result.goal = "≥ 100,000 events/s, ≥ 10× PostgreSQL";
  fmt::print(
      "\ningest: {} events ({} generated contacts, {} of JSONL), POST /v1/batch of {} "
      "on loopback, {} connections, fsync'd before each 2xx\n",
      Grouped(data.lines.size()), Grouped(data.contacts), Bytes(data.bytes), options.batch_size,
      options.connections);
  std::fflush(stdout);

  std::unique_ptr<PostgresPeer> peer;
  if (options.peer) {
    SEGMENTA_ASSIGN_OR_RETURN(peer, StartPeer(options));
  }
  std::vector<double> ours, theirs, our_p50, our_p99, their_p50, their_p99;
  std::vector<double> http_ceiling, log_ceiling;
  for (int r = 1; r <= options.repeats; ++r) {
    SEGMENTA_ASSIGN_OR_RETURN(TempDir dir, TempDir::Create(TempParent(options), "ingest"));
    std::string data_dir = dir.path() + "/data";
    SEGMENTA_ASSIGN_OR_RETURN(std::string key, CreateWriteKey(data_dir));
    SEGMENTA_ASSIGN_OR_RETURN(ServerChild server,
                              ServerChild::Start(options, data_dir, dir.path()));
    absl::StatusOr<IngestRun> run =
        PostLines(server.url(), key, data.lines, options.connections, options.batch_size);
    absl::Status stopped = server.Stop();
    if (!run.ok()) return run.status();
    SEGMENTA_RETURN_IF_ERROR(stopped);
    SEGMENTA_ASSIGN_OR_RETURN(StoreCounters counters, ReadCounters(data_dir));
    ours.push_back(run->events_per_second);
    our_p50.push_back(run->p50_ms);
    our_p99.push_back(run->p99_ms);
    fmt::print(
        "  run {}  segmenta    {:>18}  batch p50 {:6.2f} ms  p99 {:6.2f} ms  "
        "load avg {}{}\n",
        r, Rate(run->events_per_second), run->p50_ms, run->p99_ms, LoadAverage(),
        CheckStored(counters, data.lines.size()));
    std::fflush(stdout);
    // The same load against servers that do only part of the work (workloads/ceiling.h).
    for (CeilingKind kind : {CeilingKind::kHttp, CeilingKind::kValidateAndSync}) {
      SEGMENTA_ASSIGN_OR_RETURN(
          std::unique_ptr<CeilingServer> ceiling,
          CeilingServer::Start(kind, dir.path() + "/ceiling.log", HttpServerOptions{}.io_threads));
      SEGMENTA_ASSIGN_OR_RETURN(IngestRun c, PostLines(ceiling->url(), key, data.lines,
                                                       options.connections, options.batch_size));
      const bool http = kind == CeilingKind::kHttp;
      (http ? http_ceiling : log_ceiling).push_back(c.events_per_second);
      const double seconds = static_cast<double>(data.lines.size()) / c.events_per_second;
      fmt::print("  run {}  {:<24}  {:>18}  batch p50 {:6.2f} ms  p99 {:6.2f} ms{}\n", r,
                 http ? "ceiling: http only" : "ceiling: validate+fsync", Rate(c.events_per_second),
                 c.p50_ms, c.p99_ms,
                 http ? ""
                      : fmt::format("  log {:.0f} MB/s",
                                    static_cast<double>(ceiling->synced_bytes()) / 1e6 / seconds));
      std::fflush(stdout);
    }
    if (peer != nullptr) {
      SEGMENTA_RETURN_IF_ERROR(peer->ResetEventsTable());
      SEGMENTA_ASSIGN_OR_RETURN(
          PeerLoadReport pg,
          peer->InsertBatched(data.lines, options.connections, options.batch_size));
      theirs.push_back(pg.events_per_second);
      their_p50.push_back(pg.p50_ms);
      their_p99.push_back(pg.p99_ms);
      fmt::print(
          "  run {}  postgresql  {:>18}  batch p50 {:6.2f} ms  p99 {:6.2f} ms  "
          "load avg {}{}\n",
          r, Rate(pg.events_per_second), pg.p50_ms, pg.p99_ms, LoadAverage(),
          pg.events == data.lines.size()
              ? ""
              : fmt::format(" ({} rows for {} lines)", Grouped(pg.events),
                            Grouped(data.lines.size())));
      std::fflush(stdout);
    }
  }
  if (peer != nullptr) SEGMENTA_RETURN_IF_ERROR(peer->Stop());

  result.segmenta = Rate(Median(ours));
  fmt::print("  median    segmenta    {:>18}  batch p50 {:6.2f} ms  p99 {:6.2f} ms  (runs: {})\n",
             result.segmenta, Median(our_p50), Median(our_p99), Runs(ours));
  if (!theirs.empty()) {
    result.peer = Rate(Median(theirs));
    result.ratio = Ratio(Median(ours), Median(theirs));
    fmt::print("  median    postgresql  {:>18}  batch p50 {:6.2f} ms  p99 {:6.2f} ms  (runs: {})\n",
               result.peer, Median(their_p50), Median(their_p99), Runs(theirs));
    fmt::print("  ratio     segmenta / postgresql = {}\n", result.ratio);
  }
  fmt::print("  median    {:<24}  {:>18}  (runs: {})\n", "ceiling: http only",
             Rate(Median(http_ceiling)), Runs(http_ceiling));
  fmt::print("  median    {:<24}  {:>18}  (runs: {})\n", "ceiling: validate+fsync",
             Rate(Median(log_ceiling)), Runs(log_ceiling));
  fmt::print("  ceiling   segmenta reaches {:.0f} % of the validate+fsync ceiling{}\n",
             100 * Median(ours) / Median(log_ceiling),
             theirs.empty() ? ""
                            : fmt::format("; the ceiling is {} postgresql",
                                          Ratio(Median(log_ceiling), Median(theirs))));
  return result;
}

// -----------------------------------------------------------------------------------------
// import

absl::StatusOr<WorkloadResult> RunImportBench(const BenchOptions& options) {
  const uint64_t events = options.events.value_or(10'000'000);
  SEGMENTA_ASSIGN_OR_RETURN(TempDir work, TempDir::Create(TempParent(options), "import"));
  std::string file = work.path() + "/events.jsonl";
  Note("writing {} generated events to {}", Grouped(events), file);
  SEGMENTA_ASSIGN_OR_RETURN(GeneratedFile data, GenerateFile(file, events, 0, options.seed));
  WorkloadResult result;
  result.workload = "import";
  result.data = fmt::format("{} events, {} contacts", Grouped(data.events), Grouped(data.contacts));
  result.goal = "≥ 500,000 events/s";
  fmt::print(
      "\nimport: {} events ({} generated contacts, {} of JSONL), segmenta import "
      "activities FILE into a fresh data dir; peer: one COPY FROM STDIN\n",
      Grouped(data.events), Grouped(data.contacts), Bytes(data.bytes));
  std::fflush(stdout);

  std::unique_ptr<PostgresPeer> peer;
  if (options.peer) {
    SEGMENTA_ASSIGN_OR_RETURN(peer, StartPeer(options));
  }
  std::vector<double> ours, theirs;
  for (int r = 1; r <= options.repeats; ++r) {
    SEGMENTA_ASSIGN_OR_RETURN(TempDir dir, TempDir::Create(TempParent(options), "import-data"));
    std::string data_dir = dir.path() + "/data";
    SEGMENTA_ASSIGN_OR_RETURN(ImportRun import, RunImport(options, data_dir, file, dir.path()));
    const absl::Duration elapsed = import.elapsed;
    SEGMENTA_ASSIGN_OR_RETURN(StoreCounters counters, ReadCounters(data_dir));
    double rate = static_cast<double>(data.events) / absl::ToDoubleSeconds(elapsed);
    ours.push_back(rate);
    fmt::print(
        "  run {}  segmenta    {:>18}  {:7.1f} s  {:6.1f} MiB/s  store {}  max RSS {}  load avg "
        "{}{}\n",
        r, Rate(rate), absl::ToDoubleSeconds(elapsed),
        static_cast<double>(data.bytes) / (1 << 20) / absl::ToDoubleSeconds(elapsed),
        Bytes(DirBytes(data_dir)), Bytes(import.max_rss_bytes), LoadAverage(),
        CheckStored(counters, data.events));
    std::fflush(stdout);
    if (peer != nullptr) {
      SEGMENTA_RETURN_IF_ERROR(peer->ResetEventsTable());
      SEGMENTA_ASSIGN_OR_RETURN(PeerLoadReport pg, peer->CopyFile(file));
      SEGMENTA_ASSIGN_OR_RETURN(uint64_t table_bytes, peer->EventsTableBytes());
      theirs.push_back(pg.events_per_second);
      fmt::print("  run {}  postgresql  {:>18}  {:7.1f} s  {:6.1f} MiB/s  table {}  load avg {}\n",
                 r, Rate(pg.events_per_second), absl::ToDoubleSeconds(pg.elapsed),
                 static_cast<double>(data.bytes) / (1 << 20) / absl::ToDoubleSeconds(pg.elapsed),
                 Bytes(table_bytes), LoadAverage());
      std::fflush(stdout);
    }
  }
  if (peer != nullptr) SEGMENTA_RETURN_IF_ERROR(peer->Stop());
  result.segmenta = Rate(Median(ours));
  fmt::print("  median    segmenta    {:>18}  (runs: {})\n", result.segmenta, Runs(ours));
  if (!theirs.empty()) {
    result.peer = Rate(Median(theirs));
    result.ratio = Ratio(Median(ours), Median(theirs));
    fmt::print("  median    postgresql  {:>18}  (runs: {})\n", result.peer, Runs(theirs));
    fmt::print("  ratio     segmenta / postgresql = {}\n", result.ratio);
  }
  return result;
}

// -----------------------------------------------------------------------------------------
// memory

absl::StatusOr<WorkloadResult> RunMemoryBench(const BenchOptions& options) {
  const uint64_t contacts = options.contacts.value_or(1'000'000);
  SEGMENTA_ASSIGN_OR_RETURN(TempDir work, TempDir::Create(TempParent(options), "memory"));
  SEGMENTA_ASSIGN_OR_RETURN(ImportedTraffic imported,
                            ImportGeneratedTraffic(options, work.path(), contacts));
  const GeneratedFile& data = imported.data;
  const std::string& data_dir = imported.data_dir;
  const absl::Duration import_time = imported.elapsed;
  SEGMENTA_ASSIGN_OR_RETURN(StoreCounters counters, ReadCounters(data_dir));
  if (counters.contacts == 0) return absl::InternalError("the import stored no contacts");
  const uint64_t disk = DirBytes(data_dir);

  WorkloadResult result;
  result.workload = "memory";
  result.data =
      fmt::format("{} contacts ({} events)", Grouped(counters.contacts), Grouped(data.events));
  fmt::print(
      "\nmemory: traffic of {} generated contacts, {} events ({} of JSONL), imported in "
      "{:.1f} s; the store holds {} contacts ({} merged away), {} accounts, {} "
      "activities\n",
      Grouped(data.contacts), Grouped(data.events), Bytes(data.bytes),
      absl::ToDoubleSeconds(import_time), Grouped(counters.contacts), Grouped(counters.merges),
      Grouped(counters.accounts), Grouped(counters.activities));
  std::fflush(stdout);

  // The server's fixed cost, on an empty data dir.
  std::vector<double> empty_rss;
  {
    SEGMENTA_ASSIGN_OR_RETURN(TempDir empty, TempDir::Create(TempParent(options), "empty"));
    SEGMENTA_ASSIGN_OR_RETURN(ServerChild server,
                              ServerChild::Start(options, empty.path() + "/data", empty.path()));
    std::this_thread::sleep_for(std::chrono::seconds(1));
    SEGMENTA_ASSIGN_OR_RETURN(uint64_t rss, ReadProcStatusBytes(server.pid(), "VmRSS"));
    empty_rss.push_back(static_cast<double>(rss));
    SEGMENTA_RETURN_IF_ERROR(server.Stop());
  }
  std::vector<double> rss_runs, startup_runs;
  for (int r = 1; r <= options.repeats; ++r) {
    SEGMENTA_ASSIGN_OR_RETURN(ServerChild server,
                              ServerChild::Start(options, data_dir, work.path()));
    // Let start-up work that follows the listening line settle before reading.
    std::this_thread::sleep_for(std::chrono::seconds(2));
    SEGMENTA_ASSIGN_OR_RETURN(uint64_t rss, ReadProcStatusBytes(server.pid(), "VmRSS"));
    SEGMENTA_ASSIGN_OR_RETURN(uint64_t hwm, ReadProcStatusBytes(server.pid(), "VmHWM"));
    SEGMENTA_RETURN_IF_ERROR(server.Stop());
    rss_runs.push_back(static_cast<double>(rss));
    startup_runs.push_back(absl::ToDoubleSeconds(server.startup()));
    fmt::print(
        "  run {}  segmenta serve  RSS {}  (peak {}), {:.0f} B/contact, ready in "
        "{:.1f} s  load avg {}\n",
        r, Bytes(rss), Bytes(hwm), static_cast<double>(rss) / counters.contacts,
        absl::ToDoubleSeconds(server.startup()), LoadAverage());
    std::fflush(stdout);
  }
  double rss = Median(rss_runs);
  double per_contact = rss / counters.contacts;
  double marginal = (rss - empty_rss[0]) / counters.contacts;
  result.segmenta = fmt::format("{:.0f} B/contact RSS ({:.0f} B/contact on disk)", per_contact,
                                static_cast<double>(disk) / counters.contacts);
  fmt::print(
      "  median    RSS {} = {:.0f} B/contact; minus the empty server's {} = {:.0f} "
      "B/contact\n",
      Bytes(rss), per_contact, Bytes(empty_rss[0]), marginal);
  fmt::print("  disk      data dir {} = {:.0f} B/contact\n", Bytes(disk),
             static_cast<double>(disk) / counters.contacts);
  fmt::print("  start-up  {:.1f} s until listening (median)\n", Median(startup_runs));
  return result;
}

// -----------------------------------------------------------------------------------------
// The HTTP loader adapter

namespace {

absl::StatusOr<IngestRun> PostLines(const std::string& url, const std::string& write_key,
                                    const std::vector<std::string>& lines, int connections,
                                    int batch_size) {
  HttpLoadOptions load;
  load.url = url;
  load.write_key = write_key;
  load.connections = connections;
  load.batch_messages = static_cast<size_t>(batch_size);
  load.max_attempts = 1;  // a benchmark reports failures, it does not hide them
  SEGMENTA_ASSIGN_OR_RETURN(std::unique_ptr<HttpLoader> loader, HttpLoader::Start(load));
  for (size_t i = 0; i < lines.size(); ++i) {
    SEGMENTA_RETURN_IF_ERROR(loader->Add(lines[i], static_cast<int64_t>(i + 1)));
  }
  SEGMENTA_ASSIGN_OR_RETURN(HttpLoadReport report, loader->Finish());
  if (report.rejected_messages > 0) {
    return absl::InternalError(fmt::format("the server refused {} messages, e.g. line {}: {}",
                                           report.rejected_messages, report.rejected[0].line,
                                           report.rejected[0].reason));
  }
  IngestRun run;
  run.events_per_second =
      static_cast<double>(report.messages) / absl::ToDoubleSeconds(report.elapsed);
  run.p50_ms = report.p50_ms;
  run.p99_ms = report.p99_ms;
  return run;
}

}  // namespace

}  // namespace segmenta
