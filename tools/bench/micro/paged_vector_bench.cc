// What the group engine's per-contact state costs the writer when one more contact makes it
// grow: 100 vectors of timers (one per time-dependent group), each full at N contacts, grown
// by one element. A std::vector doubles and copies its N elements; a PagedVector adds a page.
// The writer does this while it holds readers (decisions) off.
// Run: build/release/tools/bench/micro/paged_vector_bench
#include <cstdint>
#include <type_traits>
#include <vector>

#include "benchmark/benchmark.h"
#include "core/paged_vector.h"

namespace segmenta {
namespace {

constexpr int kGroups = 100;
constexpr int64_t kNoTimer = -1;

template <typename Vector>
void BM_Grow(benchmark::State& state) {
  const auto n = static_cast<size_t>(state.range(0));
  for (auto _ : state) {
    state.PauseTiming();
    std::vector<Vector> due(kGroups);
    for (auto& v : due) {
      // Full: a std::vector with no room for one more, as after its last doubling.
      if constexpr (std::is_same_v<Vector, std::vector<int64_t>>) v.reserve(n);
      v.resize(n, kNoTimer);
    }
    state.ResumeTiming();
    for (auto& v : due) v.resize(n + 1, kNoTimer);
    benchmark::DoNotOptimize(due.data());
    state.PauseTiming();
    due.clear();
    state.ResumeTiming();
  }
}

// 65,536, 1,048,576 and 4,194,304 contacts.
BENCHMARK_TEMPLATE(BM_Grow, std::vector<int64_t>)
    ->Arg(1 << 16)
    ->Arg(1 << 20)
    ->Arg(1 << 22)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(5);
BENCHMARK_TEMPLATE(BM_Grow, PagedVector<int64_t>)
    ->Arg(1 << 16)
    ->Arg(1 << 20)
    ->Arg(1 << 22)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(5);

}  // namespace
}  // namespace segmenta
