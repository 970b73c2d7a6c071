// `segmenta gen`: deterministic synthetic e-commerce traffic as Segment JSONL.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include "absl/time/clock.h"
#include "cli/commands.h"
#include "core/time_format.h"
#include "fmt/format.h"
#include "gen/traffic.h"

namespace segmenta {
namespace {

struct GenArgs {
  uint64_t contacts = 1000;
  uint64_t seed = 1;
  std::string end = "2026-11-01T00:00:00Z";
  int days = 90;
  std::string output = "-";
};

double Percent(uint64_t part, uint64_t whole) {
  return whole == 0 ? 0.0 : 100.0 * static_cast<double>(part) / static_cast<double>(whole);
}

int RunGen(const GenArgs& args) {
  auto end = ParseTimestamp(args.end);
  if (!end.ok()) {
    fmt::print(stderr, "segmenta gen: --end: {}\n", std::string(end.status().message()));
    return 2;
  }
  if (args.days < 1) {
    fmt::print(stderr, "segmenta gen: --days must be at least 1\n");
    return 2;
  }
  TrafficOptions options;
  options.contacts = args.contacts;
  options.seed = args.seed;
  options.end = *end;
  options.days = args.days;
  TrafficGenerator generator(options);

  std::FILE* out = stdout;
  if (args.output != "-") {
    out = std::fopen(args.output.c_str(), "wb");
    if (out == nullptr) {
      fmt::print(stderr, "segmenta gen: cannot write {}: {}\n", args.output, std::strerror(errno));
      return 1;
    }
  }
  absl::Time start = absl::Now();
  TrafficStats stats;
  absl::Status status = generator.WriteTo(out, &stats);
  if (out != stdout && std::fclose(out) != 0 && status.ok()) {
    status = absl::InternalError("closing the output failed");
  }
  double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  if (!status.ok()) {
    fmt::print(stderr, "segmenta gen: {}: {}\n", args.output == "-" ? "stdout" : args.output,
               std::string(status.message()));
    return 1;
  }

  fmt::print(stderr, "generated {} contacts, {} messages ({:.1f} MB) in {:.2f} s ({:.0f} msg/s)\n",
             stats.contacts, stats.messages, static_cast<double>(stats.bytes) / 1e6, seconds,
             seconds > 0 ? static_cast<double>(stats.messages) / seconds : 0.0);
  fmt::print(stderr, "  messages:   identify {}, track {}, page {}, group {}, alias {}\n",
             stats.identify, stats.track, stats.page, stats.group, stats.alias);
  fmt::print(stderr,
             "  contacts:   identified {} ({:.1f}%), ordered {} ({:.1f}%), in accounts {}\n",
             stats.identified_contacts, Percent(stats.identified_contacts, stats.contacts),
             stats.ordering_contacts, Percent(stats.ordering_contacts, stats.contacts),
             stats.b2b_contacts);
  fmt::print(stderr, "  events:\n");
  for (size_t i = 0; i < kTrafficEventNames.size(); ++i) {
    fmt::print(stderr, "    {:<22} {}\n", kTrafficEventNames[i], stats.events[i]);
  }
  return 0;
}

}  // namespace

void AddGenCommand(CLI::App& app) {
  auto args = std::make_shared<GenArgs>();
  CLI::App* cmd = app.add_subcommand(
      "gen", "Write deterministic synthetic e-commerce traffic as Segment JSONL");
  cmd->add_option("--contacts,-n", args->contacts, "Contacts (people) to simulate")
      ->capture_default_str();
  cmd->add_option("--seed,-s", args->seed, "Seed: the same seed gives the same bytes")
      ->capture_default_str();
  cmd->add_option("--end", args->end, "End of the simulated window (ISO-8601, exclusive)")
      ->capture_default_str();
  cmd->add_option("--days", args->days, "Length of the window in days")->capture_default_str();
  cmd->add_option("--output,-o", args->output, "Output file, '-' for stdout")
      ->capture_default_str();
  cmd->callback([args] {
    int code = RunGen(*args);
    if (code != 0) throw CLI::RuntimeError(code);
  });
}

}  // namespace segmenta
