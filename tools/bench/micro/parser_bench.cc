// Micro-benchmarks of the collection path: parsing a /v1/batch body and turning a message
// into its stored form. Run: build/release/tools/bench/micro/parser_bench
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "collect/parser.h"
#include "gen/traffic.h"

namespace segmenta {
namespace {

// A /v1/batch body of `n` generated messages, and their total size.
std::string BatchBody(size_t n) {
  TrafficOptions options;
  options.contacts = 200;
  options.seed = 7;
  TrafficGenerator generator(options);
  TrafficCursor cursor(&generator);
  std::string body = R"({"batch":[)";
  std::string line;
  for (size_t i = 0; i < n && cursor.Next(&line); ++i) {
    if (i > 0) body += ',';
    body += line;
  }
  body += "]}";
  return body;
}

void BM_ParseBatch(benchmark::State& state) {
  const std::string body = BatchBody(static_cast<size_t>(state.range(0)));
  MessageParser parser;
  for (auto _ : state) {
    ParseResult result = parser.Parse(body, Endpoint::kBatch, absl::Now());
    benchmark::DoNotOptimize(result);
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(body.size()));
}
BENCHMARK(BM_ParseBatch)->Arg(100)->Arg(500);

void BM_MessageJson(benchmark::State& state) {
  const std::string body = BatchBody(100);
  MessageParser parser;
  ParseResult parsed = parser.Parse(body, Endpoint::kBatch, absl::Now());
  for (auto _ : state) {
    for (const Message& m : parsed.messages) benchmark::DoNotOptimize(MessageJson(m));
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(parsed.messages.size()));
}
BENCHMARK(BM_MessageJson);

// Ids as SDKs make them (UUIDs): what the check sees for nearly every message, several
// times (parser, identity graph).
void BM_IsPlaceholderId(benchmark::State& state) {
  std::vector<std::string> ids;
  for (int i = 0; i < 1000; ++i) ids.push_back(NewUuid());
  for (auto _ : state) {
    for (const std::string& id : ids) benchmark::DoNotOptimize(IsPlaceholderId(id));
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(ids.size()));
}
BENCHMARK(BM_IsPlaceholderId);

}  // namespace
}  // namespace segmenta
