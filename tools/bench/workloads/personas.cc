// `segmenta-bench personas`: 20 buyer personas of 10 rules each, computed over every
// contact (side by side with DuckDB computing the same scores and assignment in SQL) and
// kept current on each ingested event.
#include <fstream>

#include "absl/strings/str_join.h"
#include "core/status.h"
#include "core/time_format.h"
#include "gen/traffic.h"
#include "segments/engine.h"
#include "simdjson.h"
#include "tools/bench/harness/harness.h"
#include "tools/bench/peers/duckdb.h"
#include "tools/bench/workloads/workloads.h"

namespace segmenta {
namespace {

constexpr Millis kDay = 86400000;
constexpr const char* kCategories[] = {"fashion", "electronics", "running", "cycling",
                                       "food",    "books",       "home",    "outdoor"};
constexpr const char* kJobs[] = {"Engineer", "Manager", "Designer", "Sales", "Teacher"};
constexpr const char* kCountries[][3] = {
    {"ES", "PT", "IT"}, {"DE", "AT", "NL"}, {"FR", "BE", "IE"}, {"US", "CA", "GB"}};

// A persona and its score as SQL over the peer's tables (c: contacts, a: per-contact
// activity counts named a{persona}_{rule}).
struct BenchPersona {
  ScoreDefinition definition;
  std::string score_sql;               // the points of one contact
  std::vector<std::string> count_sql;  // the FILTER of each activity count
};

std::string SqlCount(const std::string& name, double points, double cap) {
  std::string n = fmt::format("coalesce(a.{}, 0)", name);
  std::string v = fmt::format("({} * {})", points, n);
  if (cap > 0) v = fmt::format("greatest(-{0}, least({0}, {1}))", cap, v);
  return v;
}

// Ten rules per persona, of every kind, from templates whose parameters vary by persona.
std::vector<BenchPersona> TwentyPersonas(Millis now) {
  std::vector<BenchPersona> out;
  for (int i = 0; i < 20; ++i) {
    BenchPersona p;
    ScoreDefinition& d = p.definition;
    d.name = fmt::format("Persona {:02}", i + 1);
    d.persona = true;
    d.threshold = 10 + 5 * (i % 4);
    const std::string cat = kCategories[i % 8], other = kCategories[(i + 3) % 8];
    const int age = 20 + 5 * (i % 8);
    const std::string job = kJobs[i % 5];
    const auto& countries = kCountries[i % 4];
    const char* gender = i % 2 == 0 ? "female" : "male";
    std::vector<std::string> terms;
    int counts = 0;
    auto attribute = [&](std::string condition, std::string sql, double points) {
      d.rules.push_back({ScoreRule::Kind::kAttribute, std::move(condition), points, 0, 0});
      terms.push_back(fmt::format("(CASE WHEN {} THEN {} ELSE 0 END)", sql, points));
    };
    auto macro = [&](std::string condition, std::string filter, double points) {
      d.rules.push_back({ScoreRule::Kind::kMacro, std::move(condition), points, 0, 0});
      std::string name = fmt::format("a{}_{}", i, counts++);
      p.count_sql.push_back(fmt::format("count(*) FILTER (WHERE {}) AS {}", filter, name));
      terms.push_back(
          fmt::format("(CASE WHEN coalesce(a.{}, 0) > 0 THEN {} ELSE 0 END)", name, points));
    };
    auto activity = [&](std::string selector, std::string filter, double points, Millis within,
                        double cap) {
      d.rules.push_back({ScoreRule::Kind::kActivity, std::move(selector), points, within, cap});
      if (within > 0) filter += fmt::format(" AND ts BETWEEN {} AND {}", now - within, now);
      std::string name = fmt::format("a{}_{}", i, counts++);
      p.count_sql.push_back(fmt::format("count(*) FILTER (WHERE {}) AS {}", filter, name));
      terms.push_back(SqlCount(name, points, cap));
    };
    attribute(fmt::format("age between {} and {}", age, age + 15),
              fmt::format("c.age BETWEEN {} AND {}", age, age + 15), 5);
    attribute(fmt::format("gender = \"{}\"", gender), fmt::format("c.gender = '{}'", gender), 3);
    attribute(
        fmt::format("country in [\"{}\", \"{}\", \"{}\"]", countries[0], countries[1],
                    countries[2]),
        fmt::format("c.country IN ('{}', '{}', '{}')", countries[0], countries[1], countries[2]),
        4);
    attribute(fmt::format("job_title contains \"{}\"", job),
              fmt::format("contains(c.job_title, '{}')", job), 6);
    attribute("newsletter = true", "c.newsletter", 2);
    activity(fmt::format("\"Product Viewed\" where category = \"{}\"", cat),
             fmt::format("event = 'Product Viewed' AND category = '{}'", cat), 2, 90 * kDay, 20);
    activity(fmt::format("\"Product Added\" where category = \"{}\"", cat),
             fmt::format("event = 'Product Added' AND category = '{}'", cat), 5, 0, 25);
    activity(fmt::format("page where path starts_with \"/category/{}\"", cat),
             fmt::format("kind = 'page' AND starts_with(path, '/category/{}')", cat), 1, 30 * kDay,
             10);
    macro("did \"Order Completed\" within last 180 days",
          fmt::format("event = 'Order Completed' AND ts BETWEEN {} AND {}", now - 180 * kDay, now),
          10);
    activity(fmt::format("\"Product Viewed\" where category = \"{}\"", other),
             fmt::format("event = 'Product Viewed' AND category = '{}'", other), -1, 0, 10);
    p.score_sql = absl::StrJoin(terms, " + ");
    out.push_back(std::move(p));
  }
  return out;
}

// Every persona's score, each contact's persona (highest score ÷ threshold among those
// reached, ties to the first), and the members per persona.
std::string PersonasSql(const std::vector<BenchPersona>& personas) {
  std::vector<std::string> counts, scores, thresholds, names;
  for (size_t i = 0; i < personas.size(); ++i) {
    for (const std::string& c : personas[i].count_sql) counts.push_back(c);
    scores.push_back(fmt::format("({}) AS s{}", personas[i].score_sql, i));
    names.push_back(fmt::format("s{}", i));
    thresholds.push_back(fmt::format("{}", personas[i].definition.threshold));
  }
  return fmt::format(
      "WITH a AS (SELECT contact, {} FROM events GROUP BY contact),\n"
      "s AS (SELECT c.contact, {} FROM contacts c LEFT JOIN a USING (contact)),\n"
      "u AS (SELECT contact, unnest([{}]) AS score, unnest(range({})) AS idx, "
      "unnest([{}]) AS threshold FROM s),\n"
      "r AS (SELECT contact, idx, row_number() OVER (PARTITION BY contact ORDER BY "
      "score / threshold DESC, idx) AS rank FROM u WHERE score >= threshold)\n"
      "SELECT idx, count(*) FROM r WHERE rank = 1 GROUP BY idx ORDER BY idx",
      absl::StrJoin(counts, ",\n  "), absl::StrJoin(scores, ",\n  "), absl::StrJoin(names, ", "),
      personas.size(), absl::StrJoin(thresholds, ", "));
}

// Opens a store with the engine on `clock`: what `segmenta serve` runs.
struct Engine {
  std::unique_ptr<Store> store;
  std::unique_ptr<Worker> worker;
  std::unique_ptr<AudienceEngine> engine;
};

absl::StatusOr<Engine> OpenEngine(const std::string& dir, Clock* clock, bool durable) {
  Engine e;
  StoreOptions store_options;
  store_options.disable_wal = !durable;
  SEGMENTA_ASSIGN_OR_RETURN(e.store, Store::Open(dir, store_options));
  WorkerOptions worker_options;
  worker_options.durable = durable;
  SEGMENTA_ASSIGN_OR_RETURN(e.worker, Worker::Start(e.store.get(), worker_options, clock));
  SEGMENTA_ASSIGN_OR_RETURN(e.engine, AudienceEngine::Start(e.store.get(), e.worker.get(), clock));
  return e;
}

// Per-event cost on a small base: the first half of the traffic loaded, the personas
// defined, the second half ingested.
absl::Status KeepCurrent(const BenchOptions& options, const std::vector<BenchPersona>& personas,
                         std::string* summary) {
  const uint64_t contacts = 20'000;
  TrafficOptions traffic;
  FakeClock clock(traffic.end);
  std::vector<Message> messages = GeneratedMessages(contacts, options.seed, clock.Now());
  fmt::print(
      "\n  keeping them current: {} messages of {} generated contacts; the first half loaded, "
      "the personas defined, the second half ingested\n",
      Grouped(messages.size()), Grouped(contacts));
  std::vector<double> means, p99s;
  for (int r = 1; r <= options.repeats; ++r) {
    SEGMENTA_ASSIGN_OR_RETURN(TempDir dir, TempDir::Create(TempParent(options), "personas"));
    SEGMENTA_ASSIGN_OR_RETURN(Engine e, OpenEngine(dir.path() + "/data", &clock, false));
    const size_t half = messages.size() / 2;
    auto ingest = [&](size_t from, size_t to) -> absl::Status {
      for (size_t i = from; i < to; i += 500) {
        std::vector<Message> batch(messages.begin() + i, messages.begin() + std::min(to, i + 500));
        SEGMENTA_RETURN_IF_ERROR(e.worker->SubmitAndWait(std::move(batch)).status());
      }
      return absl::OkStatus();
    };
    SEGMENTA_RETURN_IF_ERROR(ingest(0, half));
    for (const BenchPersona& p : personas) {
      SEGMENTA_RETURN_IF_ERROR(e.engine->scores().Create(p.definition).status());
    }
    e.engine->ResetKeepCurrentStats();
    SEGMENTA_RETURN_IF_ERROR(ingest(half, messages.size()));
    KeepCurrentStats stats = e.engine->keep_current_stats();
    std::sort(stats.per_activity_nanos.begin(), stats.per_activity_nanos.end());
    const double mean = stats.activities == 0 ? 0 : stats.nanos / 1e3 / stats.activities;
    const double p99 = stats.per_activity_nanos.empty()
                           ? 0
                           : stats.per_activity_nanos[static_cast<size_t>(
                                 0.99 * (stats.per_activity_nanos.size() - 1))] /
                                 1e3;
    means.push_back(mean);
    p99s.push_back(p99);
    fmt::print(
        "    run {}  {:.2f} µs mean per event, p99 {:.2f} µs, {:.1f} evaluations per event  "
        "load avg {}\n",
        r, mean, p99, stats.activities == 0 ? 0.0 : double(stats.evaluations) / stats.activities,
        LoadAverage());
    std::fflush(stdout);
  }
  fmt::print("    median  {:.2f} µs mean per event, p99 {:.2f} µs\n", Median(means), Median(p99s));
  *summary = fmt::format("{:.1f} µs/event (p99 {:.0f} µs)", Median(means), Median(p99s));
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<WorkloadResult> RunPersonasBench(const BenchOptions& options) {
  const uint64_t contacts = options.contacts.value_or(1'000'000);
  WorkloadResult result;
  result.workload = "personas";
  TrafficOptions traffic;
  const Millis now = ToMillis(traffic.end);
  const std::vector<BenchPersona> personas = TwentyPersonas(now);

  SEGMENTA_ASSIGN_OR_RETURN(TempDir work, TempDir::Create(TempParent(options), "personas"));
  SEGMENTA_ASSIGN_OR_RETURN(ImportedTraffic imported,
                            ImportGeneratedTraffic(options, work.path(), contacts));
  const GeneratedFile& data = imported.data;
  const std::string& data_dir = imported.data_dir;
  const absl::Duration import_time = imported.elapsed;
  Note("imported in {:.1f} s; loading the profile table", absl::ToDoubleSeconds(import_time));
  FakeClock clock(traffic.end);
  absl::Time load_start = absl::Now();
  SEGMENTA_ASSIGN_OR_RETURN(Engine e, OpenEngine(data_dir, &clock, false));
  const double load_seconds = absl::ToDoubleSeconds(absl::Now() - load_start);
  const uint64_t alive =
      e.worker->ReadProfiles([](const ProfileTable& p) { return p.alive_contacts(); });
  result.data = fmt::format("20 personas × 10 rules, {} contacts, {} events", Grouped(alive),
                            Grouped(data.events));
  fmt::print(
      "\npersonas: 20 personas of 10 rules (5 attribute, 4 activity, 1 macro) over {} contacts "
      "and {} events (profile table loaded in {:.0f} s); each created (its points for every "
      "contact, then the persona of every contact), then all recomputed, at {}\n",
      Grouped(alive), Grouped(data.events), load_seconds, FormatTimestamp(traffic.end));
  std::fflush(stdout);

  std::vector<double> create_ms, recompute_ms;
  for (int r = 1; r <= options.repeats; ++r) {
    absl::Time t0 = absl::Now();
    for (const BenchPersona& p : personas) {
      if (r > 1) SEGMENTA_RETURN_IF_ERROR(e.engine->scores().Delete(p.definition.name));
    }
    t0 = absl::Now();
    for (const BenchPersona& p : personas) {
      SEGMENTA_RETURN_IF_ERROR(e.engine->scores().Create(p.definition).status());
    }
    create_ms.push_back(absl::ToDoubleMilliseconds(absl::Now() - t0));
    t0 = absl::Now();
    for (const BenchPersona& p : personas) {
      SEGMENTA_RETURN_IF_ERROR(e.engine->scores().Update(p.definition.name, p.definition).status());
    }
    recompute_ms.push_back(absl::ToDoubleMilliseconds(absl::Now() - t0));
    fmt::print("  run {}  create 20: {:.0f} ms  recompute 20: {:.0f} ms  load avg {}\n", r,
               create_ms.back(), recompute_ms.back(), LoadAverage());
    std::fflush(stdout);
  }
  std::vector<uint64_t> members;
  for (const BenchPersona& p : personas) {
    SEGMENTA_ASSIGN_OR_RETURN(
        Roaring m, e.engine->audiences().Bitmap(AudienceKind::kPersona, p.definition.name));
    members.push_back(m.cardinality());
  }
  fmt::print("  members: {}\n", fmt::join(members, ", "));
  fmt::print("  peak RSS {}, membership bitmaps {}\n", Bytes(static_cast<double>(PeakRssBytes())),
             Bytes(static_cast<double>(e.engine->MembershipBytes())));
  fmt::print(
      "  median: create {:.0f} ms ({:.0f} ns per contact and persona), recompute {:.0f} ms\n",
      Median(create_ms), Median(create_ms) * 1e6 / 20 / static_cast<double>(alive),
      Median(recompute_ms));

  double peer_ms = 0;
  if (options.peer) {
    Note("writing the data as CSV for DuckDB");
    SEGMENTA_RETURN_IF_ERROR(e.worker->ReadProfiles(
        [&](const ProfileTable& p) { return WritePeerCsv(p, work.path()); }));
    const std::string sql_file = work.path() + "/personas.sql";
    std::ofstream(sql_file) << PersonasSql(personas);
    SEGMENTA_ASSIGN_OR_RETURN(
        std::vector<std::string> lines,
        RunNodePeer("duckdb_personas.mjs", {work.path(), sql_file, std::to_string(options.repeats)},
                    work.path()));
    simdjson::dom::parser parser;
    std::vector<uint64_t> peer_members(personas.size(), 0);
    std::vector<double> runs;
    for (const std::string& line : lines) {
      simdjson::dom::element doc;
      if (parser.parse(line).get(doc) != simdjson::SUCCESS) continue;
      std::string_view name = doc["name"];
      std::vector<double> ms;
      for (simdjson::dom::element v : simdjson::dom::array(doc["ms"])) ms.push_back(double(v));
      if (name == "(load)") {
        fmt::print("  duckdb loaded the CSV in {:.1f} s\n", ms[0] / 1000);
        continue;
      }
      runs = ms;
      for (simdjson::dom::element row : simdjson::dom::array(doc["rows"])) {
        simdjson::dom::array cells = row;
        auto it = cells.begin();
        const size_t idx = static_cast<size_t>(double(*it));
        ++it;
        if (idx < peer_members.size()) peer_members[idx] = static_cast<uint64_t>(double(*it));
      }
    }
    peer_ms = Median(runs);
    fmt::print("  duckdb: {} ms (median of {}), members: {}\n", static_cast<int64_t>(peer_ms),
               Runs(runs), fmt::join(peer_members, ", "));
    fmt::print("  members agree with DuckDB: {}\n",
               peer_members == members ? "yes, every persona" : "NO");
  }
  std::string keep;
  SEGMENTA_RETURN_IF_ERROR(KeepCurrent(options, personas, &keep));
  result.segmenta = fmt::format("create {:.0f} ms, recompute {:.0f} ms; {}", Median(create_ms),
                                Median(recompute_ms), keep);
  if (peer_ms > 0) {
    result.peer = fmt::format("{:.0f} ms", peer_ms);
    result.ratio = fmt::format("{} create", Ratio(peer_ms, Median(create_ms)));
  }
  return result;
}

}  // namespace segmenta
