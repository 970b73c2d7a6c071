// User-Agent parsing with uap-core's rules: a string never seen (the three rule lists, each
// through FilteredRE2) and a repeated one (the cache), over the User-Agents of uap-core's
// own browser test suite.
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "decide/user_agent.h"
#include "yaml-cpp/yaml.h"

namespace segmenta {
namespace {

const std::vector<std::string>& Agents() {
  static const auto* agents = [] {
    auto* out = new std::vector<std::string>;
    const YAML::Node root = YAML::LoadFile("/usr/share/uap-core/tests/test_ua.yaml");
    for (const YAML::Node& t : root["test_cases"]) {
      out->push_back(t["user_agent_string"].as<std::string>());
    }
    return out;
  }();
  return *agents;
}

const UserAgentParser& Parser() {
  static const UserAgentParser* parser = UserAgentParser::Load().value().release();
  return *parser;
}

void BM_ParseNew(benchmark::State& state) {
  const auto& agents = Agents();
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(Parser().ParseUncached(agents[i++ % agents.size()]));
  }
}
BENCHMARK(BM_ParseNew);

void BM_ParseCached(benchmark::State& state) {
  const auto& agents = Agents();
  for (size_t i = 0; i < 200; ++i) Parser().Parse(agents[i]);
  size_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(Parser().Parse(agents[i++ % 200]));
}
BENCHMARK(BM_ParseCached);

}  // namespace
}  // namespace segmenta
