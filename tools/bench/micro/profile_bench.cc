// Micro-benchmark of the writer's in-memory step per activity: ProfileTable::AddActivity
// (parsing properties and context, setting and interning their columns) over generated
// traffic. Run: build/release/tools/bench/micro/profile_bench
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "benchmark/benchmark.h"
#include "collect/parser.h"
#include "gen/traffic.h"
#include "profile/profile_table.h"

namespace segmenta {
namespace {

// The messages of `contacts` generated contacts, each with a contact id (one per
// anonymousId or userId seen first: no identity resolution).
struct Traffic {
  std::vector<Message> messages;
  std::vector<ContactId> contacts;
};

Traffic Generate(uint64_t contacts) {
  TrafficOptions options;
  options.contacts = contacts;
  options.seed = 7;
  TrafficGenerator generator(options);
  TrafficCursor cursor(&generator);
  MessageParser parser;
  Traffic traffic;
  absl::flat_hash_map<std::string, ContactId> ids;
  std::string line;
  while (cursor.Next(&line)) {
    ParseResult parsed = parser.ParseLine(line, absl::Now());
    if (parsed.messages.size() != 1) continue;
    Message& m = parsed.messages[0];
    if (m.type == MessageType::kIdentify || m.type == MessageType::kGroup) continue;
    const std::string& id = m.user_id.empty() ? m.anonymous_id : m.user_id;
    auto [it, added] = ids.try_emplace(id, ids.size() + 1);
    traffic.contacts.push_back(it->second);
    traffic.messages.push_back(std::move(m));
  }
  return traffic;
}

void BM_AddActivity(benchmark::State& state) {
  static const Traffic traffic = Generate(static_cast<uint64_t>(state.range(0)));
  for (auto _ : state) {
    state.PauseTiming();
    auto table = std::make_unique<ProfileTable>();
    state.ResumeTiming();
    for (size_t i = 0; i < traffic.messages.size(); ++i) {
      table->AddActivity(traffic.contacts[i], traffic.messages[i]);
    }
    state.PauseTiming();
    table.reset();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(traffic.messages.size()));
}
BENCHMARK(BM_AddActivity)->Arg(10000)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace segmenta
