// Micro-benchmarks of the evaluators on generated traffic loaded straight into a profile
// table (each message's contact by its first id; no store). Run:
//   build/release/tools/bench/micro/eval_bench [--benchmark_filter=Batch]
// SEGMENTA_BENCH_CONTACTS sets how many contacts are generated (default 20,000).
#include <cstdlib>
#include <memory>

#include "absl/container/flat_hash_map.h"
#include "benchmark/benchmark.h"
#include "collect/parser.h"
#include "core/time_format.h"
#include "eval/batch.h"
#include "eval/evaluator.h"
#include "eval/schema.h"
#include "gen/traffic.h"
#include "profile/contact.h"
#include "tests/testing/example_groups.h"

namespace segmenta {
namespace {

struct Loaded {
  ProfileTable profiles;
  Schema schema;
  Millis now = 0;
};

// 20,000 generated contacts (about 420,000 events), or SEGMENTA_BENCH_CONTACTS.
const Loaded& Data() {
  static Loaded* loaded = [] {
    auto* out = new Loaded();
    TrafficOptions traffic;
    traffic.contacts = 20000;
    if (const char* n = std::getenv("SEGMENTA_BENCH_CONTACTS")) traffic.contacts = std::atoi(n);
    out->now = ToMillis(traffic.end);
    MessageParser parser;
    absl::flat_hash_map<std::string, ContactId> ids;
    TrafficGenerator(traffic).Generate([&](std::string_view line) {
      ParseResult parsed = parser.ParseLine(line, traffic.end);
      if (!parsed.errors.empty()) return;
      const Message& m = parsed.messages[0];
      const std::string& key = m.user_id.empty() ? m.anonymous_id : m.user_id;
      if (key.empty()) return;
      auto [it, inserted] = ids.try_emplace(key, ids.size() + 1);
      out->profiles.AddActivity(it->second, m);
      if (m.type == MessageType::kGroup) {
        out->profiles.Join(it->second, m.group_id);
        Traits traits;
        if (!m.traits.empty() && MergeTraitsJson(m.traits, 1, &traits).ok()) {
          out->profiles.SetAccountTraits(m.group_id, traits);
        }
      }
      if (m.type == MessageType::kIdentify && !m.traits.empty()) {
        Traits traits;
        if (MergeTraitsJson(m.traits, 1, &traits).ok())
          out->profiles.SetTraits(it->second, traits, {});
      }
    });
    out->schema = SchemaOf(out->profiles);
    for (const ExampleGroup& g : kBriefGroups) out->schema.definitions[std::string(g.name)] = {};
    return out;
  }();
  return *loaded;
}

void BM_BatchNew(benchmark::State& state) {
  const Loaded& data = Data();
  const ExampleGroup& group = kBriefGroups[state.range(0)];
  auto plan = *Plan::CompileText(group.condition, data.schema);
  EvalEnv env;
  env.now = data.now;
  env.overall = OverallValues(*plan, data.profiles, data.now);
  for (auto _ : state) {
    AggregateCache cache;
    benchmark::DoNotOptimize(EvaluateAll(*plan, data.profiles, env, &cache));
  }
  state.SetLabel(std::string(group.name));
  state.SetItemsProcessed(state.iterations() * data.profiles.alive_contacts());
}
BENCHMARK(BM_BatchNew)->DenseRange(0, 11)->Unit(benchmark::kMicrosecond);

void BM_BatchCached(benchmark::State& state) {
  const Loaded& data = Data();
  const ExampleGroup& group = kBriefGroups[state.range(0)];
  auto plan = *Plan::CompileText(group.condition, data.schema);
  EvalEnv env;
  env.now = data.now;
  env.overall = OverallValues(*plan, data.profiles, data.now);
  AggregateCache cache;
  EvaluateAll(*plan, data.profiles, env, &cache);
  for (auto _ : state) benchmark::DoNotOptimize(EvaluateAll(*plan, data.profiles, env, &cache));
  state.SetLabel(std::string(group.name));
  state.SetItemsProcessed(state.iterations() * data.profiles.alive_contacts());
}
BENCHMARK(BM_BatchCached)->DenseRange(0, 11)->Unit(benchmark::kMicrosecond);

// One contact at a time, as on each event: the cost per (group, contact) evaluation.
void BM_Incremental(benchmark::State& state) {
  const Loaded& data = Data();
  const ExampleGroup& group = kBriefGroups[state.range(0)];
  auto plan = *Plan::CompileText(group.condition, data.schema);
  EvalEnv env;
  env.now = data.now;
  env.overall = OverallValues(*plan, data.profiles, data.now);
  ContactId c = 1;
  const ContactId rows = data.profiles.contact_rows();
  for (auto _ : state) {
    benchmark::DoNotOptimize(Matches(*plan, data.profiles, c, env));
    if (++c == rows) c = 1;
  }
  state.SetLabel(std::string(group.name));
}
BENCHMARK(BM_Incremental)->DenseRange(0, 11);

}  // namespace
}  // namespace segmenta
