// `segmenta-bench keep-current` and `segmenta-bench recompute`: the cost of contact groups,
// in process, on generated traffic.
#include <sys/resource.h>

#include <cstdio>
#include <fstream>
#include <set>

#include "collect/parser.h"
#include "core/status.h"
#include "core/time_format.h"
#include "eval/batch.h"
#include "eval/schema.h"
#include "gen/traffic.h"
#include "segments/engine.h"
#include "simdjson.h"
#include "tests/testing/example_groups.h"
#include "tools/bench/harness/harness.h"
#include "tools/bench/peers/duckdb.h"
#include "tools/bench/workloads/workloads.h"

namespace segmenta {
namespace {

// 100 groups from the brief's twelve: the same conditions with other thresholds and
// windows, as a shop accumulates them.
std::vector<std::pair<std::string, std::string>> HundredGroups() {
  std::vector<std::pair<std::string, std::string>> out;
  for (const ExampleGroup& g : kBriefGroups) out.emplace_back(g.name, g.condition);
  int i = 0;
  while (out.size() < 100) {
    ++i;
    const int n = i % 5 + 1;
    const int days = 7 * (i % 8 + 1);
    std::vector<std::string> variants = {
        fmt::format("count(\"Product Viewed\" within last {} days) >= {}", days, n),
        fmt::format("count(page where path starts_with \"/products\" within last {} days) >= {}",
                    days, n * 3),
        fmt::format("sum(\"Order Completed\".revenue within last {} days) > {}", days * 3, n * 100),
        fmt::format("last(\"Product Added\") older than {} hours and "
                    "count(\"Order Completed\" since last(\"Product Added\")) = 0",
                    n * 6),
        fmt::format("age between {} and {} and did \"Order Completed\"", 18 + n * 5, 30 + n * 8),
        fmt::format("count(\"Email Opened\" within last {} days) >= {}", days, n),
        fmt::format("did \"Products Searched\" within last {} days and not did \"Product Added\"",
                    days),
        fmt::format("any account (employees >= {})", n * 40),
    };
    out.emplace_back(fmt::format("Variant {}", i), variants[i % variants.size()]);
  }
  return out;
}

}  // namespace

// ---------------------------------------------------------------------------------------
// keep-current

absl::StatusOr<WorkloadResult> RunKeepCurrentBench(const BenchOptions& options) {
  const uint64_t contacts = options.contacts.value_or(20'000);
  WorkloadResult result;
  result.workload = "keep-current";
  result.goal = "≤ 5 µs mean per event";
  TrafficOptions traffic;
  FakeClock clock(traffic.end);
  Note("generating the traffic of {} contacts", Grouped(contacts));
  std::vector<Message> messages = GeneratedMessages(contacts, options.seed, clock.Now());
  const auto groups = HundredGroups();
  fmt::print(
      "\nkeep-current: {} messages of {} generated contacts; the first half loaded, then "
      "{} dynamic groups defined, then the second half ingested; the cost of keeping "
      "the groups current, per ingested event\n",
      Grouped(messages.size()), Grouped(contacts), groups.size());
  std::vector<double> means, p50s, p99s, evals;
  for (int r = 1; r <= options.repeats; ++r) {
    SEGMENTA_ASSIGN_OR_RETURN(TempDir dir, TempDir::Create(TempParent(options), "keep-current"));
    StoreOptions store_options;
    store_options.disable_wal = true;  // measured: the groups, not the disk
    SEGMENTA_ASSIGN_OR_RETURN(std::unique_ptr<Store> store,
                              Store::Open(dir.path() + "/data", store_options));
    WorkerOptions worker_options;
    worker_options.durable = false;
    SEGMENTA_ASSIGN_OR_RETURN(std::unique_ptr<Worker> worker,
                              Worker::Start(store.get(), worker_options, &clock));
    SEGMENTA_ASSIGN_OR_RETURN(std::unique_ptr<AudienceEngine> engine,
                              AudienceEngine::Start(store.get(), worker.get(), &clock));
    const size_t half = messages.size() / 2;
    auto ingest = [&](size_t from, size_t to) -> absl::Status {
      for (size_t i = from; i < to; i += 500) {
        std::vector<Message> batch(messages.begin() + i, messages.begin() + std::min(to, i + 500));
        SEGMENTA_RETURN_IF_ERROR(worker->SubmitAndWait(std::move(batch)).status());
      }
      return absl::OkStatus();
    };
    SEGMENTA_RETURN_IF_ERROR(ingest(0, half));
    for (const auto& [name, condition] : groups) {
      GroupDefinition def;
      def.name = name;
      def.condition = condition;
      SEGMENTA_RETURN_IF_ERROR(engine->groups().Create(def).status());
    }
    engine->ResetKeepCurrentStats();
    absl::Time start = absl::Now();
    SEGMENTA_RETURN_IF_ERROR(ingest(half, messages.size()));
    absl::Duration elapsed = absl::Now() - start;
    KeepCurrentStats stats = engine->keep_current_stats();
    std::vector<uint32_t>& samples = stats.per_activity_nanos;
    std::sort(samples.begin(), samples.end());
    auto percentile = [&](double p) {
      return samples.empty() ? 0.0 : samples[static_cast<size_t>(p * (samples.size() - 1))] / 1e3;
    };
    const double mean = stats.activities == 0 ? 0 : stats.nanos / 1e3 / stats.activities;
    means.push_back(mean);
    p50s.push_back(percentile(0.5));
    p99s.push_back(percentile(0.99));
    evals.push_back(stats.activities == 0 ? 0
                                          : static_cast<double>(stats.evaluations) /
                                                static_cast<double>(stats.activities));
    fmt::print(
        "  run {}  {:.2f} µs mean per event (p50 {:.2f} µs, p99 {:.2f} µs per event of a "
        "contact's change), {:.1f} group evaluations per event, {} events in {:.2f} s "
        "({}), {} memberships bitmaps {}  load avg {}\n",
        r, mean, percentile(0.5), percentile(0.99), evals.back(), Grouped(stats.activities),
        absl::ToDoubleSeconds(elapsed),
        Rate(static_cast<double>(messages.size() - half) / absl::ToDoubleSeconds(elapsed)),
        groups.size(), Bytes(static_cast<double>(engine->MembershipBytes())), LoadAverage());
    std::fflush(stdout);
  }
  result.data = fmt::format("{} groups, {} contacts, {} events", groups.size(), Grouped(contacts),
                            Grouped(messages.size()));
  result.segmenta = fmt::format("{:.2f} µs/event (p99 {:.2f} µs)", Median(means), Median(p99s));
  fmt::print(
      "  median    {:.2f} µs mean per event, p50 {:.2f} µs, p99 {:.2f} µs; {:.1f} "
      "evaluations per event\n",
      Median(means), Median(p50s), Median(p99s), Median(evals));
  return result;
}

// ---------------------------------------------------------------------------------------
// recompute

namespace {

struct PeerRun {
  std::vector<double> ms;
  uint64_t count = 0;
};

}  // namespace

absl::StatusOr<WorkloadResult> RunRecomputeBench(const BenchOptions& options) {
  const uint64_t contacts = options.contacts.value_or(1'000'000);
  WorkloadResult result;
  result.workload = "recompute";
  result.goal = "≥ 3× DuckDB new, ≥ 50× with aggregates";
  SEGMENTA_ASSIGN_OR_RETURN(TempDir work, TempDir::Create(TempParent(options), "recompute"));
  SEGMENTA_ASSIGN_OR_RETURN(ImportedTraffic imported,
                            ImportGeneratedTraffic(options, work.path(), contacts));
  const GeneratedFile& data = imported.data;
  const std::string& data_dir = imported.data_dir;
  const absl::Duration import_time = imported.elapsed;
  Note("imported in {:.1f} s ({}); loading the profile table", absl::ToDoubleSeconds(import_time),
       Rate(static_cast<double>(data.events) / absl::ToDoubleSeconds(import_time)));

  StoreOptions store_options;
  store_options.read_only = true;
  SEGMENTA_ASSIGN_OR_RETURN(std::unique_ptr<Store> store, Store::Open(data_dir, store_options));
  ProfileTable profiles;
  absl::Time load_start = absl::Now();
  SEGMENTA_RETURN_IF_ERROR(profiles.Load(*store));
  const double load_seconds = absl::ToDoubleSeconds(absl::Now() - load_start);
  store.reset();
  Schema schema = SchemaOf(profiles);
  for (const ExampleGroup& g : kBriefGroups) schema.definitions[std::string(g.name)] = {};
  TrafficOptions traffic;
  const Millis now = ToMillis(traffic.end);
  result.data = fmt::format("{} contacts, {} events", Grouped(profiles.alive_contacts()),
                            Grouped(data.events));
  fmt::print(
      "\nrecompute: {} contacts, {} events ({} generated contacts; import {:.0f} s, "
      "profile table loaded in {:.1f} s, {} in memory, peak RSS {}); each brief group "
      "evaluated over every contact, at {}\n",
      Grouped(profiles.alive_contacts()), Grouped(data.events), Grouped(contacts),
      absl::ToDoubleSeconds(import_time), load_seconds,
      Bytes(static_cast<double>(profiles.MemoryBytes())),
      Bytes(static_cast<double>(PeakRssBytes())), FormatTimestamp(traffic.end));
  std::fflush(stdout);

  // The peer: same data, same conditions in SQL.
  std::map<std::string, PeerRun> peer;
  if (options.peer) {
    Note("writing the data as CSV for DuckDB");
    SEGMENTA_RETURN_IF_ERROR(WritePeerCsv(profiles, work.path()));
    SEGMENTA_ASSIGN_OR_RETURN(
        std::vector<std::string> lines,
        RunNodePeer("duckdb_groups.mjs",
                    {work.path(), std::to_string(now), std::to_string(options.repeats)},
                    work.path()));
    simdjson::dom::parser parser;
    for (const std::string& line : lines) {
      simdjson::dom::element doc;
      if (parser.parse(line).get(doc) != simdjson::SUCCESS) continue;
      PeerRun run;
      for (simdjson::dom::element ms : simdjson::dom::array(doc["ms"]))
        run.ms.push_back(double(ms));
      run.count = uint64_t(doc["count"]);
      peer[std::string(std::string_view(doc["name"]))] = run;
    }
    if (peer.contains("(load)")) {
      fmt::print("  duckdb loaded the CSV in {:.1f} s\n", peer["(load)"].ms[0] / 1000);
    }
  }

  fmt::print("  {:<26} {:>9} {:>12} {:>12} {:>12} {:>9} {:>9}\n", "group", "members", "new (ms)",
             "cached (ms)", "duckdb (ms)", "new ×", "cached ×");
  double total_new = 0, total_cached = 0, total_peer = 0;
  absl::flat_hash_map<std::string, Roaring> members;
  bool agree = true;
  for (const ExampleGroup& g : kBriefGroups) {
    auto plan = Plan::CompileText(g.condition, schema);
    if (!plan.ok()) return plan.status();
    EvalEnv env;
    env.now = now;
    env.group_members = [&](std::string_view name) -> const Roaring* {
      auto it = members.find(std::string(name));
      return it == members.end() ? nullptr : &it->second;
    };
    std::vector<double> fresh, cached;
    Roaring out;
    AggregateCache cache;
    for (int r = 0; r < options.repeats; ++r) {
      AggregateCache cold;
      absl::Time t0 = absl::Now();
      env.overall = OverallValues(**plan, profiles, now);
      out = EvaluateAll(**plan, profiles, env, &cold);
      fresh.push_back(absl::ToDoubleMilliseconds(absl::Now() - t0));
    }
    EvaluateAll(**plan, profiles, env, &cache);  // the aggregates now exist
    for (int r = 0; r < options.repeats; ++r) {
      absl::Time t0 = absl::Now();
      out = EvaluateAll(**plan, profiles, env, &cache);
      cached.push_back(absl::ToDoubleMilliseconds(absl::Now() - t0));
    }
    members[std::string(g.name)] = out;
    const double f = Median(fresh), c = Median(cached);
    total_new += f;
    total_cached += c;
    auto it = peer.find(std::string(g.name));
    double p = it != peer.end() ? Median(it->second.ms) : 0;
    total_peer += p;
    std::string check;
    if (it != peer.end() && it->second.count != out.cardinality()) {
      agree = false;
      check = fmt::format("  (DuckDB counts {})", Grouped(it->second.count));
    }
    fmt::print("  {:<26} {:>9} {:>12.1f} {:>12.2f} {:>12.1f} {:>9} {:>9}{}\n", g.name,
               Grouped(out.cardinality()), f, c, p, p > 0 ? Ratio(p, f) : "-",
               p > 0 ? Ratio(p, c) : "-", check);
    std::fflush(stdout);
  }
  fmt::print("  {:<26} {:>9} {:>12.1f} {:>12.2f} {:>12.1f} {:>9} {:>9}\n", "total", "", total_new,
             total_cached, total_peer, total_peer > 0 ? Ratio(total_peer, total_new) : "-",
             total_peer > 0 ? Ratio(total_peer, total_cached) : "-");
  if (!peer.empty()) {
    fmt::print("  members agree with DuckDB: {}\n", agree ? "yes, every group" : "NO");
  }

  // Memberships of 100 groups over these contacts.
  size_t bitmap_bytes = 0;
  for (const auto& [name, condition] : HundredGroups()) {
    auto plan = Plan::CompileText(condition, schema);
    if (!plan.ok()) continue;
    EvalEnv env;
    env.now = now;
    env.group_members = [&](std::string_view n) -> const Roaring* {
      auto it = members.find(std::string(n));
      return it == members.end() ? nullptr : &it->second;
    };
    env.overall = OverallValues(**plan, profiles, now);
    bitmap_bytes += EvaluateAll(**plan, profiles, env).getSizeInBytes();
  }
  fmt::print(
      "  memberships of 100 groups over {} contacts: {} of roaring bitmaps ({:.1f} bytes "
      "per contact)\n",
      Grouped(profiles.alive_contacts()), Bytes(static_cast<double>(bitmap_bytes)),
      static_cast<double>(bitmap_bytes) / static_cast<double>(profiles.alive_contacts()));

  result.segmenta = fmt::format("{:.0f} ms new, {:.1f} ms cached", total_new, total_cached);
  if (total_peer > 0) {
    result.peer = fmt::format("{:.0f} ms", total_peer);
    result.ratio = fmt::format("{} new, {} cached", Ratio(total_peer, total_new),
                               Ratio(total_peer, total_cached));
  }
  return result;
}

}  // namespace segmenta
